// Trainer console: the live progress bar of a training job, the dialogs that ask before a corpus is
// deleted or a model promoted, and small touches on the forms.
// Everything here is an enhancement: without JavaScript the pages work with links and plain forms (the
// server answers a delete or a promotion that was not confirmed with a confirmation page).
(function () {
  "use strict";

  var LABELS = { queued: "대기 중", running: "학습 중", done: "완료", failed: "실패", interrupted: "중단됨",
                 cancelled: "취소됨" };
  var ACTIVE = { queued: true, running: true };
  var POLL_MS = 1000;
  var MAX_POLL_MS = 10000;

  function text(id, value) {
    var el = document.getElementById(id);
    if (el && el.textContent !== value) el.textContent = value;
    return el;
  }

  function showJob(state) {
    var percent = Math.round((state.fraction || 0) * 100);
    var bar = document.getElementById("job-progress");
    if (bar) {
      bar.value = state.fraction || 0;
      bar.textContent = percent + "%";
    }
    text("job-progress-text", percent + "%" + (state.total ? " (" + state.done + "/" + state.total + ")" : ""));
    var label = LABELS[state.status] || state.status;
    var status = text("job-status", label + (state.stage && ACTIVE[state.status] ? " — " + state.stage : ""));
    if (status) {
      status.className = "trainer-status-" + state.status;
      status.dataset.status = state.status;
    }
    text("job-log", state.log_tail || "");
    var cancelForm = document.getElementById("cancel-form");
    if (cancelForm) cancelForm.hidden = !ACTIVE[state.status];
    var cancelled = document.getElementById("job-cancelled");
    if (cancelled) {
      cancelled.hidden = state.status !== "cancelled";
      text("job-cancelled", state.cancelled_by
        ? state.cancelled_by + "님이 " + state.cancelled_at + "(UTC)에 학습을 취소했어요." : "");
    }
    var box = document.getElementById("job-error-box");
    if (box) {
      box.hidden = !state.error;
      text("job-error", state.error || "");
      var list = document.getElementById("job-problems");
      if (list) {
        list.replaceChildren.apply(list, (state.problems || []).map(function (p) {
          var li = document.createElement("li");
          li.textContent = p;
          return li;
        }));
      }
    }
  }

  function pollJob(section) {
    var url = section.dataset.api;
    var delay = POLL_MS;
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (state) {
          delay = POLL_MS;
          showJob(state);
          if (ACTIVE[state.status]) {
            setTimeout(tick, delay);
          } else if (state.status !== "cancelled") {
            // Finished: the server renders the evaluation report and the comparison.
            setTimeout(function () { window.location.reload(); }, 600);
          }
          // Cancelled: nothing more to show than the bar, the label and who cancelled it; polling stops.
        })
        .catch(function () {
          text("job-progress-text", "서버와 연결이 끊겼어요. 다시 시도하는 중이에요…");
          delay = Math.min(delay * 2, MAX_POLL_MS);
          setTimeout(tick, delay);
        });
    }
    setTimeout(tick, delay);
  }

  function busyOnSubmit(formSelector, buttonId, busyText) {
    var button = document.getElementById(buttonId);
    var form = button && button.closest(formSelector);
    if (!form) return;
    form.addEventListener("submit", function (event) {
      // After the browser has taken the form's data: a second click cannot start a second upload or job.
      setTimeout(function () {
        if (event.defaultPrevented) return;  // held back for its confirmation dialog
        button.disabled = true;
        button.textContent = busyText;
      }, 0);
    });
  }

  // A form with data-confirm="<dialog id>" posts only after the dialog's confirm button, with confirm=yes;
  // the dialog's cancel button (or Esc) leaves everything as it was.
  function confirmFirst(form) {
    var dialog = document.getElementById(form.dataset.confirm);
    var field = form.elements.namedItem("confirm");
    if (!dialog || !field || typeof dialog.showModal !== "function") return;  // the server asks instead
    form.addEventListener("submit", function (event) {
      if (field.value === "yes") return;
      event.preventDefault();
      dialog.returnValue = "";
      dialog.showModal();
    });
    dialog.addEventListener("close", function () {
      if (dialog.returnValue !== "yes") return;
      field.value = "yes";
      if (typeof form.requestSubmit === "function") form.requestSubmit(); else form.submit();
    });
    // Back to this page from the history: it asks again.
    window.addEventListener("pageshow", function () { field.value = ""; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var section = document.getElementById("job");
    if (section && ACTIVE[section.dataset.status]) {
      var hint = document.getElementById("job-refresh-hint");
      if (hint) hint.hidden = true;  // the bar updates itself
      pollJob(section);
    }
    Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), confirmFirst);
    busyOnSubmit("form", "upload-button", "검증하는 중…");
    busyOnSubmit("form", "train-button", "시작하는 중…");
    busyOnSubmit("form", "promote-button", "교체하는 중…");
    busyOnSubmit("form", "cancel-button", "취소하는 중…");
    busyOnSubmit("form", "delete-button", "지우는 중…");
    var filter = document.getElementById("rating-filter");
    if (filter && filter.form) {
      filter.addEventListener("change", function () { filter.form.submit(); });
    }
  });
})();

// Feedback on the bot's answers (👍 좋아요 / 👎 아쉬워요) on 한결's chat page.
//
// Talks to chat.js only through its "chat:bot-message" event {row, messageId, feedback} on document
// (see the top of chat.js): chat.js fires it for each stored bot message it draws (new replies and
// loaded history; never the greeting or error bubbles), and this script adds the two buttons to that
// row, pressed as stored. 👎 opens an optional "더 나은 답을 알려 주세요" form. Ratings go to
// POST /api/messages/<id>/feedback {rating: 1 | -1, correction?}; rating again replaces the last one.
// Text goes into the page with textContent only.
(function () {
  "use strict";

  // A thumb, drawn rather than an emoji: emoji fonts are not everywhere. Turned over for 👎.
  const THUMB = "M7 10v10H4V10h3zm0 0l4-7c1.4 0 2.3 1.1 2 2.4L12.3 9H18a2 2 0 0 1 2 2.3l-1.2 7A2 2 0 0 1 16.8 20H7";
  const MAX_CORRECTION = 1000; // the server's limit
  const NETWORK_ERROR = "서버에 연결할 수 없어 평가를 보내지 못했어요. 잠시 뒤에 다시 눌러 주세요.";
  const THANKS_MS = 4000;

  function thumb(down) { return window.HangyeolIcons.svg(16, [[THUMB, "1.8"]], down ? "thumb-down" : ""); }

  async function postFeedback(messageId, rating, correction) {
    const body = { rating: rating };
    if (correction) { body.correction = correction; }
    let response;
    try {
      response = await fetch("/api/messages/" + encodeURIComponent(messageId) + "/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (e) {
      return { ok: false, message: NETWORK_ERROR };
    }
    let data = null;
    try { data = await response.json(); } catch (e) { /* not JSON: the message below */ }
    if (response.ok && data) { return { ok: true, data: data }; }
    const message = data && data.error && data.error.message;
    return { ok: false, message: message || "평가를 보내지 못했어요. (HTTP " + response.status + ") 잠시 뒤에 다시 눌러 주세요." };
  }

  function attach(row, messageId, stored) {
    const state = {
      rating: stored && (stored.rating === 1 || stored.rating === -1) ? stored.rating : 0,
      correction: stored && typeof stored.correction === "string" ? stored.correction : "",
      sending: false,
      form: null,
      thanksTimer: 0,
    };

    const group = document.createElement("div");
    group.className = "feedback";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "이 답변 평가");
    const up = document.createElement("button");
    up.type = "button";
    up.className = "feedback-button";
    up.setAttribute("aria-label", "좋은 답변이에요");
    up.title = "좋아요";
    up.appendChild(thumb(false));
    const down = document.createElement("button");
    down.type = "button";
    down.className = "feedback-button";
    down.setAttribute("aria-label", "아쉬운 답변이에요");
    down.title = "아쉬워요";
    down.appendChild(thumb(true));
    const note = document.createElement("span");
    note.className = "feedback-note";
    note.setAttribute("role", "status");
    group.appendChild(up);
    group.appendChild(down);
    group.appendChild(note);

    // The buttons sit on the time's line: [오후 3:04] [👍] [👎] [고마워요!]
    const time = row.querySelector(":scope > .time");
    const meta = document.createElement("div");
    meta.className = "row-meta";
    if (time) { time.replaceWith(meta); meta.appendChild(time); } else { row.appendChild(meta); }
    meta.appendChild(group);

    function show() {
      up.setAttribute("aria-pressed", String(state.rating === 1));
      down.setAttribute("aria-pressed", String(state.rating === -1));
      up.disabled = down.disabled = state.sending;
    }

    function say(text, kind) {
      window.clearTimeout(state.thanksTimer);
      note.textContent = text;
      note.classList.toggle("is-error", kind === "error");
      if (kind === "thanks") {
        state.thanksTimer = window.setTimeout(function () { note.textContent = ""; }, THANKS_MS);
      }
    }

    async function rate(rating, correction) {
      state.sending = true;
      show();
      const result = await postFeedback(messageId, rating, correction);
      state.sending = false;
      if (result.ok) {
        state.rating = result.data.rating === -1 ? -1 : 1;
        state.correction = typeof result.data.correction === "string" ? result.data.correction : "";
      }
      show();
      return result;
    }

    up.addEventListener("click", async function () {
      if (state.sending || state.rating === 1) { return; }
      closeForm(false);
      const result = await rate(1, null);
      say(result.ok ? "고마워요!" : result.message, result.ok ? "thanks" : "error");
    });

    down.addEventListener("click", async function () {
      if (state.sending) { return; }
      if (state.rating === -1) { // rated already: let them add or change the better answer
        if (!state.form) { openForm(); }
        return;
      }
      const result = await rate(-1, null); // stored now, so that skipping the form still counts
      if (!result.ok) { say(result.message, "error"); return; }
      say("", null);
      openForm();
    });

    function closeForm(returnFocus) {
      if (!state.form) { return; }
      state.form.remove();
      state.form = null;
      down.setAttribute("aria-expanded", "false");
      if (returnFocus) { down.focus(); }
    }

    function openForm() {
      const id = "feedback-correction-" + messageId;
      const form = document.createElement("form");
      form.className = "feedback-form";
      form.noValidate = true;
      const label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = "더 나은 답을 알려 주세요";
      const optional = document.createElement("span");
      optional.className = "feedback-optional";
      optional.textContent = " (선택)";
      label.appendChild(optional);
      const field = document.createElement("textarea");
      field.id = id;
      field.rows = 2;
      field.maxLength = MAX_CORRECTION;
      field.value = state.correction;
      const error = document.createElement("p");
      error.className = "feedback-error";
      error.id = id + "-error";
      error.setAttribute("role", "alert");
      error.hidden = true;
      const actions = document.createElement("div");
      actions.className = "feedback-form-actions";
      const send = document.createElement("button");
      send.type = "submit";
      send.className = "send-button feedback-small";
      send.textContent = "보내기";
      const skip = document.createElement("button");
      skip.type = "button";
      skip.className = "ghost-button feedback-small";
      skip.textContent = "건너뛰기";
      actions.appendChild(send);
      actions.appendChild(skip);
      form.appendChild(label);
      form.appendChild(field);
      form.appendChild(actions);
      form.appendChild(error);
      meta.after(form);
      state.form = form;
      down.setAttribute("aria-expanded", "true");
      down.setAttribute("aria-controls", id);
      field.focus();

      async function submit() {
        if (state.sending) { return; }
        const text = field.value.normalize("NFC").trim();
        if (!text) { closeForm(true); say("고마워요!", "thanks"); return; }
        send.disabled = skip.disabled = field.readOnly = true;
        const result = await rate(-1, text);
        send.disabled = skip.disabled = field.readOnly = false;
        if (!result.ok) {
          error.textContent = result.message;
          error.hidden = false;
          field.setAttribute("aria-invalid", "true");
          field.setAttribute("aria-describedby", error.id);
          field.focus();
          return;
        }
        closeForm(true);
        say("고마워요! 알려 주신 답을 참고할게요.", "thanks");
      }

      form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
      skip.addEventListener("click", function () { closeForm(true); say("고마워요!", "thanks"); });
      field.addEventListener("keydown", function (event) {
        if (event.isComposing || event.keyCode === 229) { return; }
        if (event.key === "Escape") {
          event.preventDefault();
          event.stopPropagation();
          closeForm(true);
        } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          submit();
        }
      });
    }

    show();
  }

  document.addEventListener("chat:bot-message", function (event) {
    const detail = event.detail || {};
    if (!detail.row || !Number.isInteger(detail.messageId)) { return; }
    attach(detail.row, detail.messageId, detail.feedback);
  });
})();

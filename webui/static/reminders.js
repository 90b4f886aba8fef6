// The reminder panel (다가오는 알림) of 한결's chat page, and the notice shown when a reminder falls due.
//
// The page asks the server; nothing depends on a server timer: GET /api/reminders (the pending ones:
// not yet due, or due with no notice shown yet) on load, every 30 s, when the tab comes back into view
// and when a reply says reminders_changed (chat.js's "chat:reply" {remindersChanged}). Every second it
// compares the fetched dues with the clock (the browser's, or the server's "now" of the last fetch when
// that is later, so a slow clock still notices): a due reminder gets a notice in #reminder-notices (an
// assertive live region) and POST /api/reminders/<id>/notified, so that no later fetch, in this tab or
// another, shows it again. A tab out of view waits (its title shows ⏰) and gives the notice when seen.
// DELETE /api/reminders/<id> after an inline confirmation. Texts go in with textContent only.
(function () {
  "use strict";

  const REFRESH_MS = 30000;
  const TICK_MS = 1000;
  const LIMIT = 100; // the API's largest page: the soonest ones, which are the ones that fall due
  const PANEL_KEY = "hangyeol.remindersPanel"; // "closed" when folded away
  const SHOWN_KEY = "hangyeol.remindersShown"; // {id: ms}: notices this browser showed, for its other tabs
  const NETWORK_ERROR = "서버에 연결할 수 없어 알림을 불러오지 못했어요. 잠시 뒤에 다시 불러올게요.";

  const el = window.HangyeolConvItems.el;
  const formatDue = window.HangyeolRemindTime.format;
  const toggle = document.getElementById("reminder-toggle");
  const body = document.getElementById("reminder-body");
  const countEl = document.getElementById("reminder-count");
  const listEl = document.getElementById("reminder-list");
  const emptyEl = document.getElementById("reminder-empty");
  const moreEl = document.getElementById("reminder-more");
  const statusEl = document.getElementById("reminder-status");
  const notices = document.getElementById("reminder-notices");
  if (!toggle || !listEl || !notices) { return; }

  const TRASH = "M4 7h16M9 7V4.5h6V7M6.5 7l1 13h9l1-13M10 11v5.5M14 11v5.5";
  const baseTitle = document.title;
  let reminders = []; // the last fetched list, each with dueMs
  let serverNow = 0; // the server's clock at the last fetch (ms)
  let loaded = false;
  let requestSeq = 0;
  let confirming = null; // the <li> whose delete confirmation is open: redraws wait for it
  let drawn = ""; // what the list shows now (ids and due flags), to redraw only on a change
  const shown = new Set(); // ids whose notice this tab showed or left to another tab

  // --- helpers -------------------------------------------------------------------------------
  async function readJson(response) {
    try { return await response.json(); } catch (e) { return null; }
  }
  function errorMessage(data, fallback) {
    return data && data.error && data.error.message ? data.error.message : fallback;
  }
  function reminderUrl(id) { return "/api/reminders/" + encodeURIComponent(String(id)); }
  function isDue(r, now) { return r.dueMs <= now || r.dueMs <= serverNow; }
  function isOver(r, now) { return isDue(r, now) && (Boolean(r.notified_at) || shown.has(r.id)); }

  // The panel's live line: a passing note ("지웠어요") clears itself; a problem stays until a fetch works.
  let statusTimer = 0;
  let problem = false;
  function setStatus(text, passing) {
    window.clearTimeout(statusTimer);
    statusEl.textContent = text || "";
    problem = Boolean(text && !passing);
    if (text && passing) { statusTimer = window.setTimeout(function () { setStatus(""); }, 6000); }
  }

  // localStorage may be unavailable (private windows): then only this tab knows what it showed.
  function readShown() {
    try { return JSON.parse(window.localStorage.getItem(SHOWN_KEY) || "{}") || {}; } catch (e) { return {}; }
  }
  function claim(id) {
    const all = readShown();
    const cutoff = Date.now() - 2 * 86400000;
    Object.keys(all).forEach(function (key) { if (!(all[key] > cutoff)) { delete all[key]; } });
    all[id] = Date.now();
    try { window.localStorage.setItem(SHOWN_KEY, JSON.stringify(all)); } catch (e) { /* this tab only */ }
  }

  // --- the list --------------------------------------------------------------------------------
  function renderItem(r, now) {
    const due = isDue(r, now);
    const when = el("time", { className: "reminder-when", dateTime: r.due }, formatDue(r.due, new Date(now)));
    const li = el("li", { className: "reminder-item" + (due ? " is-due" : ""), "data-id": String(r.id) },
      el("div", { className: "reminder-main" }, when, el("span", { className: "reminder-text" }, r.text)),
      el("button", { type: "button", className: "reminder-delete", "data-action": "delete", title: "알림 지우기",
        "aria-label": "‘" + r.text + "’ 알림 지우기" }, window.HangyeolIcons.svg(18, [[TRASH, "1.8"]])));
    if (due) { when.append(el("span", { className: "reminder-due-tag" }, "시간이 됐어요")); }
    return li;
  }

  function render() {
    const now = Date.now();
    const visible = reminders.filter(function (r) { return !isOver(r, now); });
    const signature = (loaded ? "1" : "0") + visible.map(function (r) { return r.id + (isDue(r, now) ? "!" : ""); }).join();
    if (confirming || signature === drawn) { return; }
    drawn = signature;
    const focused = listEl.contains(document.activeElement) ? document.activeElement.closest(".reminder-item") : null;
    const after = focused && focused.nextElementSibling;
    listEl.replaceChildren.apply(listEl, visible.map(function (r) { return renderItem(r, now); }));
    if (focused) { focusItem(focused.dataset.id, after && after.dataset.id); }
    countEl.hidden = !visible.length;
    countEl.textContent = visible.length + "개";
    emptyEl.hidden = loaded && visible.length > 0;
    if (loaded) { // the hint is left out on phones (reminders.css), where the room is the conversation's
      emptyEl.replaceChildren("다가오는 알림이 없어요.",
        el("span", { className: "reminder-hint" }, " ‘내일 오후 3시에 회의 있다고 알려줘’처럼 말하면 여기에 보여요."));
    }
  }

  // Focus an item's delete button: the item's, else the next one's, else the last; no item: the panel's button.
  function itemById(id) {
    return Array.from(listEl.children).find(function (li) { return li.dataset.id === String(id); }) || null;
  }
  function focusItem(id, nextId) {
    const li = itemById(id) || itemById(nextId) || listEl.lastElementChild;
    (li ? li.querySelector(".reminder-delete") : toggle).focus();
  }

  async function refresh() {
    const seq = ++requestSeq;
    try {
      const response = await fetch("/api/reminders?limit=" + LIMIT, { headers: { "Accept": "application/json" },
        cache: "no-store" });
      const data = await readJson(response);
      if (seq !== requestSeq) { return; }
      if (!response.ok || !data || !Array.isArray(data.reminders)) {
        failed(errorMessage(data, "알림을 불러오지 못했어요. 잠시 뒤에 다시 불러올게요."));
        return;
      }
      reminders = data.reminders.filter(function (r) { return r && typeof r.text === "string"; })
        .map(function (r) { return Object.assign({}, r, { dueMs: Date.parse(r.due) }); })
        .filter(function (r) { return !Number.isNaN(r.dueMs); });
      serverNow = Date.parse(data.now) || 0;
      loaded = true;
      moreEl.hidden = !data.next;
      moreEl.textContent = data.next ? "가장 가까운 알림 " + LIMIT + "개만 보여요." : "";
      if (problem) { setStatus(""); }
      // A notice shown here whose "notified" did not reach the server: say so again.
      reminders.forEach(function (r) { if (shown.has(r.id) && !r.notified_at && isDue(r, Date.now())) { markNotified(r); } });
      tick(); // draws the list when it changed (a redraw of the same list would move a screen reader)
    } catch (e) {
      if (seq === requestSeq) { failed(NETWORK_ERROR); }
    }
  }

  // The list on screen stays as it was; before the first list, no "loading" line beside the problem.
  function failed(message) {
    setStatus(message);
    if (!loaded) { emptyEl.hidden = true; }
  }

  // --- due notices -------------------------------------------------------------------------------
  function tick() {
    const now = Date.now();
    const due = reminders.filter(function (r) { return isDue(r, now) && !r.notified_at && !shown.has(r.id); });
    if (document.visibilityState === "hidden") {
      document.title = due.length ? "⏰ " + baseTitle : baseTitle;
    } else {
      document.title = baseTitle;
      due.forEach(notify);
    }
    render();
  }

  function notify(r) {
    shown.add(r.id);
    if (readShown()[r.id]) { return; } // another tab of this browser showed it
    claim(r.id);
    const close = el("button", { type: "button", className: "remove-button reminder-notice-close",
      title: "알림 닫기", "aria-label": "알림 닫기" }, "×");
    const notice = el("div", { className: "reminder-notice", "data-id": String(r.id) },
      el("div", { className: "reminder-notice-body" },
        el("p", { className: "reminder-notice-text" }, "⏰ 알림: " + r.text),
        el("time", { className: "reminder-notice-when", dateTime: r.due }, formatDue(r.due, new Date()))),
      close);
    close.addEventListener("click", function () {
      notice.remove();
      if (!notices.children.length) { document.getElementById("input").focus(); }
      else { notices.lastElementChild.querySelector("button").focus(); }
    });
    notices.append(notice);
    markNotified(r);
  }

  async function markNotified(r) {
    try {
      const response = await fetch(reminderUrl(r.id) + "/notified", {
        method: "POST", headers: { "Accept": "application/json" },
      });
      const data = await readJson(response);
      if (response.ok && data) { r.notified_at = data.notified_at; }
    } catch (e) { /* the next fetch brings it back un-notified, and refresh() says so again */ }
  }

  // --- deleting --------------------------------------------------------------------------------
  function startDelete(li) {
    if (confirming) { closeConfirm(true); }
    const text = li.querySelector(".reminder-text").textContent;
    const yes = el("button", { type: "button", className: "danger-button reminder-small", "data-action": "confirm" },
      "지우기");
    const no = el("button", { type: "button", className: "ghost-button reminder-small", "data-action": "cancel" },
      "취소");
    li.append(el("div", { className: "reminder-confirm", role: "group", "aria-label": "알림 지우기 확인" },
      el("p", { className: "reminder-confirm-text" }, "‘" + text + "’ 알림을 지울까요?"),
      el("div", { className: "reminder-confirm-actions" }, yes, no)));
    li.querySelector(".reminder-delete").hidden = true;
    confirming = li;
    yes.focus();
  }

  function closeConfirm(keepFocus) {
    const li = confirming;
    confirming = null;
    if (!li) { return; }
    const form = li.querySelector(".reminder-confirm");
    if (form) { form.remove(); }
    li.querySelector(".reminder-delete").hidden = false;
    if (!keepFocus) { li.querySelector(".reminder-delete").focus(); }
    render();
  }

  async function confirmDelete(li) {
    const buttons = li.querySelectorAll(".reminder-confirm button");
    buttons.forEach(function (b) { b.disabled = true; });
    const id = Number(li.dataset.id);
    const text = li.querySelector(".reminder-text").textContent;
    try {
      const response = await fetch(reminderUrl(id), { method: "DELETE", headers: { "Accept": "application/json" } });
      if (response.ok || response.status === 404) { // gone either way
        const next = li.nextElementSibling || li.previousElementSibling;
        reminders = reminders.filter(function (r) { return r.id !== id; });
        confirming = null;
        li.remove();
        render();
        setStatus("‘" + text + "’ 알림을 지웠어요.", true);
        if (next) { focusItem(next.dataset.id); } else { toggle.focus(); }
        return;
      }
      setStatus(errorMessage(await readJson(response), "알림을 지우지 못했어요. 잠시 뒤에 다시 해 주세요."));
    } catch (e) {
      setStatus("서버에 연결할 수 없어요. 네트워크를 확인하고 다시 시도해 주세요.");
    }
    buttons.forEach(function (b) { b.disabled = false; });
    buttons[0].focus();
  }

  listEl.addEventListener("click", function (event) {
    const control = event.target.closest("button[data-action]");
    const li = control && control.closest(".reminder-item");
    if (!li) { return; }
    if (control.dataset.action === "delete") { startDelete(li); }
    else if (control.dataset.action === "confirm") { confirmDelete(li); }
    else if (control.dataset.action === "cancel") { closeConfirm(false); }
  });
  listEl.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && confirming && !event.isComposing) { event.preventDefault(); closeConfirm(false); }
  });

  // --- the panel's fold ---------------------------------------------------------------------------
  function setOpen(open, remember) {
    toggle.setAttribute("aria-expanded", String(open));
    body.hidden = !open;
    if (remember) {
      try { window.localStorage.setItem(PANEL_KEY, open ? "open" : "closed"); } catch (e) { /* this page only */ }
    }
  }
  toggle.addEventListener("click", function () { setOpen(toggle.getAttribute("aria-expanded") !== "true", true); });
  let folded = false;
  try { folded = window.localStorage.getItem(PANEL_KEY) === "closed"; } catch (e) { folded = false; }
  setOpen(!folded, false);

  document.addEventListener("chat:reply", function (event) {
    if (event.detail && event.detail.remindersChanged) { refresh(); }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { tick(); refresh(); }
  });
  window.setInterval(tick, TICK_MS);
  window.setInterval(refresh, REFRESH_MS);
  refresh();
})();

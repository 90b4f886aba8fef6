// The conversation list (대화 목록) of 한결's chat page: a sidebar on wide screens, a drawer on phones.
//
// Talks to chat.js only through its small public interface (documented at the top of chat.js):
//   uses   window.HangyeolChat.openConversation(id) / startNewConversation() / currentConversationId() / isBusy()
//   hears  "chat:conversation" {id, reason} on document: marks the current item, refreshes the list
// and to the server through GET /api/conversations, PATCH and DELETE /api/conversations/<id>.
// Titles go into the page with textContent only; each item is drawn by convitems.js, which loads first.
// The list comes a page at a time; convpages.js (loaded first too) fetches the pages after the first.
// It also closes the header's flash message.
(function () {
  "use strict";

  const WIDE = window.matchMedia("(min-width: 900px)"); // keep in step with conversations.css
  const PANEL_KEY = "hangyeol.conversationsPanel"; // "open" or "closed": the sidebar, wide screens only
  const NETWORK_ERROR = "서버에 연결할 수 없어요. 네트워크를 확인하고 다시 시도해 주세요.";
  const BUSY_TEXT = "답장을 받는 중이에요. 잠시 뒤에 다시 해 주세요.";
  const MAX_TITLE = 200; // the server's limit
  const STATUS_MS = 6000;

  const items = window.HangyeolConvItems;
  const UNTITLED = items.UNTITLED;
  const el = items.el;
  const button = items.button;
  const renderItem = items.render;
  const titleOf = items.titleOf;

  const panel = document.getElementById("conversation-panel");
  const listEl = document.getElementById("conversation-list");
  const status = document.getElementById("conv-status");
  const toggle = document.getElementById("conversations-toggle");
  const closeButton = document.getElementById("conv-panel-close");
  const backdrop = document.getElementById("conv-backdrop");
  const app = document.querySelector(".app");
  const messages = document.getElementById("messages");
  const pager = window.HangyeolConvPages.start({ listEl: listEl, renderItem: renderItem, markCurrent: markCurrent,
    setStatus: setStatus, isOpen: function () { return open; } });

  let open = false;
  let stale = true; // the list on screen may be out of date
  let requestSeq = 0; // only the newest list request may draw
  let editing = null; // the <li> with an open rename or delete form: refreshes wait for it

  function chat() { return window.HangyeolChat || null; }
  function currentId() { const c = chat(); return c ? c.currentConversationId() : null; }

  function readPreference() {
    try { return window.localStorage.getItem(PANEL_KEY); } catch (e) { return null; }
  }
  function savePreference(value) {
    try { window.localStorage.setItem(PANEL_KEY, value); } catch (e) { /* remembered for this page only */ }
  }

  // The panel's one live region. A passing note ("이름을 바꿨어요") clears itself; a problem stays.
  let statusTimer = 0;
  let statusPassing = false;
  function setStatus(text, passing) {
    window.clearTimeout(statusTimer);
    status.textContent = text || "";
    statusPassing = Boolean(text && passing);
    if (statusPassing) { statusTimer = window.setTimeout(function () { setStatus(""); }, STATUS_MS); }
  }

  async function readJson(response) {
    try { return await response.json(); } catch (e) { return null; }
  }
  function errorMessage(data, fallback) {
    return data && data.error && data.error.message ? data.error.message : fallback;
  }
  function conversationUrl(id) { return "/api/conversations/" + encodeURIComponent(id); }

  // --- drawing the list ----------------------------------------------------------------------
  function markCurrent() {
    const id = currentId();
    listEl.querySelectorAll(".conv-item").forEach(function (li) {
      const current = li.dataset.id === id;
      li.classList.toggle("is-current", current);
      const openButton = li.querySelector(".conv-open");
      if (current) { openButton.setAttribute("aria-current", "true"); }
      else { openButton.removeAttribute("aria-current"); }
    });
  }

  function itemOf(node) { return node ? node.closest(".conv-item") : null; }

  // The first page, drawn afresh. With keepRest the items of later pages that it does not hold stay below
  // it (a conversation that got a reply moves up from them), so a long scroll survives each reply.
  function render(conversations, keepRest) {
    const focused = document.activeElement;
    const focusedItem = listEl.contains(focused) ? itemOf(focused) : null;
    const focus = focusedItem ? { id: focusedItem.dataset.id, action: focused.dataset.action } : null;
    const ids = new Set(conversations.map(function (c) { return c.id; }));
    const rest = keepRest ? Array.from(listEl.children).filter(function (li) { return !ids.has(li.dataset.id); }) : [];
    listEl.replaceChildren.apply(listEl, conversations.map(renderItem).concat(rest));
    markCurrent();
    pager.watch();
    if (!listEl.children.length) { setStatus("아직 대화가 없어요. 메시지를 보내면 여기에 생겨요."); }
    else if (!statusPassing) { setStatus(""); } // a loading or error line is over; a fresh note stays
    if (focus) { focusItem(focus.id, focus.action); }
  }

  function focusItem(id, action) {
    const li = Array.from(listEl.children).find(function (node) { return node.dataset.id === id; });
    const target = li && li.querySelector('[data-action="' + (action || "open") + '"]');
    if (target) { target.focus(); }
  }

  async function refresh() {
    if (editing) { stale = true; return; } // redrawing would throw away what is being typed
    const seq = ++requestSeq;
    stale = false;
    if (!listEl.children.length) { setStatus("대화 목록을 불러오는 중이에요…"); }
    try {
      const response = await fetch(pager.firstUrl(), { headers: { "Accept": "application/json" } });
      const data = await readJson(response);
      if (seq !== requestSeq) { return; }
      if (!response.ok || !data || !Array.isArray(data.conversations)) {
        stale = true;
        setStatus(errorMessage(data, "대화 목록을 불러오지 못했어요. 잠시 뒤에 다시 열어 주세요."));
        return;
      }
      if (editing) { stale = true; return; }
      render(data.conversations, pager.firstPage(data));
    } catch (e) {
      if (seq === requestSeq) { stale = true; setStatus(NETWORK_ERROR); }
    }
  }

  // --- opening ---------------------------------------------------------------------------------
  function openItem(li) {
    const c = chat();
    if (!c) { return; }
    if (li.dataset.id !== c.currentConversationId() && !c.openConversation(li.dataset.id)) {
      setStatus(BUSY_TEXT);
      return;
    }
    if (!WIDE.matches) { setOpen(false); messages.focus(); } // the drawer covers the conversation
  }

  // --- renaming --------------------------------------------------------------------------------
  function endEdit(li, focusAction) {
    if (editing !== li) { return; }
    editing = null;
    li.classList.remove("is-editing");
    li.querySelectorAll(".conv-rename, .conv-confirm").forEach(function (node) { node.remove(); });
    li.querySelectorAll(".conv-open, .conv-actions").forEach(function (node) { node.hidden = false; });
    if (focusAction && li.isConnected) { focusItem(li.dataset.id, focusAction); }
    if (stale && open) { refresh(); }
  }

  function beginEdit(li) {
    if (editing) { endEdit(editing, null); }
    editing = li;
    li.classList.add("is-editing");
  }

  function startRename(li) {
    beginEdit(li);
    const field = el("input", { type: "text", id: "conv-rename-input", className: "conv-rename-input",
      maxLength: MAX_TITLE, autocomplete: "off", enterkeyhint: "done",
      value: li.dataset.title === UNTITLED ? "" : li.dataset.title });
    const error = el("p", { className: "conv-error", id: "conv-rename-error", hidden: true });
    const save = el("button", { type: "submit", className: "conv-small send-button" }, "저장");
    const cancel = button("conv-small ghost-button", "취소");
    const form = el("form", { className: "conv-rename", noValidate: true },
      el("label", { className: "visually-hidden", htmlFor: field.id }, "새 대화 이름"),
      field, el("div", { className: "conv-form-actions" }, save, cancel), error);

    li.querySelector(".conv-open").hidden = true;
    li.querySelector(".conv-actions").hidden = true;
    li.appendChild(form);
    field.focus();
    field.select();

    let composing = false; // Enter that confirms a Hangul syllable must not save a half-typed name
    field.addEventListener("compositionstart", function () { composing = true; });
    field.addEventListener("compositionend", function () { composing = false; });
    field.addEventListener("keydown", function (event) {
      if (event.isComposing || event.keyCode === 229 || composing) { return; }
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation(); // Escape cancels the rename; it must not also close the drawer
        endEdit(li, "rename");
      } else if (event.key === "Enter") {
        event.preventDefault();
        saveRename(li, field, error, [field, save, cancel]);
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      saveRename(li, field, error, [field, save, cancel]);
    });
    cancel.addEventListener("click", function () { endEdit(li, "rename"); });
  }

  function showFieldError(field, error, text) {
    error.textContent = text;
    error.hidden = false;
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", error.id);
    field.focus();
  }

  async function saveRename(li, field, error, controls) {
    if (controls[0].disabled) { return; }
    const title = field.value.normalize("NFC").split(/\s+/).filter(Boolean).join(" ");
    if (!title) { showFieldError(field, error, "이름을 한 글자 이상 써 주세요."); return; }
    if (title === li.dataset.title) { endEdit(li, "rename"); return; }
    controls.forEach(function (c) { c.disabled = true; });
    try {
      const response = await fetch(conversationUrl(li.dataset.id), {
        method: "PATCH",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ title: title }),
      });
      const data = await readJson(response);
      if (response.ok && data) {
        const fresh = renderItem({ id: li.dataset.id, title: data.title, updated_at: data.updated_at });
        editing = null;
        li.replaceWith(fresh);
        markCurrent();
        pager.watch();
        focusItem(fresh.dataset.id, "rename");
        setStatus("이름을 ‘" + titleOf(data) + "’(으)로 바꿨어요.", true);
        if (stale && open) { refresh(); }
        return;
      }
      if (response.status === 404) { forget(li, "이미 지워진 대화예요."); return; }
      controls.forEach(function (c) { c.disabled = false; });
      showFieldError(field, error, errorMessage(data, "이름을 바꾸지 못했어요. 잠시 뒤에 다시 해 주세요."));
    } catch (e) {
      controls.forEach(function (c) { c.disabled = false; });
      showFieldError(field, error, NETWORK_ERROR);
    }
  }

  // --- deleting --------------------------------------------------------------------------------
  function startDelete(li) {
    const c = chat();
    if (c && c.isBusy() && li.dataset.id === c.currentConversationId()) { setStatus(BUSY_TEXT); return; }
    beginEdit(li);
    const yes = button("conv-small danger-button", "지우기");
    const no = button("conv-small ghost-button", "취소");
    const box = el("div", { className: "conv-confirm", role: "group",
      "aria-label": "‘" + li.dataset.title + "’ 지우기 확인" },
      el("p", { className: "conv-confirm-text" }, "이 대화를 지울까요? 되돌릴 수 없어요."),
      el("div", { className: "conv-form-actions" }, yes, no));
    li.querySelector(".conv-actions").hidden = true;
    li.appendChild(box);
    no.focus(); // the safe choice is the one under the finger

    box.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") { return; }
      event.preventDefault();
      event.stopPropagation();
      endEdit(li, "delete");
    });
    no.addEventListener("click", function () { endEdit(li, "delete"); });
    yes.addEventListener("click", function () { confirmDelete(li, [yes, no]); });
  }

  // Takes an item off the list; if it was the open conversation, a new one starts.
  function forget(li, message, passing) {
    const next = li.nextElementSibling || li.previousElementSibling;
    const hadFocus = li.contains(document.activeElement);
    if (editing === li) { editing = null; }
    li.remove();
    pager.watch();
    const c = chat();
    if (c && li.dataset.id === c.currentConversationId()) { c.startNewConversation(); }
    setStatus(listEl.children.length ? message : message + " 남은 대화가 없어요.", passing && listEl.children.length);
    if (hadFocus) {
      if (next) { focusItem(next.dataset.id, "open"); } else { closeButton.focus(); }
    }
    if (stale && open) { refresh(); }
  }

  async function confirmDelete(li, controls) {
    const c = chat();
    if (c && c.isBusy() && li.dataset.id === c.currentConversationId()) { setStatus(BUSY_TEXT); return; }
    controls.forEach(function (b) { b.disabled = true; });
    try {
      const response = await fetch(conversationUrl(li.dataset.id), {
        method: "DELETE",
        headers: { "Accept": "application/json" },
      });
      const data = await readJson(response);
      if (response.ok || response.status === 404) { // gone either way
        forget(li, "‘" + li.dataset.title + "’ 대화를 지웠어요.", true);
        return;
      }
      setStatus(errorMessage(data, "대화를 지우지 못했어요. 잠시 뒤에 다시 해 주세요."));
    } catch (e) {
      setStatus(NETWORK_ERROR);
    }
    controls.forEach(function (b) { b.disabled = false; });
    controls[1].focus();
  }

  // --- the panel -------------------------------------------------------------------------------
  function apply() {
    const drawer = open && !WIDE.matches;
    panel.hidden = !open;
    backdrop.hidden = !drawer;
    if (app) { app.inert = drawer; } // a drawer is modal: Tab stays inside it
    document.body.classList.toggle("conv-docked", open && WIDE.matches);
    document.body.classList.toggle("conv-drawer-open", drawer);
    toggle.setAttribute("aria-expanded", String(open));
    if (drawer) {
      panel.setAttribute("role", "dialog");
      panel.setAttribute("aria-modal", "true");
    } else {
      panel.removeAttribute("role");
      panel.removeAttribute("aria-modal");
    }
  }

  function setOpen(value) {
    open = value;
    apply();
    if (open && stale) { refresh(); }
  }

  function firstFocusable() {
    return listEl.querySelector(".is-current .conv-open") || listEl.querySelector(".conv-open") || closeButton;
  }

  toggle.addEventListener("click", function () {
    setOpen(!open);
    if (WIDE.matches) { savePreference(open ? "open" : "closed"); }
    if (open && !WIDE.matches) { firstFocusable().focus(); }
  });
  closeButton.addEventListener("click", function () {
    setOpen(false);
    if (WIDE.matches) { savePreference("closed"); }
    toggle.focus();
  });
  backdrop.addEventListener("click", function () { setOpen(false); toggle.focus(); });
  panel.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.isComposing || WIDE.matches) { return; }
    event.preventDefault();
    event.stopPropagation();
    setOpen(false);
    toggle.focus();
  });
  WIDE.addEventListener("change", function () {
    setOpen(WIDE.matches && readPreference() !== "closed");
  });

  listEl.addEventListener("click", function (event) {
    const control = event.target.closest("button[data-action]");
    const li = itemOf(control);
    if (!li) { return; }
    if (control.dataset.action === "open") { openItem(li); }
    else if (control.dataset.action === "rename") { startRename(li); }
    else if (control.dataset.action === "delete") { startDelete(li); }
  });

  document.addEventListener("chat:conversation", function (event) {
    const reason = event.detail && event.detail.reason;
    markCurrent();
    if (reason === "created" || reason === "reply" || reason === "missing") {
      if (reason === "missing") { pager.restart(); } // deleted elsewhere: kept items may be gone too
      stale = true;
      if (open) { refresh(); }
    }
  });

  // --- the flash message under the header (after signing up, for example) ------------------------
  const flash = document.getElementById("flash");
  const flashClose = document.getElementById("flash-close");
  if (flash && flashClose) {
    flashClose.addEventListener("click", function () {
      flash.remove();
      const input = document.getElementById("input");
      if (input) { input.focus(); }
    });
  }

  // "방금" must not stay "방금": the times are redrawn every minute while the list is open.
  window.setInterval(function () { if (open) { items.updateTimes(listEl); } }, 60000);
  setOpen(WIDE.matches && readPreference() !== "closed");
})();

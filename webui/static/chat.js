// Chat page for 한결. All user and bot text goes into the page with textContent, never as HTML.
//
// What other scripts (conversations.js, feedback.js) may use; nothing else here is public:
//   window.HangyeolChat.currentConversationId()  the open conversation's id, or null for a new one
//   window.HangyeolChat.isBusy()                 true while a reply or a history is loading
//   window.HangyeolChat.openConversation(id)     show that conversation; false (nothing done) while busy
//   window.HangyeolChat.startNewConversation()   as the "새 대화" button; false while busy
//   window.HangyeolChat.sendPicture(file, prompt) send a picture with the composer's text (or prompt);
//                                                false, nothing sent, while busy or if the text is too long
// Events dispatched on document (detail in braces):
//   "chat:conversation" {id, reason}  the open conversation changed or got a reply; reason is "created"
//                                     (first reply of a new one), "reply", "opened", "new" or "missing"
//   "chat:bot-message" {row, messageId, feedback}  a stored bot message was drawn (before it joins the
//                                     list); feedback is the stored {rating, correction} or null
//   "chat:reply" {text, remindersChanged}  the bot answered a message sent from this page (not a loaded
//                                     history); remindersChanged: it set or deleted a reminder (reminders.js)
//   "chat:error" {message}             a problem was shown in the conversation
//   "chat:busy" {busy}                 a reply or a history started (true) or finished (false) loading
//   "chat:older" {phase, count, first, message}  earlier messages of a long conversation are loading, were
//                                     put above ("loaded": count, first when none is older) or "failed"
// It draws attachments with attachments.js, gets the composer's file from upload.js and the earlier pages
// of a conversation, as the reader scrolls up, from older.js (all three load first). A history opens on
// its latest page of HISTORY_PAGE messages.
(function () {
  "use strict";

  const STORAGE_KEY = "hangyeol.conversationId";
  const MAX_CHARS = 1000;
  const GREETING = "안녕하세요! 한국어 챗봇 한결이에요. 무엇이든 편하게 말을 걸어 주세요.";
  const NETWORK_ERROR = "서버에 연결할 수 없어요. 네트워크를 확인하고 다시 시도해 주세요.";
  const HISTORY_PAGE = 50;

  const list = document.getElementById("messages");
  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  const sendButton = document.getElementById("send");
  const newChatButton = document.getElementById("new-chat");
  const counter = document.getElementById("counter");

  let conversationId = loadConversationId();
  let busy = false;
  const attachmentView = window.HangyeolAttachments;
  const upload = window.HangyeolUpload.start({ problem: showError, changed: updateComposer });
  const objectUrls = new Set(); // local thumbnails shown in the conversation, revoked when it is cleared
  const older = window.HangyeolOlder.start({ list: list, drawRow: storedRow,
    told: function (detail) { emit("chat:older", detail); } });

  // --- storage (may be unavailable, e.g. in private windows) ---------------------------------
  function loadConversationId() {
    try { return window.localStorage.getItem(STORAGE_KEY); } catch (e) { return null; }
  }
  function saveConversationId(id) {
    conversationId = id || null;
    try {
      if (id) { window.localStorage.setItem(STORAGE_KEY, id); } else { window.localStorage.removeItem(STORAGE_KEY); }
    } catch (e) { /* the conversation just won't survive a reload */ }
  }

  // --- rendering -----------------------------------------------------------------------------
  function formatTime(iso) {
    const date = iso ? new Date(iso) : new Date();
    if (Number.isNaN(date.getTime())) { return ""; }
    return date.toLocaleTimeString("ko-KR", { hour: "numeric", minute: "2-digit" });
  }

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function scrollToBottom() {
    list.scrollTop = list.scrollHeight;
  }

  function addMessage(role, text, options) {
    const row = drawRow(role, text, options);
    list.appendChild(row);
    scrollToBottom();
    return row;
  }

  // A row for a message, not yet in the page: appended by addMessage, or put above by older.js.
  function drawRow(role, text, options) {
    const opts = options || {};
    const row = document.createElement("div");
    row.className = "row row-" + role;

    const bubble = document.createElement("div");
    bubble.className = "bubble";
    const attachments = opts.attachments || [];
    if (attachments.length) {
      bubble.classList.add("has-attachments");
      if (attachments.some(attachmentView.isWide)) { row.classList.add("row-wide"); }
      const items = document.createElement("div");
      items.className = "attachments";
      attachments.forEach(function (item) {
        const node = attachmentView.render(item, scrollToBottomIfNear);
        if (node) { items.appendChild(node); }
      });
      // The user's picture comes before their words; the bot's findings come after its answer.
      if (role === "user") { bubble.appendChild(items); }
      if (text) {
        const words = document.createElement("div");
        words.className = "bubble-text";
        words.textContent = text;
        bubble.appendChild(words);
      }
      if (role !== "user") { bubble.appendChild(items); }
    } else {
      bubble.textContent = text;
    }
    row.appendChild(bubble);

    if (role !== "error") {
      const time = document.createElement("time");
      time.className = "time";
      const iso = opts.createdAt || new Date().toISOString();
      time.dateTime = iso;
      time.textContent = formatTime(iso);
      row.appendChild(time);
    }
    if (opts.suggestions && opts.suggestions.length) {
      row.appendChild(renderChips(opts.suggestions));
    }
    if (role === "bot" && opts.messageId) {
      emit("chat:bot-message", { row: row, messageId: opts.messageId, feedback: opts.feedback || null });
    }
    return row;
  }

  function storedRow(m) {
    return drawRow(m.role === "user" ? "user" : "bot", m.text, { createdAt: m.created_at,
      attachments: Array.isArray(m.attachments) ? m.attachments : [], messageId: m.role === "bot" ? m.id : null,
      feedback: m.feedback || null });
  }

  // Images load after the row is drawn; keep the newest message in view unless the user scrolled up.
  function scrollToBottomIfNear() {
    if (list.scrollHeight - list.scrollTop - list.clientHeight < 320) { scrollToBottom(); }
  }

  function renderChips(suggestions) {
    const chips = document.createElement("div");
    chips.className = "chips";
    chips.setAttribute("role", "group");
    chips.setAttribute("aria-label", "추천 질문");
    suggestions.forEach(function (suggestion) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.textContent = suggestion;
      chip.disabled = busy;
      chip.addEventListener("click", function () { send(suggestion); });
      chips.appendChild(chip);
    });
    return chips;
  }

  function showError(message) {
    addMessage("error", message || NETWORK_ERROR);
    emit("chat:error", { message: message || NETWORK_ERROR });
  }

  function showTooLong() {
    showError("메시지가 너무 깁니다. " + MAX_CHARS.toLocaleString("ko-KR") + "자 이하로 입력해 주세요.");
  }

  function showTyping() {
    const row = document.createElement("div");
    row.className = "row row-bot typing";
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.setAttribute("aria-label", "한결이 답장을 쓰고 있어요");
    for (let i = 0; i < 3; i += 1) {
      const dot = document.createElement("span");
      dot.className = "dot";
      bubble.appendChild(dot);
    }
    row.appendChild(bubble);
    list.appendChild(row);
    scrollToBottom();
    return row;
  }

  function clearMessages() {
    older.reset(null, null);
    while (list.firstChild) { list.removeChild(list.firstChild); }
    objectUrls.forEach(function (url) { URL.revokeObjectURL(url); });
    objectUrls.clear();
  }

  // --- state ---------------------------------------------------------------------------------
  function countChars(text) {
    return Array.from(text.trim().normalize("NFC")).length; // code points, as the server counts
  }

  function updateComposer() {
    const length = countChars(input.value);
    sendButton.disabled = busy || (length === 0 && !upload.pending()) || length > MAX_CHARS;
    counter.textContent = length > MAX_CHARS * 0.8 ? length.toLocaleString("ko-KR") + " / " + MAX_CHARS.toLocaleString("ko-KR") : "";
    counter.classList.toggle("over", length > MAX_CHARS);
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 160) + "px";
  }

  function setBusy(value) {
    busy = value;
    emit("chat:busy", { busy: value });
    list.setAttribute("aria-busy", value ? "true" : "false");
    list.querySelectorAll(".chip").forEach(function (chip) { chip.disabled = value; });
    updateComposer();
  }

  // --- network -------------------------------------------------------------------------------
  async function readJson(response) {
    try { return await response.json(); } catch (e) { return null; }
  }

  function errorMessage(data) {
    return data && data.error && data.error.message ? data.error.message : null;
  }

  // attachment: a picture goes as the "image" field, a table (CSV) as "file"; never both.
  async function postChat(text, attachment) {
    let request;
    if (attachment) {
      const table = attachment.kind === "table";
      const body = new FormData();
      body.append("message", text);
      if (conversationId) { body.append("conversation_id", conversationId); }
      body.append(table ? "file" : "image", attachment.file, attachment.file.name || (table ? "data.csv" : "image.png"));
      request = { method: "POST", headers: { "Accept": "application/json" }, body: body };
    } else {
      const body = { message: text };
      if (conversationId) { body.conversation_id = conversationId; }
      request = {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body),
      };
    }
    const response = await fetch("/api/chat", request);
    return { response: response, data: await readJson(response) };
  }

  // attachment: optional { file, kind, url }: a picture (a File or Blob with its object URL; kind
  // "image", the default) or a table (kind "table", no URL), sent as multipart/form-data. The
  // composer's pending file leaves the preview only once the message is valid, so nothing is lost.
  async function send(rawText, attachment) {
    const text = rawText.trim();
    if (busy || (!text && !attachment)) { return; }
    if (countChars(text) > MAX_CHARS) { showTooLong(); return; }
    const fromComposer = Boolean(attachment && attachment === upload.pending());
    if (fromComposer) { upload.take(); }
    if (attachment && !attachment.kind) { attachment.kind = "image"; }
    const table = Boolean(attachment) && attachment.kind === "table";
    let local = [];
    if (table) {
      local = [{ type: "file", role: "upload", name: attachment.file.name || "data.csv", bytes: attachment.file.size }];
    } else if (attachment) {
      local = [{ type: "image", role: "upload", url: attachment.url, alt: "보낸 이미지" }];
      objectUrls.add(attachment.url);
    }
    const userRow = addMessage("user", text, { attachments: local });
    if (rawText === input.value) { input.value = ""; }
    setBusy(true);
    const typing = showTyping();
    try {
      let result = await postChat(text, attachment);
      const code = result.data && result.data.error && result.data.error.code;
      if (result.response.status === 404 && code === "conversation_not_found") {
        saveConversationId(null); // the stored conversation is gone: carry on in a new one
        result = await postChat(text, attachment);
      }
      typing.remove();
      if (result.response.ok && result.data) {
        const created = !conversationId;
        saveConversationId(result.data.conversation_id);
        const items = Array.isArray(result.data.attachments) ? result.data.attachments : [];
        const stored = items.find(function (item) { return item && item.role === "upload"; });
        if (table) { attachmentView.swapFile(userRow, attachment.file, stored); }
        else if (attachment) {
          attachmentView.swapImage(userRow, stored, function () {
            URL.revokeObjectURL(attachment.url);
            objectUrls.delete(attachment.url);
          });
        }
        addMessage("bot", result.data.reply, {
          // Chips for every reply that offers them: a fallback's ideas, a slot question's choices...
          suggestions: Array.isArray(result.data.suggestions) ? result.data.suggestions : [],
          attachments: items.filter(function (item) { return item !== stored; }),
          messageId: result.data.message_id,
        });
        emit("chat:reply", { text: result.data.reply, remindersChanged: Boolean(result.data.reminders_changed) });
        emit("chat:conversation", { id: conversationId, reason: created ? "created" : "reply" });
      } else {
        showError(errorMessage(result.data) || "요청을 처리하지 못했어요. (HTTP " + result.response.status + ")");
        restoreComposer(rawText, fromComposer ? attachment : null);
      }
    } catch (e) {
      typing.remove();
      showError(NETWORK_ERROR);
      restoreComposer(rawText, fromComposer ? attachment : null);
    } finally {
      setBusy(false);
      input.focus();
    }
  }

  // A message the server refused (or never got) goes back into the composer, so nothing typed is lost.
  function restoreComposer(rawText, attachment) {
    if (!input.value.trim()) { input.value = rawText; }
    if (attachment && !upload.pending()) { upload.attach(attachment.file); }
    updateComposer();
  }

  async function loadHistory() {
    if (!conversationId) { addMessage("bot", GREETING); return; }
    setBusy(true);
    try {
      const response = await fetch("/api/conversations/" + encodeURIComponent(conversationId) + "?limit=" +
        HISTORY_PAGE, { headers: { "Accept": "application/json" } });
      const data = await readJson(response);
      if (response.status === 404) {
        saveConversationId(null);
        addMessage("bot", GREETING);
        emit("chat:conversation", { id: null, reason: "missing" });
      } else if (!response.ok || !data) {
        showError(errorMessage(data) || "이전 대화를 불러오지 못했어요.");
      } else if (!data.messages.length) {
        addMessage("bot", GREETING);
      } else {
        data.messages.forEach(function (m) { list.appendChild(storedRow(m)); });
        scrollToBottom();
        older.reset(conversationId, data.next_cursor);
      }
    } catch (e) {
      showError(NETWORK_ERROR);
    } finally {
      setBusy(false);
    }
  }

  // --- events --------------------------------------------------------------------------------
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(input.value, upload.pending());
  });

  // Enter and Shift+Enter, and the IME rules around them, are composer.js's: Enter submits this form.

  input.addEventListener("input", updateComposer);

  function startNewConversation() {
    if (busy) { return false; }
    saveConversationId(null);
    clearMessages();
    upload.clear();
    addMessage("bot", GREETING);
    emit("chat:conversation", { id: null, reason: "new" });
    return true;
  }

  // The composer's text and attachment stay: they may be meant for the conversation being opened.
  function openConversation(id) {
    if (busy || typeof id !== "string" || !id) { return false; }
    saveConversationId(id);
    clearMessages();
    emit("chat:conversation", { id: id, reason: "opened" });
    loadHistory();
    return true;
  }

  newChatButton.addEventListener("click", function () {
    if (startNewConversation()) { input.focus(); }
  });

  // A picture made on the page (the drawing pad's), sent with the composer's text, or with `prompt`
  // when the composer is empty. False, with nothing sent, while busy or when the text is too long (the
  // caller keeps its picture); the error for a too long text is shown in the conversation.
  function sendPicture(file, prompt) {
    if (busy) { return false; }
    const typed = input.value;
    if (countChars(typed) > MAX_CHARS) { showTooLong(); return false; }
    send(typed.trim() ? typed : String(prompt || ""), { file: file, url: URL.createObjectURL(file) });
    return true;
  }

  window.HangyeolChat = Object.freeze({
    currentConversationId: function () { return conversationId; },
    isBusy: function () { return busy; },
    openConversation: openConversation,
    startNewConversation: startNewConversation,
    sendPicture: sendPicture,
  });

  updateComposer();
  loadHistory();
})();

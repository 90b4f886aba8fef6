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
//   "chat:reply" {text}                the bot answered a message sent from this page (not a loaded history)
//   "chat:error" {message}             a problem was shown in the conversation
//   "chat:busy" {busy}                 a reply or a history started (true) or finished (false) loading
(function () {
  "use strict";

  const STORAGE_KEY = "hangyeol.conversationId";
  const MAX_CHARS = 1000;
  const MAX_FILE_BYTES = 10 * 1024 * 1024; // the server refuses larger pictures and tables
  // A table for /forecast: decided by the name's extension when it has one (Windows reports CSV as
  // application/vnd.ms-excel, as it does real Excel files), else by the MIME type (a pasted file).
  const TABLE_EXTENSIONS = ["csv", "tsv", "txt"];
  const TABLE_TYPES = ["text/csv", "text/tab-separated-values", "application/vnd.ms-excel", "text/plain",
    "application/csv", "text/comma-separated-values"];
  const SPREADSHEET_EXTENSIONS = ["xls", "xlsx", "xlsm", "ods", "numbers"];
  const SVG_NS = "http://www.w3.org/2000/svg";
  const GREETING = "안녕하세요! 한국어 챗봇 한결이에요. 무엇이든 편하게 말을 걸어 주세요.";
  const NETWORK_ERROR = "서버에 연결할 수 없어요. 네트워크를 확인하고 다시 시도해 주세요.";

  const list = document.getElementById("messages");
  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  const sendButton = document.getElementById("send");
  const newChatButton = document.getElementById("new-chat");
  const counter = document.getElementById("counter");
  const attachButton = document.getElementById("attach");
  const fileInput = document.getElementById("file-input");
  const preview = document.getElementById("attachment-preview");
  const previewImg = document.getElementById("attachment-preview-img");
  const previewName = document.getElementById("attachment-preview-name");
  const previewSize = document.getElementById("attachment-preview-size");
  const previewIcon = document.getElementById("attachment-preview-icon");
  const removeButton = document.getElementById("attachment-remove");
  const dropHint = document.getElementById("drop-hint");
  const viewer = document.getElementById("image-viewer");
  const viewerImg = document.getElementById("image-viewer-img");
  const viewerCaption = document.getElementById("image-viewer-caption");
  const viewerOpen = document.getElementById("image-viewer-open");
  const viewerClose = document.getElementById("image-viewer-close");

  let conversationId = loadConversationId();
  let busy = false;
  let pending = null; // the file waiting to be sent: { file, kind: "image" | "table", url (images only) }
  const objectUrls = new Set(); // local thumbnails shown in the conversation, revoked when it is cleared

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
    const opts = options || {};
    const row = document.createElement("div");
    row.className = "row row-" + role;

    const bubble = document.createElement("div");
    bubble.className = "bubble";
    const attachments = opts.attachments || [];
    if (attachments.length) {
      bubble.classList.add("has-attachments");
      if (attachments.some(isWideAttachment)) { row.classList.add("row-wide"); }
      const items = document.createElement("div");
      items.className = "attachments";
      attachments.forEach(function (item) {
        const node = renderAttachment(item);
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
    list.appendChild(row);
    scrollToBottom();
    return row;
  }

  function renderAttachment(item) {
    if (!item || typeof item !== "object") { return null; }
    if (item.type === "image" && typeof item.url === "string") { return renderImage(item); }
    if (item.type === "classification" && Array.isArray(item.labels)) { return renderClassification(item); }
    if (item.type === "file") { return renderFile(item); }
    if (item.type === "forecast" && Array.isArray(item.values) && window.HangyeolForecast) {
      return window.HangyeolForecast.render(item);
    }
    return null;
  }

  // Charts and forecast tables get more of the row's width than a thumbnail does.
  function isWideAttachment(item) {
    return Boolean(item) && (item.type === "forecast" || (item.type === "image" && item.role === "chart"));
  }

  function formatBytes(bytes) {
    const n = Number(bytes);
    if (!Number.isFinite(n) || n < 0) { return ""; }
    if (n < 1024) { return n.toLocaleString("ko-KR") + " B"; }
    const kb = n / 1024;
    if (kb < 1024) { return kb.toLocaleString("ko-KR", { maximumFractionDigits: kb < 10 ? 1 : 0 }) + " KB"; }
    const mb = kb / 1024;
    return mb.toLocaleString("ko-KR", { maximumFractionDigits: 1 }) + " MB";
  }

  // Only links into this site (or plain http/https) become hrefs; anything else stays text.
  function safeHref(url) {
    if (typeof url !== "string" || !url) { return null; }
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function fileIcon() {
    const icon = document.createElement("span");
    icon.className = "file-icon";
    icon.setAttribute("aria-hidden", "true");
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "22");
    svg.setAttribute("height", "22");
    svg.setAttribute("focusable", "false");
    [["M6 2.8h8.2L19 7.6v13.6H6z M14 2.8v5h5", "1.8"], ["M9 12.5h7M9 15.5h7M9 18.5h4", "1.6"]].forEach(function (spec) {
      const path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", spec[0]);
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", "currentColor");
      path.setAttribute("stroke-width", spec[1]);
      path.setAttribute("stroke-linecap", "round");
      path.setAttribute("stroke-linejoin", "round");
      svg.appendChild(path);
    });
    icon.appendChild(svg);
    return icon;
  }

  // A sent table: a download link once the server has stored it, plain text until then.
  function renderFile(item) {
    const name = typeof item.name === "string" && item.name ? item.name : "파일";
    const size = formatBytes(item.bytes);
    const href = safeHref(item.url);
    const chip = document.createElement(href ? "a" : "span");
    chip.className = "file-chip attachment-file" + (item.role ? " attachment-" + item.role : "");
    if (href) {
      chip.href = href;
      chip.setAttribute("download", name);
      chip.title = name + " 내려받기";
    }
    chip.appendChild(fileIcon());
    const text = document.createElement("span");
    text.className = "file-chip-text";
    const nameEl = document.createElement("span");
    nameEl.className = "file-name";
    nameEl.textContent = name;
    text.appendChild(nameEl);
    if (size) {
      const sizeEl = document.createElement("span");
      sizeEl.className = "file-size";
      sizeEl.textContent = size;
      text.appendChild(sizeEl);
    }
    if (href) {
      const hint = document.createElement("span");
      hint.className = "visually-hidden";
      hint.textContent = " 내려받기";
      text.appendChild(hint);
    }
    chip.appendChild(text);
    return chip;
  }

  function renderImage(item) {
    const figure = document.createElement("figure");
    figure.className = "attachment-image" + (item.role ? " attachment-" + item.role : "");
    const alt = item.alt || (item.role === "upload" ? "보낸 이미지" : "이미지");

    const button = document.createElement("button");
    button.type = "button";
    button.className = "image-button";
    button.setAttribute("aria-label", alt + " — 크게 보기");
    button.title = "크게 보기";

    const img = document.createElement("img");
    img.src = item.url;
    img.alt = alt;
    img.loading = "lazy";
    img.decoding = "async";
    if (item.width > 0 && item.height > 0) { img.width = item.width; img.height = item.height; }
    img.addEventListener("load", scrollToBottomIfNear);
    button.appendChild(img);
    button.addEventListener("click", function () { openViewer(img.src, alt, button); });
    figure.appendChild(button);

    if (item.role && item.role !== "upload") {
      const caption = document.createElement("figcaption");
      caption.textContent = alt;
      figure.appendChild(caption);
    }
    return figure;
  }

  function renderClassification(item) {
    const listEl = document.createElement("ol");
    listEl.className = "classification";
    listEl.setAttribute("aria-label", "분류 결과");
    item.labels.forEach(function (entry) {
      const score = Math.min(Math.max(Number(entry.score) || 0, 0), 1);
      const li = document.createElement("li");

      const label = document.createElement("span");
      label.className = "class-label";
      label.textContent = String(entry.label);

      const bar = document.createElement("span");
      bar.className = "class-bar";
      bar.setAttribute("aria-hidden", "true");
      const fill = document.createElement("span");
      fill.className = "class-bar-fill";
      fill.style.width = (score * 100).toFixed(1) + "%";
      bar.appendChild(fill);

      const percent = document.createElement("span");
      percent.className = "class-score";
      const rounded = Math.round(score * 100);
      percent.textContent = rounded === 0 && score > 0 ? "<1%" : rounded + "%"; // as the reply text says it

      li.appendChild(label);
      li.appendChild(bar);
      li.appendChild(percent);
      listEl.appendChild(li);
    });
    return listEl;
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
    while (list.firstChild) { list.removeChild(list.firstChild); }
    objectUrls.forEach(function (url) { URL.revokeObjectURL(url); });
    objectUrls.clear();
  }

  // --- image viewer --------------------------------------------------------------------------
  let viewerOpener = null;

  function openViewer(url, alt, opener) {
    viewerImg.src = url;
    viewerImg.alt = alt;
    viewerCaption.textContent = alt;
    viewerOpen.href = url;
    viewerOpener = opener;
    if (typeof viewer.showModal === "function") {
      viewer.showModal();
      viewerClose.focus();
    } else {
      window.open(url, "_blank", "noopener"); // very old browsers without <dialog>
    }
  }

  viewerClose.addEventListener("click", function () { viewer.close(); });
  viewer.addEventListener("click", function (event) {
    if (event.target === viewer) { viewer.close(); } // a click on the backdrop
  });
  viewer.addEventListener("close", function () {
    viewerImg.removeAttribute("src");
    if (viewerOpener && document.contains(viewerOpener)) { viewerOpener.focus(); }
    viewerOpener = null;
  });

  // --- state ---------------------------------------------------------------------------------
  function countChars(text) {
    return Array.from(text.trim().normalize("NFC")).length; // code points, as the server counts
  }

  function updateComposer() {
    const length = countChars(input.value);
    sendButton.disabled = busy || (length === 0 && !pending) || length > MAX_CHARS;
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

  // --- the pending attachment ----------------------------------------------------------------
  function extensionOf(name) {
    const match = /\.([^./\\]+)$/.exec(name || "");
    return match ? match[1].toLowerCase() : "";
  }

  // "image", "table" (a CSV for /forecast), or null when the page cannot send the file.
  function fileKind(file) {
    const ext = extensionOf(file.name);
    const type = (file.type || "").toLowerCase();
    if (TABLE_EXTENSIONS.indexOf(ext) !== -1) { return "table"; }
    if (type.indexOf("image/") === 0) { return "image"; }
    if (!ext && TABLE_TYPES.indexOf(type) !== -1) { return "table"; }
    return null;
  }

  // Returns a Korean reason when the file cannot be sent, or null when it can.
  function fileProblem(file, kind) {
    if (!kind) {
      if (SPREADSHEET_EXTENSIONS.indexOf(extensionOf(file.name)) !== -1) {
        return "엑셀 파일은 바로 보낼 수 없어요. CSV(쉼표로 구분) 형식으로 저장해서 보내 주세요.";
      }
      return "이미지나 CSV 파일만 보낼 수 있어요. (PNG, JPEG 같은 사진이나 .csv 표 파일을 골라 주세요)";
    }
    const table = kind === "table";
    if (file.size === 0) {
      return table ? "빈 파일이에요. 내용이 있는 CSV 파일을 골라 주세요." : "빈 파일이에요. 다른 이미지를 골라 주세요.";
    }
    if (file.size > MAX_FILE_BYTES) {
      return table ? "파일이 너무 커요. 10MB 이하의 CSV 파일을 골라 주세요."
        : "이미지가 너무 커요. 10MB 이하의 이미지를 골라 주세요.";
    }
    return null;
  }

  function attachFile(file) {
    if (!file) { return; }
    const kind = fileKind(file);
    const problem = fileProblem(file, kind);
    if (problem) { showError(problem); return; } // the typed text stays in the composer
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 8;
    clearPending();
    pending = { file: file, kind: kind, url: kind === "image" ? URL.createObjectURL(file) : null };
    const table = kind === "table";
    preview.classList.toggle("is-file", table);
    previewImg.hidden = table;
    previewIcon.hidden = !table;
    if (!table) { previewImg.src = pending.url; }
    previewName.textContent = file.name || (table ? "붙여 넣은 파일" : "붙여 넣은 이미지");
    previewSize.textContent = table ? formatBytes(file.size) : "";
    previewSize.hidden = !table;
    const label = table ? "첨부한 파일 빼기" : "첨부한 이미지 빼기";
    removeButton.setAttribute("aria-label", label);
    removeButton.title = label;
    preview.hidden = false;
    if (atBottom) { scrollToBottom(); } // the preview takes room from the list: keep the newest message in view
    updateComposer();
    input.focus();
  }

  function resetPreview() {
    pending = null;
    previewImg.removeAttribute("src");
    previewName.textContent = "";
    previewSize.textContent = "";
    preview.hidden = true;
  }

  function clearPending() {
    if (pending && pending.url) { URL.revokeObjectURL(pending.url); }
    resetPreview();
    updateComposer();
  }

  // Hands the pending file over to the conversation: an image's object URL now belongs to the user's bubble.
  function takePending() {
    const taken = pending;
    resetPreview();
    return taken;
  }

  // The first file the page can send (else the first file, so that its problem is explained).
  function firstFile(dataTransfer) {
    if (!dataTransfer) { return null; }
    let files = Array.from(dataTransfer.files || []);
    if (!files.length) {
      files = Array.from(dataTransfer.items || []).filter(function (item) { return item.kind === "file"; })
        .map(function (item) { return item.getAsFile(); }).filter(Boolean);
    }
    return files.find(function (f) { return fileKind(f) !== null; }) || files[0] || null;
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

  // After the reply, show the server's copy of the upload and let go of the local one.
  function swapUploadImage(userRow, image, item) {
    if (!item || typeof item.url !== "string") { return; }
    const img = userRow.querySelector(".attachment-upload img");
    if (!img) { return; }
    const loader = new Image();
    loader.addEventListener("load", function () {
      img.src = item.url;
      if (item.alt) { img.alt = item.alt; }
      URL.revokeObjectURL(image.url);
      objectUrls.delete(image.url);
    });
    loader.src = item.url;
  }

  // After the reply, the user's file chip becomes a link to the server's copy.
  function swapUploadFile(userRow, file, item) {
    const chip = userRow.querySelector(".attachment-file");
    if (!chip || !item || typeof item.url !== "string") { return; }
    const merged = Object.assign({ name: file.name, bytes: file.size }, item);
    chip.replaceWith(renderFile(merged));
  }

  // attachment: optional { file, kind, url }: a picture (a File or Blob with its object URL; kind
  // "image", the default) or a table (kind "table", no URL), sent as multipart/form-data. The
  // composer's pending file leaves the preview only once the message is valid, so nothing is lost.
  async function send(rawText, attachment) {
    const text = rawText.trim();
    if (busy || (!text && !attachment)) { return; }
    if (countChars(text) > MAX_CHARS) { showTooLong(); return; }
    const fromComposer = Boolean(attachment && attachment === pending);
    if (fromComposer) { takePending(); }
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
        const upload = items.find(function (item) { return item && item.role === "upload"; });
        if (table) { swapUploadFile(userRow, attachment.file, upload); }
        else if (attachment) { swapUploadImage(userRow, attachment, upload); }
        addMessage("bot", result.data.reply, {
          suggestions: result.data.fallback ? result.data.suggestions : [],
          attachments: items.filter(function (item) { return item !== upload; }),
          messageId: result.data.message_id,
        });
        emit("chat:reply", { text: result.data.reply });
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
    if (attachment && !pending) { attachFile(attachment.file); }
    updateComposer();
  }

  async function loadHistory() {
    if (!conversationId) { addMessage("bot", GREETING); return; }
    setBusy(true);
    try {
      const response = await fetch("/api/conversations/" + encodeURIComponent(conversationId), {
        headers: { "Accept": "application/json" },
      });
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
        data.messages.forEach(function (m) {
          addMessage(m.role === "user" ? "user" : "bot", m.text, {
            createdAt: m.created_at,
            attachments: Array.isArray(m.attachments) ? m.attachments : [],
            messageId: m.role === "bot" ? m.id : null,
            feedback: m.feedback || null,
          });
        });
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
    send(input.value, pending);
  });

  // Enter and Shift+Enter, and the IME rules around them, are composer.js's: Enter submits this form.

  input.addEventListener("input", updateComposer);

  // A pasted picture or CSV file becomes the attachment; pasted text (even with a picture of it, as
  // spreadsheets put on the clipboard) stays ordinary text.
  input.addEventListener("paste", function (event) {
    const data = event.clipboardData;
    if (!data || Array.from(data.types || []).indexOf("text/plain") !== -1) { return; }
    const file = firstFile(data);
    if (!file) { return; }
    event.preventDefault();
    attachFile(file);
  });

  attachButton.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = ""; // choosing the same file again must fire "change" again
    attachFile(file);
  });
  removeButton.addEventListener("click", function () { clearPending(); input.focus(); });

  // Drag and drop anywhere on the page. dragenter/dragleave fire for every child crossed, so count them.
  let dragDepth = 0;
  function carriesFiles(event) {
    return event.dataTransfer && Array.from(event.dataTransfer.types || []).indexOf("Files") !== -1;
  }
  document.addEventListener("dragenter", function (event) {
    if (!carriesFiles(event)) { return; }
    event.preventDefault();
    dragDepth += 1;
    dropHint.hidden = false;
  });
  document.addEventListener("dragover", function (event) {
    if (!carriesFiles(event)) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("dragleave", function (event) {
    if (!carriesFiles(event)) { return; }
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) { dropHint.hidden = true; }
  });
  document.addEventListener("drop", function (event) {
    dragDepth = 0;
    dropHint.hidden = true;
    if (!carriesFiles(event)) { return; }
    event.preventDefault(); // otherwise the browser navigates away to the dropped file
    attachFile(firstFile(event.dataTransfer));
  });

  function startNewConversation() {
    if (busy) { return false; }
    saveConversationId(null);
    clearMessages();
    clearPending();
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

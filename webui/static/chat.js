// Chat page for 한결. All user and bot text goes into the page with textContent, never as HTML.
(function () {
  "use strict";

  const STORAGE_KEY = "hangyeol.conversationId";
  const MAX_CHARS = 1000;
  const MAX_IMAGE_BYTES = 10 * 1024 * 1024; // the server refuses larger uploads
  const GREETING = "안녕하세요! 한국어 챗봇 한결이에요. 무엇이든 편하게 말을 걸어 주세요.";
  const NETWORK_ERROR = "서버에 연결할 수 없어요. 네트워크를 확인하고 다시 시도해 주세요.";
  const DRAWING_PROMPT = "이 숫자 뭐야?";
  const DRAW_HINT = "숫자 하나를 칸에 가득 차게 그려 주세요.";

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
  const removeButton = document.getElementById("attachment-remove");
  const dropHint = document.getElementById("drop-hint");
  const drawToggle = document.getElementById("draw-toggle");
  const drawPanel = document.getElementById("draw-panel");
  const drawStatus = document.getElementById("draw-status");
  const canvas = document.getElementById("draw-canvas");
  const drawClear = document.getElementById("draw-clear");
  const drawSend = document.getElementById("draw-send");
  const drawClose = document.getElementById("draw-close");
  const viewer = document.getElementById("image-viewer");
  const viewerImg = document.getElementById("image-viewer-img");
  const viewerCaption = document.getElementById("image-viewer-caption");
  const viewerOpen = document.getElementById("image-viewer-open");
  const viewerClose = document.getElementById("image-viewer-close");

  let conversationId = loadConversationId();
  let busy = false;
  let composing = false; // a Hangul IME composition is in progress
  let pending = null; // the image waiting to be sent: { file, url }
  const objectUrls = new Set(); // local thumbnails shown in the conversation, revoked when it is cleared

  // --- storage (may be unavailable, e.g. in private windows) ---------------------------------
  function loadConversationId() {
    try { return window.localStorage.getItem(STORAGE_KEY); } catch (e) { return null; }
  }
  function saveConversationId(id) {
    conversationId = id;
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
    list.appendChild(row);
    scrollToBottom();
    return row;
  }

  function renderAttachment(item) {
    if (!item || typeof item !== "object") { return null; }
    if (item.type === "image" && typeof item.url === "string") { return renderImage(item); }
    if (item.type === "classification" && Array.isArray(item.labels)) { return renderClassification(item); }
    return null;
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
    drawSend.disabled = busy;
    counter.textContent = length > MAX_CHARS * 0.8 ? length.toLocaleString("ko-KR") + " / " + MAX_CHARS.toLocaleString("ko-KR") : "";
    counter.classList.toggle("over", length > MAX_CHARS);
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 160) + "px";
  }

  function setBusy(value) {
    busy = value;
    list.setAttribute("aria-busy", value ? "true" : "false");
    list.querySelectorAll(".chip").forEach(function (chip) { chip.disabled = value; });
    updateComposer();
  }

  // --- the pending attachment ----------------------------------------------------------------
  // Returns a Korean reason when the file cannot be sent, or null when it can.
  function imageProblem(file) {
    if (!file.type || file.type.indexOf("image/") !== 0) {
      return "이미지 파일만 보낼 수 있어요. (PNG, JPEG 같은 사진 파일을 골라 주세요)";
    }
    if (file.size === 0) { return "빈 파일이에요. 다른 이미지를 골라 주세요."; }
    if (file.size > MAX_IMAGE_BYTES) {
      return "이미지가 너무 커요. 10MB 이하의 이미지를 골라 주세요.";
    }
    return null;
  }

  function attachFile(file) {
    if (!file) { return; }
    const problem = imageProblem(file);
    if (problem) { showError(problem); return; } // the typed text stays in the composer
    clearPending();
    pending = { file: file, url: URL.createObjectURL(file) };
    previewImg.src = pending.url;
    previewName.textContent = file.name || "붙여 넣은 이미지";
    preview.hidden = false;
    updateComposer();
    input.focus();
  }

  function clearPending() {
    if (pending) { URL.revokeObjectURL(pending.url); }
    pending = null;
    previewImg.removeAttribute("src");
    previewName.textContent = "";
    preview.hidden = true;
    updateComposer();
  }

  // Hands the pending image over to the conversation: its object URL now belongs to the user's bubble.
  function takePending() {
    const taken = pending;
    pending = null;
    previewImg.removeAttribute("src");
    previewName.textContent = "";
    preview.hidden = true;
    return taken;
  }

  function firstImageFile(dataTransfer) {
    if (!dataTransfer) { return null; }
    const files = Array.from(dataTransfer.files || []);
    if (files.length) { return files.find(function (f) { return f.type.indexOf("image/") === 0; }) || files[0]; }
    const items = Array.from(dataTransfer.items || []);
    for (let i = 0; i < items.length; i += 1) {
      if (items[i].kind === "file") { return items[i].getAsFile(); }
    }
    return null;
  }

  // --- network -------------------------------------------------------------------------------
  async function readJson(response) {
    try { return await response.json(); } catch (e) { return null; }
  }

  function errorMessage(data) {
    return data && data.error && data.error.message ? data.error.message : null;
  }

  async function postChat(text, image) {
    let request;
    if (image) {
      const body = new FormData();
      body.append("message", text);
      if (conversationId) { body.append("conversation_id", conversationId); }
      body.append("image", image.file, image.file.name || "image.png");
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

  // image: optional { file, url } (a File or Blob with its object URL), sent as multipart/form-data.
  // The composer's pending image leaves the preview only once the message is valid, so nothing is lost.
  async function send(rawText, image) {
    const text = rawText.trim();
    if (busy || (!text && !image)) { return; }
    if (countChars(text) > MAX_CHARS) { showTooLong(); return; }
    const fromComposer = Boolean(image && image === pending);
    if (fromComposer) { takePending(); }
    const local = image ? [{ type: "image", role: "upload", url: image.url, alt: "보낸 이미지" }] : [];
    if (image) { objectUrls.add(image.url); }
    const userRow = addMessage("user", text, { attachments: local });
    if (rawText === input.value) { input.value = ""; }
    setBusy(true);
    const typing = showTyping();
    try {
      let result = await postChat(text, image);
      const code = result.data && result.data.error && result.data.error.code;
      if (result.response.status === 404 && code === "conversation_not_found") {
        saveConversationId(null); // the stored conversation is gone: carry on in a new one
        result = await postChat(text, image);
      }
      typing.remove();
      if (result.response.ok && result.data) {
        saveConversationId(result.data.conversation_id);
        const items = Array.isArray(result.data.attachments) ? result.data.attachments : [];
        const upload = items.find(function (item) { return item && item.role === "upload"; });
        if (image) { swapUploadImage(userRow, image, upload); }
        addMessage("bot", result.data.reply, {
          suggestions: result.data.fallback ? result.data.suggestions : [],
          attachments: items.filter(function (item) { return item !== upload; }),
        });
      } else {
        showError(errorMessage(result.data) || "요청을 처리하지 못했어요. (HTTP " + result.response.status + ")");
        restoreComposer(rawText, fromComposer ? image : null);
      }
    } catch (e) {
      typing.remove();
      showError(NETWORK_ERROR);
      restoreComposer(rawText, fromComposer ? image : null);
    } finally {
      setBusy(false);
      input.focus();
    }
  }

  // A message the server refused (or never got) goes back into the composer, so nothing typed is lost.
  function restoreComposer(rawText, image) {
    if (!input.value.trim()) { input.value = rawText; }
    if (image && !pending) { attachFile(image.file); }
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
      } else if (!response.ok || !data) {
        showError(errorMessage(data) || "이전 대화를 불러오지 못했어요.");
      } else if (!data.messages.length) {
        addMessage("bot", GREETING);
      } else {
        data.messages.forEach(function (m) {
          addMessage(m.role === "user" ? "user" : "bot", m.text, {
            createdAt: m.created_at,
            attachments: Array.isArray(m.attachments) ? m.attachments : [],
          });
        });
      }
    } catch (e) {
      showError(NETWORK_ERROR);
    } finally {
      setBusy(false);
    }
  }

  // --- drawing pad ---------------------------------------------------------------------------
  const pad = { ctx: null, size: 0, pointerId: null, last: null, drawn: false };

  // Sizes the backing store to the CSS size times devicePixelRatio; resizing wipes the canvas.
  function prepareCanvas() {
    const cssSize = Math.round(canvas.getBoundingClientRect().width) || 260;
    const ratio = window.devicePixelRatio || 1;
    const pixels = Math.round(cssSize * ratio);
    if (pad.ctx && canvas.width === pixels && pad.size === cssSize) { return; }
    canvas.width = pixels;
    canvas.height = pixels;
    pad.size = cssSize;
    pad.ctx = canvas.getContext("2d");
    pad.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    clearCanvas();
  }

  function clearCanvas() {
    const ctx = pad.ctx;
    if (!ctx) { return; }
    // White, not transparent: the PNG must look like ink on paper to the digit model.
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, pad.size, pad.size);
    ctx.strokeStyle = "#000000";
    ctx.fillStyle = "#000000";
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = Math.max(10, pad.size * 0.1);
    pad.drawn = false;
    drawStatus.textContent = DRAW_HINT;
  }

  function canvasPoint(event) {
    const rect = canvas.getBoundingClientRect();
    const scale = rect.width ? pad.size / rect.width : 1;
    return { x: (event.clientX - rect.left) * scale, y: (event.clientY - rect.top) * scale };
  }

  function dot(point) {
    pad.ctx.beginPath();
    pad.ctx.arc(point.x, point.y, pad.ctx.lineWidth / 2, 0, Math.PI * 2);
    pad.ctx.fill();
  }

  function lineTo(point) {
    pad.ctx.beginPath();
    pad.ctx.moveTo(pad.last.x, pad.last.y);
    pad.ctx.lineTo(point.x, point.y);
    pad.ctx.stroke();
    pad.last = point;
  }

  canvas.addEventListener("pointerdown", function (event) {
    if (pad.pointerId !== null || (event.pointerType === "mouse" && event.button !== 0)) { return; }
    event.preventDefault();
    if (!pad.ctx) { prepareCanvas(); }
    pad.pointerId = event.pointerId;
    try { canvas.setPointerCapture(event.pointerId); } catch (e) { /* synthetic events have no capture */ }
    pad.last = canvasPoint(event);
    dot(pad.last);
    pad.drawn = true;
    if (drawStatus.textContent !== DRAW_HINT) { drawStatus.textContent = DRAW_HINT; } // no repeat announcements
  });

  canvas.addEventListener("pointermove", function (event) {
    if (event.pointerId !== pad.pointerId) { return; }
    event.preventDefault();
    const events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
    (events.length ? events : [event]).forEach(function (e) { lineTo(canvasPoint(e)); });
  });

  function endStroke(event) {
    if (event.pointerId !== pad.pointerId) { return; }
    pad.pointerId = null;
    pad.last = null;
  }
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);
  canvas.addEventListener("lostpointercapture", endStroke);

  function openDrawPanel() {
    drawPanel.hidden = false;
    drawToggle.setAttribute("aria-expanded", "true");
    prepareCanvas();
    drawPanel.focus();
  }

  function closeDrawPanel(returnFocus) {
    if (drawPanel.hidden) { return; }
    drawPanel.hidden = true;
    drawToggle.setAttribute("aria-expanded", "false");
    pad.pointerId = null;
    if (returnFocus) { drawToggle.focus(); }
  }

  function sendDrawing() {
    if (busy) { return; }
    if (!pad.drawn) {
      drawStatus.textContent = "먼저 칸 안에 숫자를 그려 주세요.";
      return;
    }
    if (countChars(input.value) > MAX_CHARS) { showTooLong(); return; } // keep the drawing
    canvas.toBlob(function (blob) {
      if (!blob) { showError("그림을 이미지로 바꾸지 못했어요. 다시 그려 주세요."); return; }
      const file = new File([blob], "drawing.png", { type: "image/png" });
      const typed = input.value;
      clearCanvas();
      closeDrawPanel(false);
      send(typed.trim() ? typed : DRAWING_PROMPT, { file: file, url: URL.createObjectURL(file) });
    }, "image/png");
  }

  drawToggle.addEventListener("click", function () {
    if (drawPanel.hidden) { openDrawPanel(); } else { closeDrawPanel(true); }
  });
  drawClear.addEventListener("click", clearCanvas);
  drawSend.addEventListener("click", sendDrawing);
  drawClose.addEventListener("click", function () { closeDrawPanel(true); });
  window.addEventListener("resize", function () {
    if (!drawPanel.hidden && !pad.drawn) { prepareCanvas(); }
  });

  // --- events --------------------------------------------------------------------------------
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(input.value, pending);
  });

  input.addEventListener("compositionstart", function () { composing = true; });
  input.addEventListener("compositionend", function () { composing = false; });

  input.addEventListener("keydown", function (event) {
    // Enter that confirms a Hangul syllable must not send a half-typed message.
    // keyCode 229 covers Safari, which fires this keydown after compositionend.
    if (event.isComposing || event.keyCode === 229 || composing) { return; }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      send(input.value, pending);
    }
  });

  // Escape closes the drawing pad from anywhere (an open image viewer handles its own Escape first).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.isComposing || drawPanel.hidden || viewer.open) { return; }
    event.preventDefault();
    closeDrawPanel(drawPanel.contains(document.activeElement) || document.activeElement === document.body);
  });

  input.addEventListener("input", updateComposer);

  // A pasted picture becomes the attachment; pasted text (even with a picture of it, as
  // spreadsheets put on the clipboard) stays ordinary text.
  input.addEventListener("paste", function (event) {
    const data = event.clipboardData;
    if (!data || Array.from(data.types || []).indexOf("text/plain") !== -1) { return; }
    const file = firstImageFile(data);
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
    attachFile(firstImageFile(event.dataTransfer));
  });

  newChatButton.addEventListener("click", function () {
    if (busy) { return; }
    saveConversationId(null);
    clearMessages();
    clearPending();
    addMessage("bot", GREETING);
    input.focus();
  });

  updateComposer();
  loadHistory();
})();

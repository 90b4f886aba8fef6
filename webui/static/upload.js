// The file waiting to be sent from 한결's composer: a picture, or a CSV table for /forecast. It is chosen
// with the 📎 button (#attach, #file-input), dropped anywhere on the page or pasted into #input, checked
// here (kind and size, with a Korean reason when it cannot be sent) and shown in #attachment-preview
// until it is sent or taken off (×).
//
// Public (chat.js, which loads after this one, starts it once):
//   window.HangyeolUpload.start(hooks) -> upload  hooks: {problem(text), changed()}; problem(text) shows
//                            why a file cannot be sent (the typed text stays), changed() runs whenever the
//                            pending file comes or goes. Hooks rather than events: chat.js must see both
//                            at once, before the composer is used again.
//   upload.pending()         the file waiting to be sent: {file, kind: "image" | "table", url (images
//                            only)}, or null
//   upload.attach(file)      check a file and make it the pending one (a file with a problem is not kept)
//   upload.clear()           drop the pending file and let go of its preview's object URL
//   upload.take()            hand the pending file over, without a changed() call: an image's object URL
//                            now belongs to the user's bubble
(function () {
  "use strict";

  const MAX_FILE_BYTES = 10 * 1024 * 1024; // the server refuses larger pictures and tables
  // A table for /forecast: decided by the name's extension when it has one (Windows reports CSV as
  // application/vnd.ms-excel, as it does real Excel files), else by the MIME type (a pasted file).
  const TABLE_EXTENSIONS = ["csv", "tsv", "txt"];
  const TABLE_TYPES = ["text/csv", "text/tab-separated-values", "application/vnd.ms-excel", "text/plain",
    "application/csv", "text/comma-separated-values"];
  const SPREADSHEET_EXTENSIONS = ["xls", "xlsx", "xlsm", "ods", "numbers"];

  const list = document.getElementById("messages");
  const input = document.getElementById("input");
  const attachButton = document.getElementById("attach");
  const fileInput = document.getElementById("file-input");
  const preview = document.getElementById("attachment-preview");
  const previewImg = document.getElementById("attachment-preview-img");
  const previewName = document.getElementById("attachment-preview-name");
  const previewSize = document.getElementById("attachment-preview-size");
  const previewIcon = document.getElementById("attachment-preview-icon");
  const removeButton = document.getElementById("attachment-remove");
  const dropHint = document.getElementById("drop-hint");

  let pending = null; // the file waiting to be sent: { file, kind: "image" | "table", url (images only) }
  let hooks = null; // chat.js's, given to start()

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
    if (problem) { hooks.problem(problem); return; } // the typed text stays in the composer
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 8;
    clearPending();
    pending = { file: file, kind: kind, url: kind === "image" ? URL.createObjectURL(file) : null };
    const table = kind === "table";
    preview.classList.toggle("is-file", table);
    previewImg.hidden = table;
    previewIcon.hidden = !table;
    if (!table) { previewImg.src = pending.url; }
    previewName.textContent = file.name || (table ? "붙여 넣은 파일" : "붙여 넣은 이미지");
    previewSize.textContent = table ? window.HangyeolAttachments.formatBytes(file.size) : "";
    previewSize.hidden = !table;
    const label = table ? "첨부한 파일 빼기" : "첨부한 이미지 빼기";
    removeButton.setAttribute("aria-label", label);
    removeButton.title = label;
    preview.hidden = false;
    if (atBottom) { list.scrollTop = list.scrollHeight; } // the preview takes room: keep the newest message in view
    hooks.changed();
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
    hooks.changed();
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

  function listenForFiles() {
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
  }

  // Drag and drop anywhere on the page. dragenter/dragleave fire for every child crossed, so count them.
  function listenForDrops() {
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
  }

  // Nothing is listened to before chat.js starts this: it sends what is attached and shows the problems.
  function start(given) {
    hooks = given;
    listenForFiles();
    listenForDrops();
    return Object.freeze({
      pending: function () { return pending; },
      attach: attachFile,
      clear: clearPending,
      take: takePending,
    });
  }

  window.HangyeolUpload = Object.freeze({ start: start });
})();

// Attachments in 한결's chat bubbles: a picture (a thumbnail that opens the image viewer, #image-viewer),
// a table file (a download chip), an image classification (labels with bars) and a forecast (drawn by
// forecast.js). Pure drawing, with textContent only; a URL becomes an href only when it is http(s).
//
// Public (chat.js and upload.js, which load after this one, use it):
//   window.HangyeolAttachments.render(item, onImageLoad)  an element for one attachment {type, ...}, or
//                                      null for one the page cannot show; onImageLoad(event) runs when a
//                                      picture in it has loaded (it is drawn before its size is known)
//   window.HangyeolAttachments.isWide(item)       true for charts and forecasts: they get more of the row
//   window.HangyeolAttachments.formatBytes(bytes) "512 B", "1.5 KB", "2 MB", or "" for no number
//   window.HangyeolAttachments.swapImage(row, item, onSwapped)  in a user's row, the picture sent becomes
//                                      the server's copy {url, alt?} once that has loaded; then onSwapped()
//   window.HangyeolAttachments.swapFile(row, file, item)  in a user's row, the chip of the File sent
//                                      becomes a download link to the server's copy {url, name?, bytes?}
// They live here to keep chat.js about the conversation.
(function () {
  "use strict";


  const viewer = document.getElementById("image-viewer");
  const viewerImg = document.getElementById("image-viewer-img");
  const viewerCaption = document.getElementById("image-viewer-caption");
  const viewerOpen = document.getElementById("image-viewer-open");
  const viewerClose = document.getElementById("image-viewer-close");

  function renderAttachment(item, onImageLoad) {
    if (!item || typeof item !== "object") { return null; }
    if (item.type === "image" && typeof item.url === "string") { return renderImage(item, onImageLoad); }
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
    icon.appendChild(window.HangyeolIcons.svg(22, [["M6 2.8h8.2L19 7.6v13.6H6z M14 2.8v5h5", "1.8"],
                                                   ["M9 12.5h7M9 15.5h7M9 18.5h4", "1.6"]]));
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

  function renderImage(item, onImageLoad) {
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
    if (onImageLoad) { img.addEventListener("load", onImageLoad); }
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

  // After the reply, the user's bubble shows the server's copy of the picture sent once that has loaded
  // (no empty frame in between); then onSwapped() lets go of the local copy.
  function swapUploadImage(userRow, item, onSwapped) {
    if (!item || typeof item.url !== "string") { return; }
    const img = userRow.querySelector(".attachment-upload img");
    if (!img) { return; }
    const loader = new Image();
    loader.addEventListener("load", function () {
      img.src = item.url;
      if (item.alt) { img.alt = item.alt; }
      onSwapped();
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

  window.HangyeolAttachments = Object.freeze({
    render: renderAttachment,
    isWide: isWideAttachment,
    formatBytes: formatBytes,
    swapImage: swapUploadImage,
    swapFile: swapUploadFile,
  });
})();

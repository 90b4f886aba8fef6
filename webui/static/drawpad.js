// The digit drawing pad of 한결's chat page (#draw-panel): draw with a mouse, a finger or a pen on a
// white canvas, and send the picture to the image model as a PNG.
//
// Talks to chat.js only through its public interface (documented at the top of chat.js):
//   uses   window.HangyeolChat.sendPicture(file, prompt) / isBusy()
//   hears  "chat:busy" {busy} on document: 보내기 is disabled while a reply is loading
// The canvas cannot be drawn on with a keyboard; keyboard users attach a picture (📎) instead.
(function () {
  "use strict";

  const DRAWING_PROMPT = "이 숫자 뭐야?";
  const DRAW_HINT = "숫자 하나를 칸에 가득 차게 그려 주세요.";

  const drawToggle = document.getElementById("draw-toggle");
  const drawPanel = document.getElementById("draw-panel");
  const drawStatus = document.getElementById("draw-status");
  const canvas = document.getElementById("draw-canvas");
  const drawClear = document.getElementById("draw-clear");
  const drawSend = document.getElementById("draw-send");
  const drawClose = document.getElementById("draw-close");
  const viewer = document.getElementById("image-viewer");

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

  // The pad's own problems are said in the pad (its status line is live); the picture stays until it
  // has been handed to the conversation.
  function sendDrawing() {
    const c = window.HangyeolChat;
    if (!c || c.isBusy()) { return; }
    if (!pad.drawn) {
      drawStatus.textContent = "먼저 칸 안에 숫자를 그려 주세요.";
      return;
    }
    canvas.toBlob(function (blob) {
      if (!blob) { drawStatus.textContent = "그림을 이미지로 바꾸지 못했어요. 다시 그려 주세요."; return; }
      const file = new File([blob], "drawing.png", { type: "image/png" });
      if (!c.sendPicture(file, DRAWING_PROMPT)) { return; } // busy, or the typed text is too long
      clearCanvas();
      closeDrawPanel(false);
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

  // Escape closes the drawing pad from anywhere (an open image viewer handles its own Escape first).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.isComposing || drawPanel.hidden || viewer.open) { return; }
    event.preventDefault();
    closeDrawPanel(drawPanel.contains(document.activeElement) || document.activeElement === document.body);
  });

  document.addEventListener("chat:busy", function (event) {
    drawSend.disabled = Boolean(event.detail && event.detail.busy);
  });
})();

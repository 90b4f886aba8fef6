// Screen-reader announcements for 한결's chat page, through one visually hidden live region
// (#announcer, role=status, polite): "한결: <reply>" when an answer arrives, "알림: <problem>" when
// something went wrong, and the loading of earlier messages as the reader scrolls up a long
// conversation. It hears chat.js's "chat:reply", "chat:error" and "chat:older" events.
//
// Why not let #messages (role=log) speak for itself: a new row carries its time, chips and the 👍/👎
// buttons' names besides the answer, and it is added while the log is aria-busy, which screen readers
// treat differently (some drop the change altogether). Nor should the greeting or a reopened history
// be read out. So #messages is aria-live="off" and only what is new and worth hearing is said here.
(function () {
  "use strict";

  const region = document.getElementById("announcer");
  if (!region) { return; }
  const BOT_NAME = "한결";
  const MAX_CHARS = 500; // a long answer is read in full from the log; the announcement is its start
  let timer = 0;

  function shorten(text) {
    const chars = Array.from(String(text || "").trim());
    return chars.length > MAX_CHARS ? chars.slice(0, MAX_CHARS).join("") + "…" : chars.join("");
  }

  // Empty first, then the text a moment later: the same answer twice in a row is announced twice.
  function announce(text) {
    window.clearTimeout(timer);
    region.textContent = "";
    timer = window.setTimeout(function () { region.textContent = text; }, 60);
  }

  document.addEventListener("chat:reply", function (event) {
    const text = shorten(event.detail && event.detail.text);
    if (text) { announce(BOT_NAME + ": " + text); }
  });
  document.addEventListener("chat:error", function (event) {
    const text = shorten(event.detail && event.detail.message);
    if (text) { announce("알림: " + text); }
  });
  document.addEventListener("chat:older", function (event) {
    const detail = event.detail || {};
    if (detail.phase === "loading") { announce("이전 메시지를 불러오는 중이에요."); }
    else if (detail.phase === "loaded") {
      announce("이전 메시지 " + detail.count + "개를 불러왔어요." + (detail.first ? " 대화의 처음이에요." : ""));
    } else if (detail.phase === "failed") { announce("알림: " + shorten(detail.message)); }
  });
})();

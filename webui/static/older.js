// The earlier messages of the open conversation in 한결's chat. GET /api/conversations/<id> answers its
// latest messages (chat.js draws them) and a next_cursor for the page before; when the top of the
// conversation scrolls into view (edgewatch.js, on #messages, the scrolling box), that page is
// fetched and put above, and what the reader was looking at stays where it was on the screen. While it
// loads, a note at the top says so in its textContent; chat.js passes each step on for the announcer.
//
// Public: window.HangyeolOlder.start(options) -> older
//   options: list (#messages), drawRow(message) -> a row for a stored message, not yet in the page,
//            told({phase, count, first, message}) phase "loading", "loaded" (count rows; first: nothing is
//            older) or "failed" (message)
//   older.reset(conversationId, cursor)  the conversation's latest page is drawn (its next_cursor), or the
//                                        conversation was cleared (null, null): a page on its way is dropped
(function () {
  "use strict";

  const PAGE_SIZE = 50;
  const STARTS_BEFORE = "240px 0px 0px 0px"; // ask a little before the first row is in view

  function start(options) {
    const list = options.list;
    let conversationId = null;
    let cursor = null; // the page before the first row shown; null once the conversation's start is drawn
    let seq = 0;
    let loading = false;
    let note = null; // the row at the top that says a page is loading or failed

    const watcher = window.HangyeolEdgeWatch.create(list, STARTS_BEFORE, function () { load(); });

    // The first row below the note (a page too short to scroll asks for the one before by itself).
    function watch() {
      let first = list.firstElementChild;
      if (first && first === note) { first = first.nextElementSibling; }
      watcher.watch(cursor ? first : null);
    }

    // Changes above what the reader sees keep their distance from its bottom, so nothing on screen moves.
    function keepingView(change) {
      const fromBottom = list.scrollHeight - list.scrollTop;
      change();
      list.scrollTop = list.scrollHeight - fromBottom;
    }

    function showNote(text, retry) {
      keepingView(function () {
        if (!note) { note = document.createElement("div"); note.className = "older-note"; }
        note.textContent = text;
        if (retry) {
          const again = document.createElement("button");
          again.type = "button";
          again.className = "ghost-button older-retry";
          again.textContent = "다시 불러오기";
          again.addEventListener("click", load);
          note.append(" ", again);
        }
        if (note.parentNode !== list) { list.prepend(note); }
      });
    }

    function removeNote() {
      if (note && note.parentNode === list) { keepingView(function () { note.remove(); }); }
    }

    function fail(message) {
      loading = false;
      showNote(message || "이전 메시지를 불러오지 못했어요.", true);
      options.told({ phase: "failed", message: message || "이전 메시지를 불러오지 못했어요." });
    }

    async function load() {
      if (!cursor || loading) { return; }
      const mine = seq;
      loading = true;
      showNote("이전 메시지를 불러오는 중이에요…", false);
      options.told({ phase: "loading" });
      try {
        const url = "/api/conversations/" + encodeURIComponent(conversationId) + "?limit=" + PAGE_SIZE +
          "&cursor=" + encodeURIComponent(cursor);
        const response = await fetch(url, { headers: { "Accept": "application/json" } });
        const data = await response.json().catch(function () { return null; });
        if (mine !== seq) { return; }
        if (!response.ok || !data || !Array.isArray(data.messages)) {
          fail(data && data.error && data.error.message);
          return;
        }
        const rows = data.messages.map(options.drawRow);
        keepingView(function () {
          if (note) { note.remove(); }
          list.prepend.apply(list, rows);
        });
        cursor = data.next_cursor || null;
        loading = false;
        options.told({ phase: "loaded", count: rows.length, first: !cursor });
        watch();
      } catch (e) {
        if (mine === seq) { fail(null); }
      }
    }

    function reset(id, next) {
      seq += 1;
      loading = false;
      removeNote();
      conversationId = id || null;
      cursor = id ? next || null : null;
      watch();
    }

    return { reset: reset };
  }

  window.HangyeolOlder = Object.freeze({ start: start });
})();

// The pages of 한결's conversation list (대화 목록): GET /api/conversations answers a page at a time with a
// next_cursor, and the next page is fetched when the list's last item scrolls into view (edgewatch.js, on
// the list, which is the scrolling box). Loading is said in the panel's status line, its live region.
// conversations.js, which loads after this one, draws the first page and owns the list's items.
//
// Public: window.HangyeolConvPages.start(options) -> pager
//   options: listEl, renderItem(item) -> <li>, markCurrent(), setStatus(text, passing), isOpen()
//   pager.firstUrl()        the URL of the first page
//   pager.firstPage(data)   the first page arrived: true when the items of later pages should stay below it
//                           (more than one page is drawn; the last page's cursor still leads on from them)
//   pager.watch()           watch the list's current last item (call after anything changes the list)
//   pager.restart()         the next first page replaces the whole list (one shown is known to be gone)
(function () {
  "use strict";

  const PAGE_SIZE = 50;
  const NETWORK_ERROR = "서버에 연결할 수 없어요. 네트워크를 확인하고 다시 시도해 주세요.";
  const ENDS_BEFORE = "0px 0px 160px 0px"; // ask a little before the last item is fully in view

  function start(options) {
    const listEl = options.listEl;
    let nextCursor = null; // the page after the last one drawn; null at the end of the list
    let pages = 0; // pages drawn since the first page last replaced the list
    let seq = 0; // a next page that arrives after the first page was drawn again is dropped
    let loading = false;

    function url(cursor) {
      return "/api/conversations?limit=" + PAGE_SIZE + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
    }

    const watcher = window.HangyeolEdgeWatch.create(listEl, ENDS_BEFORE, function () { loadMore(); });

    function watch() { watcher.watch(nextCursor ? listEl.lastElementChild : null); }

    function stopLoading() {
      loading = false;
      listEl.removeAttribute("aria-busy");
    }

    function firstPage(data) {
      seq += 1;
      stopLoading();
      if (pages > 1) { return true; }
      nextCursor = data.next_cursor || null;
      pages = 1;
      return false;
    }

    // Appends the items not already shown (one may have moved up into the first page meanwhile).
    function append(conversations) {
      const shown = new Set(Array.from(listEl.children, function (li) { return li.dataset.id; }));
      const fresh = conversations.filter(function (c) { return !shown.has(c.id); }).map(options.renderItem);
      listEl.append.apply(listEl, fresh);
      options.markCurrent();
      return fresh.length;
    }

    async function loadMore() {
      if (!nextCursor || loading || !options.isOpen()) { return; }
      const mine = seq;
      let failed = true;
      loading = true;
      listEl.setAttribute("aria-busy", "true");
      options.setStatus("대화를 더 불러오는 중이에요…");
      try {
        const response = await fetch(url(nextCursor), { headers: { "Accept": "application/json" } });
        const data = await response.json().catch(function () { return null; });
        if (mine !== seq) { return; }
        if (!response.ok || !data || !Array.isArray(data.conversations)) {
          const problem = data && data.error && data.error.message;
          options.setStatus(problem || "대화를 더 불러오지 못했어요. 목록을 다시 내려 보세요.");
          return;
        }
        const added = append(data.conversations);
        nextCursor = data.next_cursor || null;
        pages += 1;
        failed = false;
        options.setStatus("대화 " + added + "개를 더 불러왔어요." + (nextCursor ? "" : " 마지막 대화까지 다 보여요."), true);
      } catch (e) {
        if (mine === seq) { options.setStatus(NETWORK_ERROR); }
      } finally {
        if (mine === seq) {
          stopLoading();
          // After a failure the next try waits for the reader to scroll, rather than asking again at once.
          if (failed) { listEl.addEventListener("scroll", watch, { once: true }); } else { watch(); }
        }
      }
    }

    return { firstUrl: function () { return url(null); }, firstPage: firstPage, watch: watch,
      restart: function () { pages = 0; } };
  }

  window.HangyeolConvPages = Object.freeze({ start: start });
})();

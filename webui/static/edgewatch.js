// Watches one element of a scrolling box and calls back when it comes into view (IntersectionObserver, with
// the box as its root): convpages.js watches the conversation list's last item, older.js the open
// conversation's first row. Without IntersectionObserver nothing is watched and the first page stays alone.
//
// Public: window.HangyeolEdgeWatch.create(root, margin, onVisible) -> watcher
//   margin: the root margin, so that the next page is asked for a little before the edge is reached
//   watcher.watch(target)  watch target (null: nothing) instead of the one before; observing anew reports
//                          at once, so a box too short to scroll calls back by itself
(function () {
  "use strict";

  function create(root, margin, onVisible) {
    const observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
      if (entries.some(function (entry) { return entry.isIntersecting; })) { onVisible(); }
    }, { root: root, rootMargin: margin }) : null;

    function watch(target) {
      if (!observer) { return; }
      observer.disconnect();
      if (target) { observer.observe(target); }
    }

    return { watch: watch };
  }

  window.HangyeolEdgeWatch = Object.freeze({ create: create });
})();

// One item of 한결's conversation list (대화 목록): its title, its time ("방금", "5분 전", "어제"...) and its
// rename and delete buttons. Pure drawing, with textContent only; conversations.js, which loads after
// this one, owns the list, the panel and the forms.
//
// Public: window.HangyeolConvItems
//   .render(item)         an <li class="conv-item"> for {id, title, updated_at}, with data-id and data-title
//   .titleOf(item)        its title, or UNTITLED when it has none
//   .UNTITLED             "제목 없는 대화"
//   .updateTimes(listEl)  redraws every relative time in the list ("방금" must not stay "방금")
//   .el(tag, props, ...children), .button(className, text)  the element builders the forms use too
(function () {
  "use strict";

  const UNTITLED = "제목 없는 대화";
  const PENCIL = "M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4";
  const TRASH = "M4 7h16M9 7V4.5h6V7M6.5 7l1 13h9l1-13M10 11v5.5M14 11v5.5";

  // A new element: properties the element has (className, type, textContent...) are set as properties,
  // others (aria-*, data-*) as attributes; children are nodes or strings (inserted as text).
  function el(tag, props) {
    const node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key in node) { node[key] = props[key]; } else { node.setAttribute(key, props[key]); }
    });
    Array.prototype.slice.call(arguments, 2).forEach(function (child) { node.append(child); });
    return node;
  }

  // --- times: "방금", "5분 전", "3시간 전", "어제", "3월 4일", "2023. 3. 4." --------------------------
  function shortTime(date, now) {
    const seconds = (now - date) / 1000;
    if (seconds < 60) { return "방금"; }
    if (seconds < 3600) { return Math.floor(seconds / 60) + "분 전"; }
    const day = function (d) { return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime(); };
    const days = Math.round((day(now) - day(date)) / 86400000);
    if (days <= 0) { return Math.floor(seconds / 3600) + "시간 전"; }
    if (days === 1) { return "어제"; }
    if (date.getFullYear() === now.getFullYear()) {
      return date.toLocaleDateString("ko-KR", { month: "long", day: "numeric" });
    }
    return date.toLocaleDateString("ko-KR", { year: "numeric", month: "numeric", day: "numeric" });
  }

  function timeElement(iso) {
    const date = new Date(iso);
    if (!iso || Number.isNaN(date.getTime())) { return el("time", { className: "conv-time" }); }
    return el("time", { className: "conv-time", dateTime: iso, title: date.toLocaleString("ko-KR") },
      shortTime(date, new Date()));
  }

  // conversations.js calls this every minute while the list is open.
  function updateTimes(listEl) {
    const now = new Date();
    listEl.querySelectorAll("time.conv-time[datetime]").forEach(function (time) {
      const date = new Date(time.dateTime);
      if (!Number.isNaN(date.getTime())) { time.textContent = shortTime(date, now); }
    });
  }

  // --- drawing an item --------------------------------------------------------------------------
  function titleOf(item) { return item.title && item.title.trim() ? item.title : UNTITLED; }

  function icon(path) { return window.HangyeolIcons.svg(18, [[path, "1.8"]]); }

  function button(className, text) {
    return el("button", { type: "button", className: className }, text || "");
  }

  function renderItem(item) {
    const title = titleOf(item);
    const li = el("li", { className: "conv-item", "data-id": item.id, "data-title": title },
      el("button", { type: "button", className: "conv-open", "data-action": "open" },
        el("span", { className: "conv-title" }, title), timeElement(item.updated_at)),
      el("div", { className: "conv-actions" },
        el("button", { type: "button", className: "conv-action", "data-action": "rename", title: "이름 바꾸기",
          "aria-label": "‘" + title + "’ 이름 바꾸기" }, icon(PENCIL)),
        el("button", { type: "button", className: "conv-action conv-action-delete", "data-action": "delete",
          title: "지우기", "aria-label": "‘" + title + "’ 지우기" }, icon(TRASH))));
    return li;
  }

  window.HangyeolConvItems = Object.freeze({
    render: renderItem,
    titleOf: titleOf,
    UNTITLED: UNTITLED,
    updateTimes: updateTimes,
    el: el,
    button: button,
  });
})();

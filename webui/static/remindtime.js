// Reminder times in Korean, in Asia/Seoul (the bot's timezone: "내일 오후 3시" meant Seoul's afternoon,
// so the panel shows the time the bot confirmed, wherever the browser is): "12월 8일 (화) 오후 3:00",
// with the year in front when it is not this year's ("2027년 1월 4일 (월) 오전 9:00").
//
// Public: window.HangyeolRemindTime
//   .format(iso, now)  that text for an ISO time (now: a Date, for "this year"); "" when iso is not a time
//   .ZONE              "Asia/Seoul"
(function () {
  "use strict";

  const ZONE = "Asia/Seoul";
  const PARTS = new Intl.DateTimeFormat("ko-KR", {
    timeZone: ZONE, year: "numeric", month: "numeric", day: "numeric", weekday: "short",
    hour: "numeric", minute: "2-digit", hour12: true,
  });

  function parts(date) {
    const found = {};
    PARTS.formatToParts(date).forEach(function (part) { found[part.type] = part.value; });
    return found;
  }

  function format(iso, now) {
    const date = new Date(iso);
    if (!iso || Number.isNaN(date.getTime())) { return ""; }
    const p = parts(date);
    const year = p.year !== parts(now || new Date()).year ? p.year + "년 " : "";
    const period = p.dayPeriod ? p.dayPeriod + " " : ""; // "오전" / "오후"
    return year + p.month + "월 " + p.day + "일 (" + p.weekday + ") " + period + p.hour + ":" + p.minute;
  }

  window.HangyeolRemindTime = Object.freeze({ format: format, ZONE: ZONE });
})();

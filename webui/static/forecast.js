// Forecast results in 한결's chat bubbles: the first steps of a /forecast reply as a table (the chart
// under it is an ordinary image attachment). Pure drawing, with textContent only.
//
// Public: window.HangyeolForecast.render(item) -> element, for an attachment
//   {type: "forecast", values: [...], dates?: [...], lower?: [...], upper?: [...], level?, model?}
// chat.js calls it; it lives here to keep chat.js about the conversation.
(function () {
  "use strict";

  const FORECAST_ROWS = 6; // the bubble shows the first steps; the chart shows them all
  const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/;

  // Labels for the first `count` steps: YYYY-MM for month starts, YYYY-MM-DD (with the time when
  // the steps are hours), or t+1, t+2... when the series had no dates.
  function forecastLabels(dates, count) {
    const labels = [];
    const parsed = Array.isArray(dates) ? dates.map(function (d) { return ISO_DATE.exec(String(d)); }) : [];
    if (parsed.length < count || parsed.slice(0, count).some(function (m) { return !m; })) {
      for (let i = 0; i < count; i += 1) { labels.push("t+" + (i + 1)); }
      return labels;
    }
    const valid = parsed.filter(Boolean);
    const timed = valid.some(function (m) { return (m[4] && m[4] !== "00") || (m[5] && m[5] !== "00"); });
    const monthly = !timed && valid.length > 1 && valid.every(function (m) { return m[3] === "01"; });
    for (let i = 0; i < count; i += 1) {
      const m = parsed[i];
      if (monthly) { labels.push(m[1] + "-" + m[2]); }
      else if (timed) { labels.push(m[1] + "-" + m[2] + "-" + m[3] + " " + (m[4] || "00") + ":" + (m[5] || "00")); }
      else { labels.push(m[1] + "-" + m[2] + "-" + m[3]); }
    }
    return labels;
  }

  // Four significant digits of the largest number shown, the same decimals on every row.
  function forecastFormatter(numbers) {
    const scale = numbers.reduce(function (max, n) { return Number.isFinite(n) ? Math.max(max, Math.abs(n)) : max; }, 0);
    const decimals = scale > 0 ? Math.min(6, Math.max(0, 3 - Math.floor(Math.log10(scale)))) : 0;
    return function (n) {
      if (!Number.isFinite(n)) { return "–"; }
      return n.toLocaleString("ko-KR", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    };
  }

  function numbersOf(list, length) {
    if (!Array.isArray(list) || list.length < length) { return null; }
    return list.slice(0, length).map(function (v) { return v === null || v === "" ? NaN : Number(v); });
  }

  function renderForecast(item) {
    const total = item.values.length;
    const count = Math.min(total, FORECAST_ROWS);
    const values = numbersOf(item.values, count);
    const lower = numbersOf(item.lower, count);
    const upper = numbersOf(item.upper, count);
    const interval = Boolean(lower && upper);
    const format = forecastFormatter(values.concat(interval ? lower.concat(upper) : []));
    const labels = forecastLabels(item.dates, count);

    const box = document.createElement("div");
    box.className = "forecast";

    const table = document.createElement("table");
    table.className = "forecast-table";
    const caption = document.createElement("caption");
    caption.textContent = total > count
      ? "예측값 (" + total.toLocaleString("ko-KR") + "개 중 처음 " + count + "개)"
      : "예측값 " + count + "개";
    table.appendChild(caption);

    const level = Number(item.level);
    const head = document.createElement("thead");
    const headRow = document.createElement("tr");
    const headings = ["시점", "예측값"];
    if (interval) {
      headings.push((level > 0 && level < 1 ? Math.round(level * 100) + "% " : "") + "구간");
    }
    headings.forEach(function (text) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      headRow.appendChild(th);
    });
    head.appendChild(headRow);
    table.appendChild(head);

    const body = document.createElement("tbody");
    for (let i = 0; i < count; i += 1) {
      const tr = document.createElement("tr");
      const when = document.createElement("th");
      when.scope = "row";
      when.textContent = labels[i];
      const value = document.createElement("td");
      value.className = "forecast-value";
      value.textContent = format(values[i]);
      tr.appendChild(when);
      tr.appendChild(value);
      if (interval) {
        const range = document.createElement("td");
        range.className = "forecast-interval";
        range.textContent = format(lower[i]) + " – " + format(upper[i]);
        tr.appendChild(range);
      }
      body.appendChild(tr);
    }
    table.appendChild(body);
    // The table scrolls inside its bubble on a narrow phone rather than widening the page; a scrolling
    // region must be reachable by keyboard, hence the tab stop and the name.
    const scroller = document.createElement("div");
    scroller.className = "forecast-scroll";
    scroller.tabIndex = 0;
    scroller.setAttribute("role", "region");
    scroller.setAttribute("aria-label", caption.textContent);
    scroller.appendChild(table);
    box.appendChild(scroller);

    if (item.model) {
      const model = document.createElement("p");
      model.className = "forecast-model";
      model.textContent = "모델: " + String(item.model);
      box.appendChild(model);
    }
    return box;
  }

  window.HangyeolForecast = Object.freeze({ render: renderForecast });
})();

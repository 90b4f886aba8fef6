// Line icons drawn as inline SVG, so no icon font or emoji font is needed: the one builder that
// feedback.js (thumbs), convitems.js (rename, delete) and attachments.js (a sent table) use.
//
// Public: window.HangyeolIcons
//   .svg(size, strokes, className)  an aria-hidden <svg> with a 24x24 viewBox drawn at `size` px; each
//                                   stroke is [pathData, strokeWidth], drawn in currentColor
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";

  function svg(size, strokes, className) {
    const root = document.createElementNS(SVG_NS, "svg");
    root.setAttribute("viewBox", "0 0 24 24");
    root.setAttribute("width", String(size));
    root.setAttribute("height", String(size));
    root.setAttribute("aria-hidden", "true");
    root.setAttribute("focusable", "false");
    if (className) { root.setAttribute("class", className); }
    strokes.forEach(function (stroke) {
      const path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", stroke[0]);
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", "currentColor");
      path.setAttribute("stroke-width", stroke[1]);
      path.setAttribute("stroke-linecap", "round");
      path.setAttribute("stroke-linejoin", "round");
      root.appendChild(path);
    });
    return root;
  }

  window.HangyeolIcons = Object.freeze({ svg: svg });
})();

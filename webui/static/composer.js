// The composer's keyboard (#input in #composer): Enter sends, Shift+Enter makes a new line, and no key
// does anything while a Hangul IME composition is active.
//
// Public (other scripts load after this one):
//   window.HangyeolComposer.isImeKey(event)    true for a keydown that belongs to an IME composition
//   window.HangyeolComposer.addKeyHandler(fn)  fn(event) sees every other keydown on #input before Enter
//                                              sends; returning true means "handled" (the / menu uses it)
// Sending goes through the form's submit event, which chat.js handles.
//
// Why three checks, and the one-tick guard after compositionend:
// - Chrome and Firefox send the Enter that confirms a syllable as a keydown with isComposing=true (and
//   keyCode 229), and compositionend comes after it. A handler that sends on that keydown reads the
//   value, clears the box, and then the IME commits the last syllable again into the empty box: the
//   well-known "last syllable duplicated" bug. event.isComposing catches it.
// - Safari fires compositionend first and then the keydown, with isComposing=false but keyCode 229;
//   some browser and IME pairs (Windows IMEs among them) send that Enter as a plain keyCode 13 keydown
//   right after compositionend. Such a keydown is still the key that confirmed the syllable, so an Enter
//   that arrives in the same task as compositionend (before a zero-delay timer can run) is ignored too.
// - `composing`, our own flag from compositionstart/compositionend, covers browsers that leave
//   isComposing unset on keydown altogether.
// The rule that results is the same in every browser: the Enter that confirms a syllable never sends;
// the next Enter sends the whole text, which by then holds the committed syllable exactly once.
(function () {
  "use strict";

  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  const handlers = [];
  let composing = false;
  let compositionJustEnded = false;

  function isImeKey(event) {
    return Boolean(event.isComposing || composing || compositionJustEnded || event.keyCode === 229);
  }

  function submit() {
    if (typeof form.requestSubmit === "function") { form.requestSubmit(); return; }
    form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true })); // Safari before 16
  }

  input.addEventListener("compositionstart", function () { composing = true; });
  input.addEventListener("compositionend", function () {
    composing = false;
    compositionJustEnded = true;
    window.setTimeout(function () { compositionJustEnded = false; }, 0);
  });

  input.addEventListener("keydown", function (event) {
    if (isImeKey(event)) { return; }
    for (let i = 0; i < handlers.length; i += 1) {
      if (handlers[i](event)) { return; }
    }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      submit();
    }
  });

  window.HangyeolComposer = Object.freeze({
    isImeKey: isImeKey,
    addKeyHandler: function (fn) { handlers.push(fn); },
  });
})();

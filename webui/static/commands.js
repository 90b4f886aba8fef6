// The "/" command menu of 한결's chat page. Typing "/" in the composer pops up, above it, the bot's
// commands (GET /api/commands: name, usage, Korean description), filtered by the name typed so far.
//
// The ARIA 1.2 combobox pattern: #input has role=combobox, aria-autocomplete=list and
// aria-controls=command-menu; this script keeps its aria-expanded and aria-activedescendant up to date.
// #command-menu is role=listbox, its items li.command-option role=option. Focus never leaves #input.
// Keys come through HangyeolComposer (composer.js), so none of them act during an IME composition:
//   ArrowDown / ArrowUp  move the highlight (wrapping); ArrowDown also reopens a closed menu
//   Enter or Tab         fill in "/name " and keep typing; nothing is sent. But Enter on a name typed
//                        in full ("/image" with /image highlighted) closes the menu and sends, as
//                        people who know the command expect (it needs no arguments, or says which)
//   Escape               close the menu; it stays closed until the text changes
// With the menu closed, Enter sends as usual. A click (or tap) on an option picks it too.
(function () {
  "use strict";

  const input = document.getElementById("input");
  const menu = document.getElementById("command-menu");
  const composer = window.HangyeolComposer;
  if (!input || !menu || !composer) { return; }

  const TYPED_NAME = /^\/(\S*)$/; // a slash and the start of a name: no space, no new line yet

  let commands = null; // [{name, usage, description}] once loaded
  let loading = null; // the request in flight
  let shown = []; // the commands listed now
  let active = -1; // index into shown of the highlighted option
  let dismissed = null; // the text at which Escape closed the menu

  function isCommand(item) {
    return Boolean(item) && typeof item.name === "string" && item.name !== "" &&
      typeof item.usage === "string" && typeof item.description === "string";
  }

  // Loaded once, on the first "/", so a page that never uses commands costs no request.
  // A failure leaves no menu; the next "/" typed asks again.
  function load() {
    if (commands || loading) { return; }
    loading = fetch("/api/commands", { headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        const list = data && Array.isArray(data.commands) ? data.commands.filter(isCommand) : [];
        commands = list.length ? list : null;
      })
      .catch(function () { commands = null; })
      .finally(function () { loading = null; refresh(); });
  }

  function typedName() {
    const match = TYPED_NAME.exec(input.value);
    return match ? match[1].toLowerCase() : null;
  }

  // Shows the commands that match the text, or closes the menu when nothing should show.
  function refresh() {
    const prefix = typedName();
    if (prefix === null || !commands || dismissed === input.value || document.activeElement !== input) {
      close();
      return;
    }
    const matches = commands.filter(function (c) { return c.name.toLowerCase().indexOf(prefix) === 0; });
    if (!matches.length) { close(); return; }
    const keep = active >= 0 && shown[active] ? shown[active].name : null;
    render(matches);
    const kept = matches.findIndex(function (c) { return c.name === keep; });
    highlight(kept >= 0 ? kept : 0);
  }

  function span(className, text) {
    const node = document.createElement("span");
    node.className = className;
    node.textContent = text;
    return node;
  }

  // "/forecast 숫자들 [h=기간]": the name in bold, what follows it (the arguments) in a quieter colour.
  function renderOption(item, index) {
    const li = document.createElement("li");
    li.id = "command-option-" + index;
    li.className = "command-option";
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", "false");
    li.dataset.index = String(index);
    const slashName = "/" + item.name;
    const args = item.usage.indexOf(slashName) === 0 ? item.usage.slice(slashName.length) : " " + item.usage;
    const usage = span("command-usage", "");
    usage.appendChild(span("command-name", slashName));
    if (args.trim()) { usage.appendChild(span("command-args", args)); }
    li.appendChild(usage);
    li.appendChild(span("command-description", item.description));
    return li;
  }

  function render(matches) {
    shown = matches;
    active = -1;
    menu.replaceChildren.apply(menu, matches.map(renderOption));
    menu.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function highlight(index) {
    const options = menu.querySelectorAll(".command-option");
    options.forEach(function (option, i) { option.setAttribute("aria-selected", String(i === index)); });
    active = index;
    const option = options[index];
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function close() {
    if (menu.hidden && !shown.length) { return; }
    menu.hidden = true;
    menu.replaceChildren();
    shown = [];
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  // Fills in "/name " with the caret after the space, ready for the arguments; never sends.
  function pick(index) {
    const item = shown[index];
    if (!item) { return; }
    input.value = "/" + item.name + " ";
    close();
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    input.dispatchEvent(new Event("input", { bubbles: true })); // chat.js resizes and enables 보내기
  }

  function onKey(event) {
    if (menu.hidden) {
      if (event.key !== "ArrowDown" || typedName() === null) { return false; }
      dismissed = null; // ArrowDown reopens a menu that Escape closed
      if (!commands) { load(); }
      refresh();
      if (menu.hidden) { return false; }
      event.preventDefault();
      return true;
    }
    const count = shown.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      highlight((active + (event.key === "ArrowDown" ? 1 : -1) + count) % count);
    } else if (event.key === "Enter" && !event.shiftKey && shown[active] &&
               input.value === "/" + shown[active].name) {
      close();
      return false; // the composer sends it
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey) {
      pick(active >= 0 ? active : 0);
    } else if (event.key === "Escape") {
      dismissed = input.value;
      close();
      event.stopPropagation(); // Escape here closes the menu only, not the drawing pad as well
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  composer.addKeyHandler(onKey);

  input.addEventListener("input", function () {
    if (dismissed !== null && dismissed !== input.value) { dismissed = null; }
    if (!commands && typedName() !== null) { load(); }
    refresh();
  });
  input.addEventListener("focus", refresh);
  input.addEventListener("blur", close);

  // mousedown would move focus out of the textarea (and the blur would close the menu before the click).
  menu.addEventListener("mousedown", function (event) { event.preventDefault(); });
  menu.addEventListener("click", function (event) {
    const option = event.target.closest(".command-option");
    if (option) { pick(Number(option.dataset.index)); }
  });
  menu.addEventListener("mousemove", function (event) {
    const option = event.target.closest(".command-option");
    if (option && Number(option.dataset.index) !== active) { highlight(Number(option.dataset.index)); }
  });
})();

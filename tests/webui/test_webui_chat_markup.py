"""The chat page's markup for the / command menu, the IME-safe composer and the announcements, and the
contract between the scripts that implement them (composer.js, commands.js, announce.js, chat.js, and
attachments.js and upload.js, which chat.js uses).

The behaviour itself (keys, focus, what is spoken) is exercised in a real Chromium by tests/e2e; these
tests pin what the server sends and what the scripts promise each other.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import webui

STATIC = Path(webui.__file__).parent / "static"


class Elements(HTMLParser):
    """Every start tag with an id: {id: (tag, {attribute: value})}."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, tuple[str, dict[str, str | None]]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.by_id[found["id"]] = (tag, found)


@pytest.fixture
def page(client) -> dict[str, tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(client.get("/").get_data(as_text=True))
    return parser.by_id


def script(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def test_the_composer_is_a_combobox_that_controls_the_command_listbox(page):
    tag, field = page["input"]
    assert tag == "textarea"
    assert field["role"] == "combobox" and field["aria-autocomplete"] == "list"
    assert field["aria-controls"] == "command-menu" and field["aria-expanded"] == "false"
    assert "aria-activedescendant" not in field  # set only while an option is highlighted
    tag, menu = page["command-menu"]
    assert tag == "ul" and menu["role"] == "listbox" and menu["aria-label"] == "명령어"
    assert "hidden" in menu  # closed until "/" is typed


def test_answers_are_announced_by_one_polite_region_and_the_log_is_not_live_twice(page):
    tag, announcer = page["announcer"]
    assert announcer["role"] == "status" and announcer["aria-live"] == "polite"
    assert announcer["aria-atomic"] == "true" and "visually-hidden" in announcer["class"]
    tag, log = page["messages"]
    assert log["role"] == "log" and log["aria-live"] == "off"  # else a screen reader hears each answer twice


def test_the_hint_mentions_the_command_menu(client):
    hint = re.search(r'<p id="composer-hint".*?</p>', client.get("/").get_data(as_text=True), re.S).group(0)
    assert "/ 명령어" in hint and "Shift+Enter 줄바꿈" in hint


def test_new_styles_and_scripts_are_linked_and_served(client):
    html = client.get("/").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/commands.css">' in html
    for name in ("composer.js", "commands.js", "announce.js", "forecast.js", "drawpad.js", "attachments.js",
                 "upload.js", "convitems.js", "commands.css"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        response.close()


def test_composer_guards_every_ime_case_before_any_key_handler():
    js = script("composer.js")
    guard = re.search(r"function isImeKey\(event\) \{\s*return (.*?);", js, re.S).group(1)
    for condition in ("event.isComposing", "composing", "compositionJustEnded", "event.keyCode === 229"):
        assert condition in guard, condition
    keydown = js[js.index('addEventListener("keydown"') :]
    assert keydown.index("isImeKey(event)") < keydown.index("handlers[i](event)") < keydown.index("submit()")
    # The one-task guard after compositionend: set there, cleared by a zero-delay timer.
    end = js[js.index('addEventListener("compositionend"') :]
    assert "compositionJustEnded = true" in end and "setTimeout" in end


def test_the_command_menu_uses_the_composer_hook_and_never_sends():
    js = script("commands.js")
    assert "composer.addKeyHandler(onKey)" in js
    assert 'fetch("/api/commands"' in js
    for key in ('"ArrowDown"', '"ArrowUp"', '"Enter"', '"Tab"', '"Escape"'):
        assert key in js, key
    for attribute in ('"aria-expanded"', '"aria-activedescendant"', '"aria-selected"', '"option"'):
        assert attribute in js, attribute
    assert '"command-option"' in js and '"command-option-"' in js
    assert "submit" not in js and "/api/chat" not in js  # picking fills the field; only Enter later sends
    assert 'input.value = "/" + item.name + " "' in js


def test_chat_js_left_the_keys_the_attachments_and_the_forecast_table_to_their_own_files():
    js = script("chat.js")
    assert 'input.addEventListener("keydown"' not in js  # one keydown handler on the field: composer.js's
    assert "compositionstart" not in js and "compositionend" not in js
    assert "function renderForecast" not in js and "HangyeolForecast" not in js
    assert "draw-canvas" not in js and "canvas" not in js  # the drawing pad is drawpad.js's
    assert 'emit("chat:reply"' in js and 'emit("chat:error"' in js
    assert "window.HangyeolForecast = Object.freeze({ render: renderForecast })" in script("forecast.js")
    # Bubbles' attachments and the image viewer are attachments.js's; it asks forecast.js for forecasts.
    assert "function renderImage" not in js and "image-viewer" not in js
    assert "attachmentView.render(item, scrollToBottomIfNear)" in js
    assert "window.HangyeolForecast.render(item)" in script("attachments.js")
    # The composer's file (📎, drop, paste, the preview) is upload.js's, started by chat.js with its hooks.
    for gone in ('"paste"', '"dragenter"', '"drop"', "attachment-preview", "file-input", "MAX_FILE_BYTES"):
        assert gone not in js, gone
    assert "window.HangyeolUpload.start({ problem: showError, changed: updateComposer })" in js


def test_upload_js_checks_files_and_reports_through_chat_js_hooks():
    js = script("upload.js")
    assert "const MAX_FILE_BYTES = 10 * 1024 * 1024;" in js  # as the server's limit
    for listened in ('input.addEventListener("paste"', 'document.addEventListener("dragenter"',
                     'document.addEventListener("drop"', 'fileInput.addEventListener("change"'):
        assert listened in js, listened
    start = js[js.index("function start(given)") :]
    assert start.index("hooks = given") < start.index("listenForFiles()")  # no file before chat.js is there
    assert "hooks.problem(problem)" in js and js.count("hooks.changed()") == 2
    assert "fetch(" not in js  # sending is chat.js's


@pytest.mark.parametrize("name", sorted(p.name for p in STATIC.glob("*.js")))
def test_every_script_writes_text_only_and_sets_no_style_attribute(name):
    js = script(name)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in js, sink
    assert not re.search(r"""setAttribute\(\s*["'](style|on)""", js), "the CSP forbids inline styles and handlers"


def test_long_words_wrap_and_wide_tables_scroll_inside_their_bubble():
    css = script("chat.css")
    bubble = re.search(r"\n\.bubble \{(.*?)\}", css, re.S).group(1)
    assert "overflow-wrap: anywhere" in bubble and "max-width: 100%" in bubble
    scroller = re.search(r"\.forecast-scroll \{(.*?)\}", css, re.S).group(1)
    assert "overflow-x: auto" in scroller and "max-width: 100%" in scroller
    forecast = script("forecast.js")
    assert 'scroller.className = "forecast-scroll"' in forecast and "scroller.tabIndex = 0" in forecast


def test_focus_is_visible_on_every_focusable_element():
    css = script("chat.css")
    rule = re.search(r"\n:focus-visible \{(.*?)\}", css, re.S).group(1)
    assert "outline: 2px solid var(--accent)" in rule and "box-shadow: 0 0 0 2px var(--surface)" in rule
    for sheet in STATIC.glob("*.css"):
        text = sheet.read_text(encoding="utf-8")
        # "outline: none" is allowed only on :focus (mouse) rules, never on a :focus-visible one.
        for selector in re.findall(r"([^{}]+)\{[^}]*outline:\s*(?:none|0)\b", text):
            assert ":focus-visible" not in selector, (sheet.name, selector.strip())

"""The / command menu, the IME guard around it and the spoken answers, in a real Chromium."""

from __future__ import annotations

from typing import Any

from tests.e2e.helpers import bot_rows, chat_posts, screenshot, send, wait_for_reply

MENU = "#command-menu"
OPTIONS = "#command-menu .command-option"


def state(page: Any) -> dict[str, Any]:
    """The combobox's ARIA state and what the menu shows."""
    return page.evaluate("""() => { const i = document.querySelector('#input');
        const m = document.querySelector('#command-menu');
        return {expanded: i.getAttribute('aria-expanded'), active: i.getAttribute('aria-activedescendant'),
                hidden: m.hidden, focus: document.activeElement.id, value: i.value,
                names: [...m.querySelectorAll('.command-name')].map(n => n.textContent),
                selected: [...m.querySelectorAll('[aria-selected=true]')].map(o => o.id)}; }""")


def test_slash_lists_the_commands_with_korean_descriptions(page: Any) -> None:
    page.click("#input")
    page.keyboard.type("/")
    page.wait_for_selector(f"{MENU}:not([hidden])")
    now = state(page)
    assert now["names"] == ["/forecast", "/help", "/image"]
    assert now["expanded"] == "true" and now["active"] == "command-option-0" == now["selected"][0]
    assert page.get_attribute(MENU, "role") == "listbox"
    assert all(role == "option" for role in page.eval_on_selector_all(OPTIONS, "os => os.map(o => o.role)"))
    help_text = page.locator(OPTIONS).nth(1).inner_text()
    assert "명령어" in help_text  # the description from chatbot.commands, in Korean
    assert "h=" in page.locator(OPTIONS).first.inner_text()  # /forecast's usage
    screenshot(page, "command-menu.png")


def test_arrows_move_and_enter_fills_the_command_without_sending(page: Any) -> None:
    sent = chat_posts(page)
    page.click("#input")
    page.keyboard.type("/")
    page.wait_for_selector(f"{MENU}:not([hidden])")
    page.keyboard.press("ArrowDown")
    assert state(page)["active"] == "command-option-1"
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")  # wraps to the last
    assert state(page)["active"] == "command-option-2"
    page.keyboard.press("Enter")
    now = state(page)
    assert now["value"] == "/image " and now["focus"] == "input"
    assert now["hidden"] and now["expanded"] == "false" and now["active"] is None
    page.wait_for_timeout(300)
    assert sent == []


def test_typing_filters_tab_picks_escape_closes_and_enter_then_sends(page: Any) -> None:
    sent = chat_posts(page)
    before = bot_rows(page)
    page.click("#input")
    page.keyboard.type("/he")
    page.wait_for_selector(f"{MENU}:not([hidden])")
    assert state(page)["names"] == ["/help"]
    page.keyboard.press("Tab")
    assert state(page)["value"] == "/help " and state(page)["focus"] == "input"
    page.fill("#input", "")
    page.keyboard.type("/help")
    page.wait_for_selector(f"{MENU}:not([hidden])")
    page.keyboard.press("Escape")
    assert state(page)["hidden"]
    page.keyboard.press("Enter")  # the menu is closed: Enter sends as always
    reply = wait_for_reply(page, before)
    assert sent == ["/help"]
    assert "명령어" in reply.inner_text()


def test_a_click_picks_and_keeps_focus_in_the_composer(page: Any) -> None:
    page.click("#input")
    page.keyboard.type("/f")
    page.wait_for_selector(f"{MENU}:not([hidden])")
    page.click(OPTIONS)
    now = state(page)
    assert now["value"] == "/forecast " and now["focus"] == "input" and now["hidden"]


def test_keys_of_an_ime_composition_never_drive_the_menu_or_send(page: Any) -> None:
    sent = chat_posts(page)
    page.click("#input")
    page.keyboard.type("/")
    page.wait_for_selector(f"{MENU}:not([hidden])")
    page.evaluate("""() => document.querySelector('#input').dispatchEvent(new KeyboardEvent('keydown',
        {key: 'ArrowDown', keyCode: 229, isComposing: true, bubbles: true, cancelable: true}))""")
    assert state(page)["active"] == "command-option-0"
    page.fill("#input", "")
    # An IME that sends the confirming Enter as a plain keydown right after compositionend: not a send.
    page.evaluate("""() => { const input = document.querySelector('#input');
        input.dispatchEvent(new CompositionEvent('compositionstart', {data: ''}));
        input.value = '안녕';
        input.dispatchEvent(new CompositionEvent('compositionend', {data: '녕'}));
        input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', keyCode: 13, bubbles: true,
                                                          cancelable: true})); }""")
    page.wait_for_timeout(300)
    assert sent == [] and page.input_value("#input") == "안녕"


def test_the_answer_is_spoken_once_through_the_announcer(page: Any) -> None:
    reply = send(page, "안녕하세요")
    text = reply.locator(".bubble").inner_text().strip()
    page.wait_for_function("t => document.querySelector('#announcer').textContent === '한결: ' + t", arg=text)
    assert page.get_attribute("#messages", "aria-live") == "off"  # the log does not say it a second time


def test_the_open_menu_fits_a_phone(browser: Any, live_server: Any) -> None:
    context = browser.new_context(locale="ko-KR", viewport={"width": 360, "height": 780}, is_mobile=True,
                                  has_touch=True)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        page.click("#input")
        page.keyboard.type("/")
        page.wait_for_selector(f"{MENU}:not([hidden])")
        box = page.locator(MENU).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["y"] >= 0
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
    finally:
        context.close()


def test_enter_on_a_name_typed_in_full_sends_it(page: Any) -> None:
    """Someone who knows the command types it whole: Enter sends it, even with the menu open."""
    sent = chat_posts(page)
    before = bot_rows(page)
    page.click("#input")
    page.keyboard.type("/help")
    page.wait_for_selector(f"{MENU}:not([hidden])")  # the menu is open, /help highlighted
    page.keyboard.press("Enter")
    reply = wait_for_reply(page, before)
    assert sent == ["/help"]
    assert "/forecast" in reply.inner_text()  # /help lists the commands
    assert page.is_hidden(MENU)

"""Layout and accessibility in a real Chromium: a phone-size page, keyboard-only use, visible focus,
contrast in both themes, announcements, and no request leaving the machine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.helpers import BOT_ROWS, log_in, screenshot, send

PHONE = {"width": 360, "height": 780}

# The WCAG 2.x contrast ratio of an element's text against the first opaque background behind it.
CONTRAST_JS = """el => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = ([r, g, b]) => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  let bg = null;
  for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c && c[3] >= 0.99) { bg = c; break; }
  }
  if (!bg) bg = parse(getComputedStyle(document.documentElement).backgroundColor) || [255, 255, 255, 1];
  if (bg[3] < 0.99) bg = [255, 255, 255, 1];
  const fg = parse(getComputedStyle(el).color);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""
# Every visible element with text of its own, except disabled controls (WCAG exempts them): its
# selector-ish name and contrast ratio, and whether the text is large (24 px, or 18.66 px bold).
ALL_TEXT_JS = """() => [...document.querySelectorAll('body *')].filter(el => {
    if (el.closest('[disabled], [hidden], [aria-hidden=true]')) return false;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    return own && box.width > 0 && box.height > 0 && getComputedStyle(el).visibility === 'visible';
  }).map(el => { const s = getComputedStyle(el); const size = parseFloat(s.fontSize);
    const classes = typeof el.className === 'string' && el.className.trim()
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    return {name: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + classes,
            text: el.textContent.trim().slice(0, 24), ratio: (%s)(el),
            large: size >= 24 || (size >= 18.66 && parseInt(s.fontWeight) >= 700)}; })"""


# Text that must pass AA for normal-size text (4.5:1) in both themes.
TEXT_SELECTORS = [".app-title h1", ".subtitle", ".row-user .bubble", ".row-bot .bubble", ".row .time",
                  ".composer-hint", "#input", "#send", "#new-chat", ".chip"]


def overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the window (0: no horizontal scrolling)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_layout_has_no_horizontal_overflow(browser: Any, live_server: Any, scheme: str) -> None:
    context = browser.new_context(locale="ko-KR", viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        send(page, "안녕하세요 반가워요")
        send(page, "https://example.invalid/" + "아주긴주소" * 30)
        send(page, "/forecast 3 5 4 6 8 7 9 11 10 12 h=3")
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        assert overflow(page) <= 0
        screenshot(page, f"chat-phone-{scheme}.png")
        # The conversation list is a drawer on a phone: closed at first, opened by its button.
        assert page.locator("#conversation-panel").is_hidden()
        page.click("#conversations-toggle")
        page.wait_for_selector("#conversation-panel:not([hidden])")
        assert overflow(page) <= 0
        screenshot(page, f"conversations-phone-{scheme}.png")
    finally:
        context.close()


@pytest.fixture(params=["light", "dark"])
def themed_page(request: Any, browser: Any, live_server: Any) -> Iterator[Any]:
    """The chat page in a desktop-size window, in the light or the dark theme (``page.scheme``)."""
    context = browser.new_context(locale="ko-KR", viewport={"width": 1100, "height": 800},
                                  color_scheme=request.param)
    page = context.new_page()
    page.scheme = request.param
    page.goto(live_server.url + "/")
    yield page
    context.close()


def test_text_contrast_passes_wcag_aa(themed_page: Any) -> None:
    page, scheme = themed_page, themed_page.scheme
    send(page, "안녕하세욯ㅎ")
    send(page, "오늘 넘 피곤하다ㅠㅠ")
    send(page, "양자역학 슈뢰딩거 방정식 풀어줘")  # out of domain: a fallback reply, which offers chips
    dark_page = page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches")
    assert dark_page == (scheme == "dark")
    ratios = {}
    for selector in TEXT_SELECTORS:
        element = page.locator(selector).first
        if element.count():
            ratios[selector] = round(element.evaluate(CONTRAST_JS), 2)
    assert set(ratios) == set(TEXT_SELECTORS), ratios
    failing = {s: r for s, r in ratios.items() if r < 4.5}
    assert not failing, f"{scheme}: below 4.5:1: {failing}"
    screenshot(page, f"chat-desktop-{scheme}.png")


def low_contrast(page: Any) -> list[dict[str, Any]]:
    """Text on the page below WCAG AA: 4.5:1, or 3:1 for large text."""
    found = page.evaluate(ALL_TEXT_JS % CONTRAST_JS)
    assert found
    return [item for item in found if item["ratio"] < (3.0 if item["large"] else 4.5)]


def test_every_text_on_every_page_passes_wcag_aa(themed_page: Any, live_server: Any) -> None:
    page = themed_page
    send(page, "양자역학 슈뢰딩거 방정식 풀어줘")
    failures = {"/": low_contrast(page)}
    for path in ("/login", "/register"):
        page.goto(live_server.url + path)
        failures[path] = low_contrast(page)
    log_in(page, live_server.url, *live_server.add_user(f"대비보는트레이너{page.scheme}", role="trainer"))
    for path in ("/trainer", "/trainer/feedback", "/account"):
        page.goto(live_server.url + path)
        failures[path] = low_contrast(page)
    assert not any(failures.values()), {k: v for k, v in failures.items() if v}


def tab_order(page: Any, presses: int) -> list[dict[str, Any]]:
    """Press Tab ``presses`` times from the top and describe each focused element."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    seen = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
            return {id: e.id, tag: e.tagName, text: (e.innerText || e.value || '').slice(0, 20),
                    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1,
                    shadow: s.boxShadow !== 'none'}; }"""))
    return seen


def test_keyboard_alone_reaches_every_control_with_visible_focus(page: Any) -> None:
    order = tab_order(page, 14)
    ids = [item["id"] for item in order]
    for needed in ("conversations-toggle", "new-chat", "messages", "attach", "draw-toggle", "input"):
        assert needed in ids, ids
    # Past the last control, focus leaves the page (the body): that is the browser's, not a control.
    invisible = [item for item in order if item["tag"] != "BODY" and not (item["outline"] or item["shadow"])]
    assert not invisible, f"focus not visible on {invisible}"

    # Chat with the keyboard only: type, Enter, then Tab to the reply's feedback buttons and rate it.
    page.focus("#input")
    page.keyboard.type("고마워요")
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.querySelector('.row.typing') && "
                           "document.querySelectorAll('.row-user').length >= 1")
    rate = page.locator(BOT_ROWS).last.locator(".feedback-button").first
    rate.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("b => b.getAttribute('aria-pressed') === 'true'", arg=rate.element_handle())

    # On a phone the conversation list is a drawer: it opens and closes from the keyboard, focus
    # moves into it, and comes back to its button. (On a wide window it is docked and open.)
    page.set_viewport_size(PHONE)
    page.wait_for_selector("#conversation-panel", state="hidden")
    page.focus("#conversations-toggle")
    page.keyboard.press("Enter")
    page.wait_for_selector("#conversation-panel:not([hidden])")
    assert page.evaluate("() => document.querySelector('#conversation-panel').contains(document.activeElement)")
    page.keyboard.press("Escape")
    page.wait_for_selector("#conversation-panel", state="hidden")
    assert page.evaluate("() => document.activeElement.id") == "conversations-toggle"


def test_new_messages_are_announced_in_a_live_region(page: Any) -> None:
    """The reply's words reach the polite live region (#announcer); the log itself stays quiet, so a
    screen reader does not read each answer twice."""
    assert page.get_attribute("#announcer", "aria-live") == "polite"
    assert page.get_attribute("#messages", "aria-live") == "off"
    reply = send(page, "오늘 날씨 어때")
    text = reply.locator(".bubble").inner_text().strip()
    page.wait_for_function("t => document.querySelector('#announcer').textContent.includes(t)", arg=text[:20])
    assert page.inner_text("#announcer").startswith("한결")


def test_page_loads_nothing_from_outside_the_server(browser: Any, live_server: Any) -> None:
    context = browser.new_context(locale="ko-KR")
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        send(page, "안녕")
        page.goto(live_server.url + "/login")
        page.goto(live_server.url + "/register")
    finally:
        context.close()
    own = urlsplit(live_server.url).netloc
    outside = [u for u in requests if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != own]
    assert requests and not outside, outside

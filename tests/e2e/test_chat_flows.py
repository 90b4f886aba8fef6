"""Chat flows in a real Chromium: send and receive, the Hangul IME, pictures, the drawing pad, forecasts."""

from __future__ import annotations

import io
from typing import Any

from tests.conftest import draw_digit
from tests.e2e.helpers import bot_rows, chat_posts, wait_for_reply


def test_send_and_receive_shows_both_bubbles_with_times(page: Any) -> None:
    sent = chat_posts(page)
    before = bot_rows(page)
    page.fill("#input", "안녕하세요")
    page.press("#input", "Enter")
    reply = wait_for_reply(page, before)
    assert page.locator(".row-user .bubble").last.inner_text() == "안녕하세요"
    assert reply.locator(".bubble").inner_text().strip()
    assert reply.locator("time.time").get_attribute("datetime")
    assert sent == ["안녕하세요"]
    assert page.input_value("#input") == ""
    assert page.errors == []


def test_shift_enter_makes_a_new_line_and_does_not_send(page: Any) -> None:
    sent = chat_posts(page)
    before = bot_rows(page)
    page.click("#input")
    page.keyboard.type("첫 줄")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("둘째 줄")
    assert page.input_value("#input") == "첫 줄\n둘째 줄"
    page.keyboard.press("Enter")
    wait_for_reply(page, before)
    assert sent == ["첫 줄\n둘째 줄"]


def test_ime_composition_enter_sends_once_with_the_last_syllable(page: Any) -> None:
    """A real IME composition through Chromium's input pipeline (CDP Input.imeSetComposition): the
    Enter that confirms the last syllable must not send; the next Enter sends the whole text once."""
    sent = chat_posts(page)
    before = bot_rows(page)
    page.click("#input")
    cdp = page.context.new_cdp_session(page)
    page.keyboard.insert_text("날씨 어때")
    for partial in ("ㅇ", "요"):  # composing the last syllable: ㅇ, then 요
        cdp.send("Input.imeSetComposition", {"text": partial, "selectionStart": 1, "selectionEnd": 1})
    # The keydown that arrives while the syllable is still being composed (isComposing, keyCode 229).
    page.evaluate("""() => document.querySelector('#input').dispatchEvent(new KeyboardEvent('keydown',
        {key: 'Enter', code: 'Enter', keyCode: 229, isComposing: true, bubbles: true, cancelable: true}))""")
    cdp.send("Input.insertText", {"text": "요"})  # commits the composition (compositionend)
    page.wait_for_timeout(300)
    assert sent == []
    assert page.input_value("#input") == "날씨 어때요"
    page.keyboard.press("Enter")
    wait_for_reply(page, before)
    assert sent == ["날씨 어때요"]
    assert page.locator(".row-user .bubble").last.inner_text() == "날씨 어때요"


def test_synthetic_composition_events_never_send_a_half_typed_message(page: Any) -> None:
    """The event order of the IMEs that report composition with keydown events (Chrome on Windows,
    macOS Safari): compositionstart, keydown Enter while composing, compositionend; nothing is sent."""
    sent = chat_posts(page)
    before = bot_rows(page)
    page.evaluate("""() => {
        const input = document.querySelector('#input');
        input.focus();
        input.dispatchEvent(new CompositionEvent('compositionstart', {data: ''}));
        input.value = '고마워';
        input.dispatchEvent(new InputEvent('input', {data: '워', isComposing: true,
                                                     inputType: 'insertCompositionText'}));
        input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', isComposing: true, bubbles: true,
                                                          cancelable: true}));
        input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true}));
        input.dispatchEvent(new CompositionEvent('compositionend', {data: '워'}));
    }""")
    page.wait_for_timeout(300)
    assert sent == []
    assert page.input_value("#input") == "고마워"
    page.keyboard.press("Enter")
    wait_for_reply(page, before)
    assert sent == ["고마워"]


def picture(digit: int) -> bytes:
    buffer = io.BytesIO()
    draw_digit(digit).save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_upload_previews_then_classifies(page: Any) -> None:
    before = bot_rows(page)
    page.set_input_files("#file-input", files=[{"name": "seven.png", "mimeType": "image/png", "buffer": picture(7)}])
    page.wait_for_selector("#attachment-preview:not([hidden])")
    assert page.locator("#attachment-preview-img").get_attribute("src").startswith("blob:")
    page.fill("#input", "/image")
    page.press("#input", "Enter")
    reply = wait_for_reply(page, before)
    labels = reply.locator(".classification .class-label")
    assert labels.count() >= 1
    assert "7" in labels.first.inner_text()
    assert page.locator(".row-user img").count() == 1  # the user's picture is shown in their bubble
    assert page.locator("#attachment-preview").is_hidden()


def test_drawing_pad_sends_the_drawn_digit(page: Any) -> None:
    before = bot_rows(page)
    page.click("#draw-toggle")
    canvas = page.locator("#draw-canvas")
    canvas.wait_for(state="visible")
    box = canvas.bounding_box()
    # A "1": one thick vertical stroke down the middle.
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x, box["y"] + box["height"] * (0.15 + 0.7 * step / 20))
    page.mouse.up()
    page.click("#draw-send")
    reply = wait_for_reply(page, before)
    assert reply.locator(".classification .class-label").count() >= 1
    assert page.locator(".row-user img").count() == 1
    assert page.errors == []


def test_forecast_chart_appears_inline_and_enlarges(page: Any) -> None:
    before = bot_rows(page)
    page.fill("#input", "/forecast 10 12 14 13 15 17 16 18 20 19 21 23 h=4")
    page.press("#input", "Enter")
    reply = wait_for_reply(page, before)
    chart = reply.locator(".attachment-image img")
    chart.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=chart.element_handle())
    assert reply.locator(".forecast-table tbody tr").count() == 4
    reply.locator(".image-button").first.click()
    page.wait_for_selector("#image-viewer[open]")
    assert page.locator("#image-viewer-img").get_attribute("src")
    page.keyboard.press("Escape")
    page.wait_for_selector("#image-viewer:not([open])", state="attached")


def test_typing_indicator_shows_while_the_bot_answers(page: Any) -> None:
    page.evaluate("""() => { window.__typingSeen = false;
        new MutationObserver(() => { if (document.querySelector('.row.typing')) window.__typingSeen = true; })
            .observe(document.querySelector('#messages'), {childList: true, subtree: true}); }""")
    before = bot_rows(page)
    page.fill("#input", "배고파")
    page.press("#input", "Enter")
    wait_for_reply(page, before)
    assert page.evaluate("() => window.__typingSeen") is True
    assert page.locator(".row.typing").count() == 0


def test_quick_reply_chips_send_their_text(page: Any) -> None:
    before = bot_rows(page)
    page.fill("#input", "ㅁㄴㅇㄹ 퀀텀 블록체인 주식 전망")  # out of domain: the bot offers what it can do
    page.press("#input", "Enter")
    reply = wait_for_reply(page, before)
    chips = reply.locator(".chip")
    assert chips.count() >= 1
    label = chips.first.inner_text().strip()
    sent = chat_posts(page)
    chips.first.click()
    wait_for_reply(page, before + 1)
    assert sent == [label]


DROP_OR_PASTE_JS = """async ([kind, digit]) => {
  const canvas = document.createElement('canvas'); canvas.width = canvas.height = 280;
  const g = canvas.getContext('2d'); g.fillStyle = 'white'; g.fillRect(0, 0, 280, 280);
  g.fillStyle = 'black'; g.font = 'bold 220px sans-serif'; g.textAlign = 'center'; g.textBaseline = 'middle';
  g.fillText(String(digit), 140, 150);
  const blob = await new Promise(r => canvas.toBlob(r, 'image/png'));
  const data = new DataTransfer(); data.items.add(new File([blob], 'digit.png', {type: 'image/png'}));
  if (kind === 'paste') {
    document.querySelector('#input').dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true,
                                                                               cancelable: true}));
  } else {
    for (const type of ['dragenter', 'dragover', 'drop']) {
      document.querySelector('#messages').dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true,
                                                                            cancelable: true}));
    }
  }
}"""


def test_an_image_can_be_dropped_or_pasted_then_enlarged(page: Any) -> None:
    for kind in ("drop", "paste"):
        page.evaluate(DROP_OR_PASTE_JS, [kind, 4])
        page.wait_for_selector("#attachment-preview:not([hidden])")
        assert page.inner_text("#attachment-preview-name") == "digit.png"
        before = bot_rows(page)
        page.click("#send")
        reply = wait_for_reply(page, before)
        assert reply.locator(".classification .class-label").count() >= 1
    # The bot's Grad-CAM picture opens in the viewer, and Escape closes it.
    reply.locator(".image-button").last.click()
    page.wait_for_selector("#image-viewer[open]")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('#image-viewer').open")


def test_new_conversation_button_starts_over(page: Any) -> None:
    before = bot_rows(page)
    page.fill("#input", "안녕")
    page.press("#input", "Enter")
    wait_for_reply(page, before)
    first = page.evaluate("() => window.HangyeolChat.currentConversationId()")
    page.click("#new-chat")
    page.wait_for_function("() => document.querySelectorAll('.row-user').length === 0")
    assert page.evaluate("() => window.HangyeolChat.currentConversationId()") != first

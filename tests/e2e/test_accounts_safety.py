"""Accounts and safety in a real Chromium: history after a reload, isolation between users, XSS as text."""

from __future__ import annotations

from typing import Any

from tests.e2e.helpers import BOT_ROWS, log_in, send


def conversation_titles(page: Any) -> list[str]:
    """The titles in the conversation panel, opened if it is closed."""
    if page.get_attribute("#conversations-toggle", "aria-expanded") != "true":
        page.click("#conversations-toggle")
    page.wait_for_selector("#conversation-panel:not([hidden])")
    page.wait_for_function("() => !document.querySelector('#conv-status').textContent.includes('불러오')")
    return [t.strip() for t in page.locator("#conversation-list .conv-title").all_inner_texts()]


def test_history_survives_a_reload_and_a_new_browser(context: Any, browser: Any, live_server: Any) -> None:
    username, password = live_server.add_user("기억하는사람")
    page = context.new_page()
    log_in(page, live_server.url, username, password)
    send(page, "떡볶이 먹고 싶다")
    page.reload()
    page.wait_for_selector(".row-user .bubble")
    assert "떡볶이 먹고 싶다" in page.locator(".row-user .bubble").all_inner_texts()
    assert page.locator(BOT_ROWS).count() == 1  # the stored reply (the greeting is not stored)

    other_browser = browser.new_context(locale="ko-KR")
    try:
        elsewhere = other_browser.new_page()
        log_in(elsewhere, live_server.url, username, password)
        assert any("떡볶이" in title for title in conversation_titles(elsewhere))
    finally:
        other_browser.close()


def test_another_user_cannot_see_or_open_the_conversation(browser: Any, live_server: Any) -> None:
    owner = live_server.add_user("비밀일기주인")
    stranger = live_server.add_user("지나가던사람")
    first, second = browser.new_context(locale="ko-KR"), browser.new_context(locale="ko-KR")
    try:
        page = first.new_page()
        log_in(page, live_server.url, *owner)
        send(page, "내 비밀 일기장 이야기")
        conversation_id = page.evaluate("() => window.HangyeolChat.currentConversationId()")
        assert conversation_id

        other = second.new_page()
        log_in(other, live_server.url, *stranger)
        assert not any("비밀 일기장" in title for title in conversation_titles(other))
        status = other.evaluate("async id => (await fetch('/api/conversations/' + id)).status", conversation_id)
        assert status == 404
        # Even when the stranger's page is told to continue that conversation, the server refuses it.
        other.evaluate("id => localStorage.setItem('hangyeol.conversationId', id)", conversation_id)
        other.reload()
        other.wait_for_selector(BOT_ROWS)
        assert "비밀 일기장" not in other.inner_text("#messages")
    finally:
        first.close()
        second.close()


def test_xss_payloads_are_shown_as_text(page: Any) -> None:
    payloads = ['<img src=x onerror="window.__pwned=1">', "<script>window.__pwned=2</script>",
                '"><svg onload="window.__pwned=3">']
    for payload in payloads:
        send(page, payload)
    shown = page.locator(".row-user .bubble").all_inner_texts()
    assert shown[-3:] == payloads
    assert page.locator("#messages img, #messages script, #messages svg[onload]").count() == 0
    page.reload()  # stored history is rendered as text too
    page.wait_for_selector(".row-user .bubble")
    assert page.locator(".row-user .bubble").all_inner_texts()[-3:] == payloads
    assert page.evaluate("() => window.__pwned") is None

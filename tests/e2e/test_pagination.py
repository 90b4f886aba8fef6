"""Paging in a real Chromium: the conversation list fetches its next pages as its end scrolls into view, and
a long conversation fetches its earlier messages as its top does, keeping the reader's place."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tests.e2e.helpers import log_in, send

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
ITEMS = "#conversation-list .conv-item"


def seed(live_server: Any, username: str, conversations: int, messages: int = 0) -> list[str]:
    """``conversations`` conversations for ``username`` ("대화 000" the oldest), and ``messages`` messages
    ("말 000" the first) in the newest one; their ids, newest first."""
    from sqlalchemy import insert, select

    from webui.extensions import db
    from webui.tables import Conversation, StoredMessage, User, new_conversation_id

    with live_server.app.app_context():
        user_id = db.session.execute(select(User.id).where(User.username == username)).scalar_one()
        rows = [{"id": new_conversation_id(), "user_id": user_id, "title": f"대화 {n:03d}", "created_at": START,
                 "updated_at": START + timedelta(minutes=n)} for n in range(conversations)]
        db.session.execute(insert(Conversation), rows)
        if messages:
            db.session.execute(insert(StoredMessage), [
                {"conversation_id": rows[-1]["id"], "role": "user" if n % 2 == 0 else "bot", "text": f"말 {n:03d}",
                 "created_at": START} for n in range(messages)])
        db.session.commit()
    return [row["id"] for row in reversed(rows)]


def test_scrolling_the_list_to_its_end_brings_the_250th_conversation(context: Any, live_server: Any) -> None:
    username, password = live_server.add_user("대화부자")
    newest_first = seed(live_server, username, 250)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    pages: list[str] = []
    page.on("request", lambda r: pages.append(r.url) if "/api/conversations?" in r.url else None)
    log_in(page, live_server.url, username, password)
    page.wait_for_selector("#conversation-panel:not([hidden])")  # a wide window opens the list beside the chat
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length >= n", arg=[ITEMS, 50])
    assert page.locator(ITEMS).first.locator(".conv-title").inner_text() == "대화 249"
    assert page.get_by_text("대화 000", exact=True).count() == 0  # the first page is not the whole list

    for _ in range(10):  # four more pages of 50: each scroll to the end brings the next
        if page.get_by_text("대화 000", exact=True).count():
            break
        shown = page.locator(ITEMS).count()
        page.eval_on_selector("#conversation-list", "list => { list.scrollTop = list.scrollHeight; }")
        page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n", arg=[ITEMS, shown])
    oldest = page.get_by_text("대화 000", exact=True)
    oldest.scroll_into_view_if_needed()
    assert oldest.is_visible()
    ids = page.eval_on_selector_all(ITEMS, "items => items.map(li => li.dataset.id)")
    assert ids == newest_first  # all 250, once each, newest first
    page.wait_for_function("() => document.querySelector('#conv-status').textContent.includes('마지막 대화')")
    assert len(pages) == 5 and not errors, (pages, errors)

    # A reply redraws the first page and keeps the 200 below it: a new conversation joins at the top, and
    # one from far down that gets a message moves up instead of showing twice.
    send(page, "새 이야기를 해요")
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length === n", arg=[ITEMS, 251])
    assert page.eval_on_selector_all(ITEMS, "items => items.map(li => li.dataset.id)")[1:] == newest_first
    page.get_by_text("대화 100", exact=True).click()
    page.wait_for_function("() => window.HangyeolChat && !window.HangyeolChat.isBusy()")
    send(page, "다시 이어서 말해요")
    page.wait_for_function("sel => document.querySelector(sel + ' .conv-title').textContent === '대화 100'", arg=ITEMS)
    ids = page.eval_on_selector_all(ITEMS, "items => items.map(li => li.dataset.id)")
    assert len(ids) == len(set(ids)) == 251 and ids[0] == newest_first[149]

    # One deleted elsewhere, then opened from far down the list: the list starts again from its first page.
    gone = ids[220]
    deleted = "async id => (await fetch('/api/conversations/' + id, {method: 'DELETE'})).status"
    assert page.evaluate(deleted, gone) == 200
    page.locator(f'{ITEMS}[data-id="{gone}"] .conv-open').click()
    page.wait_for_function("id => !document.querySelector(`[data-id='${id}']`)", arg=gone)
    assert page.locator(ITEMS).count() < 251


TOP_OF_070 = """list => {
    const bubble = Array.from(list.querySelectorAll('.bubble')).find(b => b.textContent === '말 070');
    return bubble.getBoundingClientRect().top - list.getBoundingClientRect().top;
}"""


def test_scrolling_up_a_long_conversation_brings_earlier_messages_in_place(context: Any, live_server: Any) -> None:
    username, password = live_server.add_user("수다쟁이")
    seed(live_server, username, 1, messages=120)
    page = context.new_page()
    log_in(page, live_server.url, username, password)
    page.click(f"{ITEMS} .conv-open")
    page.wait_for_selector(".row-user .bubble:text-is('말 118')")
    assert page.locator("#messages .bubble").count() == 50  # the latest page: 말 070 to 말 119
    assert page.locator("#messages .bubble").first.inner_text() == "말 070"

    before = page.eval_on_selector("#messages", f"list => {{ list.scrollTop = 0; return ({TOP_OF_070})(list); }}")
    page.wait_for_function("() => document.querySelectorAll('#messages .bubble').length === 100")
    page.wait_for_function("() => document.querySelector('#announcer').textContent.includes('이전 메시지 50개')")
    # The row the reader saw at the top stays where it was, with the earlier page above it.
    assert abs(page.eval_on_selector("#messages", TOP_OF_070) - before) <= 2
    assert page.eval_on_selector("#messages", "list => list.scrollTop") > 500

    page.eval_on_selector("#messages", "list => { list.scrollTop = 0; }")
    page.wait_for_function("() => document.querySelectorAll('#messages .bubble').length === 120")
    assert page.locator("#messages .bubble").all_inner_texts() == [f"말 {n:03d}" for n in range(120)]
    page.wait_for_function("() => document.querySelector('#announcer').textContent.includes('대화의 처음이에요')")
    assert not page.locator(".older-note").count()

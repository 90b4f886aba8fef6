"""The reminder panel (다가오는 알림) and due notices in a real Chromium: a reminder set through the chat shows
in the panel in Seoul time, deletes from it, falls due under Playwright's fake clock with one notice that the
server records, stays inert when its text is markup, and slot questions offer chips that send their text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.helpers import BOT_ROWS, chat_posts, log_in, screenshot, send, wait_for_reply
from tests.e2e.test_layout_a11y import low_contrast

SEOUL = ZoneInfo("Asia/Seoul")
WEEKDAYS = "월화수목금토일"
XSS = "<img src=x onerror=alert(1)>"
ITEMS = "#reminder-list .reminder-item"
NOTICES = "#reminder-notices .reminder-notice"
PHONE = {"width": 360, "height": 780}


def korean_time(iso: str) -> str:
    """What the panel should show for an ISO time: "12월 8일 (화) 오후 3:00", in Asia/Seoul."""
    moment = datetime.fromisoformat(iso).astimezone(SEOUL)
    period, hour = ("오전", moment.hour) if moment.hour < 12 else ("오후", moment.hour - 12)
    return f"{moment.month}월 {moment.day}일 ({WEEKDAYS[moment.weekday()]}) {period} {hour or 12}:{moment:%M}"


def reminders(page: Any, every: bool = False) -> list[dict[str, Any]]:
    """The browser session's reminders, from the API with the page's cookies."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
    response = page.request.get(origin + "/api/reminders" + ("?all=1" if every else ""))
    assert response.ok, response.status
    return response.json()["reminders"]


def add_reminder(context: Any, base_url: str, text: str, due: datetime) -> dict[str, Any]:
    """A reminder made through POST /api/reminders, as another client of the same browser session would."""
    response = context.request.post(base_url + "/api/reminders", data={"text": text, "due": due.isoformat()})
    assert response.status == 201, response.text()
    return response.json()


@pytest.fixture
def clocked(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser profile in Seoul whose pages run on Playwright's fake clock, installed at the real now
    (it then flows on by itself, until a test jumps it forward); the page is not opened yet."""
    context = browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul", viewport={"width": 1100, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.clock.install(time=datetime.now(timezone.utc))
    yield page
    context.close()


def test_a_reminder_set_through_the_chat_shows_in_the_panel_and_deletes_from_it(page: Any) -> None:
    page.wait_for_function("() => document.querySelector('#reminder-empty').textContent.includes('없어요')")
    assert page.locator(ITEMS).count() == 0
    assert page.get_attribute("#reminder-toggle", "aria-expanded") == "true"

    send(page, "내일 오후 3시에 회의 있다고 알려줘")
    item = page.locator(ITEMS).first
    item.wait_for()  # the reply said reminders_changed: the panel fetched again at once
    [stored] = reminders(page)
    assert stored["text"] == "회의 있다" and datetime.fromisoformat(stored["due"]).astimezone(SEOUL).hour == 15
    assert item.locator(".reminder-text").inner_text() == "회의 있다"
    when = item.locator("time.reminder-when")
    assert when.inner_text() == korean_time(stored["due"])  # e.g. "12월 8일 (화) 오후 3:00"
    assert when.get_attribute("datetime") == stored["due"]
    assert page.inner_text("#reminder-count") == "1개"
    assert page.locator("#reminder-empty").is_hidden()

    # The fold hides the list and remembers it; unfolding shows it again.
    page.click("#reminder-toggle")
    assert page.locator("#reminder-body").is_hidden()
    assert page.get_attribute("#reminder-toggle", "aria-expanded") == "false"
    page.click("#reminder-toggle")
    assert item.is_visible()

    # Delete: a confirmation first; Escape keeps the reminder, and focus goes back to its button.
    delete = item.locator(".reminder-delete")
    assert delete.get_attribute("aria-label") == "‘회의 있다’ 알림 지우기"
    delete.click()
    page.wait_for_selector(".reminder-confirm")
    assert "‘회의 있다’ 알림을 지울까요?" in page.inner_text(".reminder-confirm")
    page.keyboard.press("Escape")
    page.wait_for_selector(".reminder-confirm", state="detached")
    assert page.evaluate("() => document.activeElement.classList.contains('reminder-delete')")
    assert len(reminders(page)) == 1

    delete.click()
    with page.expect_response(lambda r: r.request.method == "DELETE" and "/api/reminders/" in r.url) as done:
        page.click(".reminder-confirm [data-action=confirm]")
    assert done.value.status == 204
    page.wait_for_selector(ITEMS, state="detached")
    assert "알림을 지웠어요" in page.inner_text("#reminder-status")
    assert page.locator("#reminder-empty").is_visible() and page.locator("#reminder-count").is_hidden()
    assert reminders(page, every=True) == []
    assert page.errors == []


def test_a_due_reminder_gets_one_notice_that_the_server_records(clocked: Any, live_server: Any) -> None:
    page = clocked
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=10)
    made = add_reminder(page.context, live_server.url, "치과 예약", due)
    add_reminder(page.context, live_server.url, "장 보기", due + timedelta(days=2))
    page.goto(live_server.url + "/")
    page.locator(ITEMS).nth(1).wait_for()
    assert page.locator(ITEMS).first.locator(".reminder-text").inner_text() == "치과 예약"  # soonest first
    send(page, "내일 오후 3시에 회의 있다고 알려줘")
    page.wait_for_function(f"() => document.querySelectorAll('{ITEMS}').length === 3")
    page.clock.run_for(2000)
    assert page.locator(NOTICES).count() == 0  # not due yet

    with page.expect_response(lambda r: r.url.endswith(f"/api/reminders/{made['id']}/notified")) as marked:
        page.clock.fast_forward(10 * 60 * 1000 + 5000)  # ten minutes and five seconds on
    assert marked.value.status == 200
    notice = page.locator(NOTICES)
    notice.wait_for()
    assert notice.locator(".reminder-notice-text").inner_text() == "⏰ 알림: 치과 예약"
    assert notice.locator("time").inner_text() == korean_time(made["due"])
    assert page.get_attribute("#reminder-notices", "aria-live") == "assertive"
    stored = {r["id"]: r for r in reminders(page, every=True)}
    assert stored[made["id"]]["notified_at"] is not None
    assert [r["notified_at"] for r in stored.values() if r["id"] != made["id"]] == [None, None]
    # The panel keeps what is still ahead; the one that was shown has left it.
    page.wait_for_function(f"() => document.querySelectorAll('{ITEMS}').length === 2")
    assert set(page.locator(f"{ITEMS} .reminder-text").all_inner_texts()) == {"장 보기", "회의 있다"}
    page.clock.run_for(35_000)  # a refetch and more ticks: no second notice
    assert page.locator(NOTICES).count() == 1
    screenshot(page, "reminders.png")
    for scheme in ("light", "dark"):  # the notice, the panel's items and tags read well in both themes
        page.emulate_media(color_scheme=scheme)
        assert low_contrast(page) == [], scheme

    notice.locator("button").click()
    assert page.locator(NOTICES).count() == 0
    assert page.errors == [] and page.dialogs == []

    # Another browser with the same session and a clock past the due time, and no shared storage:
    # the server says the notice was shown, so it shows nothing.
    other = page.context.browser.new_context(locale="ko-KR")
    try:
        other.add_cookies(page.context.cookies())
        tab = other.new_page()
        tab.clock.install(time=due + timedelta(minutes=1))
        tab.goto(live_server.url + "/")
        tab.wait_for_function(f"() => document.querySelectorAll('{ITEMS}').length === 2")
        tab.clock.run_for(3000)
        assert tab.locator(NOTICES).count() == 0
    finally:
        other.close()


def test_markup_in_a_reminder_stays_text_in_the_panel_and_the_notice(clocked: Any, live_server: Any) -> None:
    page = clocked
    due = datetime.now(timezone.utc) + timedelta(minutes=5)
    add_reminder(page.context, live_server.url, XSS, due)
    page.goto(live_server.url + "/")
    page.locator(ITEMS).first.wait_for()
    # The same text through the chat's form: what to remind of, then when (the slot's chip).
    send(page, "알림 설정해 줘")
    send(page, XSS)
    before = page.locator(BOT_ROWS).count()
    page.locator(BOT_ROWS).last.locator(".chip", has_text="내일 아침 9시").click()
    assert "오전 9시" in wait_for_reply(page, before).inner_text()
    page.wait_for_function(f"() => document.querySelectorAll('{ITEMS}').length === 2")
    texts = page.locator(f"{ITEMS} .reminder-text").all_inner_texts()
    assert texts == [XSS, XSS]

    page.clock.fast_forward(5 * 60 * 1000 + 5000)
    page.locator(NOTICES).wait_for()
    assert page.inner_text(f"{NOTICES} .reminder-notice-text") == "⏰ 알림: " + XSS
    page.clock.run_for(2000)
    page.wait_for_timeout(300)  # a broken <img> would have fired its onerror by now
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.locator("#reminder-panel img, #reminder-notices img").count() == 0
    assert page.dialogs == [] and page.errors == []


def test_slot_question_chips_send_their_text(page: Any) -> None:
    reply = send(page, "날씨 알려줘")
    assert "어느 지역" in reply.locator(".bubble").inner_text()
    chips = reply.locator(".chip")
    assert chips.all_inner_texts() == ["서울", "부산", "대구", "광주", "제주"]
    sent = chat_posts(page)
    before = page.locator(BOT_ROWS).count()
    chips.nth(1).click()
    answer = wait_for_reply(page, before)
    assert sent == ["부산"]
    assert "부산" in answer.locator(".bubble").inner_text()


def test_a_signed_in_user_sees_their_reminders_on_a_phone(browser: Any, live_server: Any) -> None:
    context = browser.new_context(locale="ko-KR", viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    try:
        page = context.new_page()
        log_in(page, live_server.url, *live_server.add_user("알림보는사용자"))
        due = datetime.now(timezone.utc) + timedelta(days=2)
        add_reminder(context, live_server.url, "병원 예약 " + "아주 긴 설명 " * 12, due)
        page.reload()
        page.locator(ITEMS).first.wait_for()
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
        box = page.locator(ITEMS).first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        screenshot(page, "reminders-phone.png")
    finally:
        context.close()

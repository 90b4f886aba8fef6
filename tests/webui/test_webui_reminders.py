"""Reminders: the JSON API (list, read, create, delete, notified), their owners (another guest's or user's
reminder is always 404, lists never show it), the move of a guest's reminders to an account, bad input on
every route, and the chat path's book (reads at once, writes buffered until the exchange is stored)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from webui.extensions import db
from webui.reminders import MAX_REMINDER_ID, SqlReminderBook
from webui.tables import Reminder

SEOUL = ZoneInfo("Asia/Seoul")


def later(**delta) -> str:
    """An ISO time with an offset, ``delta`` from now (Seoul time)."""
    return (datetime.now(SEOUL) + timedelta(**delta)).replace(microsecond=0).isoformat()


def add(client, text: str = "치과 가기", due: str | None = None) -> dict:
    response = client.post("/api/reminders", json={"text": text, "due": due or later(days=1)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def texts(client, query: str = "") -> list[str]:
    response = client.get("/api/reminders" + query)
    assert response.status_code == 200, response.get_json()
    return [r["text"] for r in response.get_json()["reminders"]]


def register(client, username: str) -> None:
    response = client.post("/api/register", json={"username": username, "password": "비밀번호1234"})
    assert response.status_code == 201, response.get_json()


def test_create_read_list_and_delete(client):
    due = later(days=2)
    created = add(client, "  치과   가기 ", due)
    assert set(created) == {"id", "text", "due", "created_at", "notified_at", "conversation_id"}
    assert created["text"] == "치과 가기" and created["notified_at"] is None and created["conversation_id"] is None
    assert datetime.fromisoformat(created["due"]) == datetime.fromisoformat(due)
    assert created["due"].endswith("+00:00")  # answered in UTC
    assert client.get(f"/api/reminders/{created['id']}").get_json() == created
    listing = client.get("/api/reminders").get_json()
    assert listing["reminders"] == [created] and listing["next"] is None
    assert datetime.fromisoformat(listing["now"]).tzinfo is not None
    response = client.delete(f"/api/reminders/{created['id']}")
    assert response.status_code == 204 and response.get_data() == b""
    assert client.get(f"/api/reminders/{created['id']}").status_code == 404
    assert client.delete(f"/api/reminders/{created['id']}").status_code == 404
    assert texts(client) == []


def test_lists_are_soonest_first_and_page_by_after(client):
    for day in (5, 1, 3, 2, 4):
        add(client, f"{day}일 뒤", later(days=day))
    seen, after = [], None
    while True:
        query = "?limit=2" + (f"&after={after}" if after else "")
        page = client.get("/api/reminders" + query).get_json()
        seen += [r["text"] for r in page["reminders"]]
        after = page["next"]
        if after is None:
            break
    assert seen == ["1일 뒤", "2일 뒤", "3일 뒤", "4일 뒤", "5일 뒤"]


def test_past_reminders_show_until_their_notice_is_marked_and_with_all(app, client):
    due_soon = add(client, "지난 일")
    add(client, "다가올 일", later(days=3))
    with app.app_context():  # time passes: the first one falls due
        db.session.execute(update(Reminder).where(Reminder.id == due_soon["id"])
                           .values(due_at=datetime.now(timezone.utc) - timedelta(minutes=5)))
        db.session.commit()
    assert texts(client) == ["지난 일", "다가올 일"]  # due, its notice not shown yet: the page still announces it
    marked = client.post(f"/api/reminders/{due_soon['id']}/notified")
    assert marked.status_code == 200 and marked.get_json()["notified_at"] is not None
    again = client.post(f"/api/reminders/{due_soon['id']}/notified").get_json()
    assert again["notified_at"] == marked.get_json()["notified_at"]  # the first time is kept
    assert texts(client) == ["다가올 일"]
    assert texts(client, "?all=1") == ["지난 일", "다가올 일"]
    assert texts(client, "?all=0") == ["다가올 일"]


def test_another_guest_or_user_gets_404_and_sees_nothing(app):
    guest, other_guest = app.test_client(), app.test_client()
    mine = add(guest, "손님의 알림")
    user, other_user = app.test_client(), app.test_client()
    register(user, "철수")
    register(other_user, "영희")
    users = add(user, "철수의 알림")
    for stranger, reminder in ((other_guest, mine), (user, mine), (other_user, users), (guest, users),
                               (other_guest, users)):
        rid = reminder["id"]
        assert stranger.get(f"/api/reminders/{rid}").status_code == 404
        assert stranger.delete(f"/api/reminders/{rid}").status_code == 404
        response = stranger.post(f"/api/reminders/{rid}/notified")
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "reminder_not_found"
        assert reminder["text"] not in texts(stranger, "?all=1")
    assert texts(guest, "?all=1") == ["손님의 알림"] and texts(user, "?all=1") == ["철수의 알림"]
    assert guest.get(f"/api/reminders/{mine['id']}").get_json()["notified_at"] is None  # untouched


def test_a_guests_reminders_move_to_the_account_at_registration_and_login(app):
    guest = app.test_client()
    add(guest, "가입 전에 만든 알림")
    register(guest, "민수")
    assert texts(guest) == ["가입 전에 만든 알림"]
    guest.post("/api/logout")
    assert texts(guest) == []  # a guest again, with a new browser session
    add(guest, "로그인 전에 만든 알림", later(days=2))
    assert guest.post("/api/login", json={"username": "민수", "password": "비밀번호1234"}).status_code == 200
    assert texts(guest) == ["가입 전에 만든 알림", "로그인 전에 만든 알림"]
    with app.app_context():
        assert db.session.scalars(select(Reminder.guest_key)).all() == [None, None]


def test_deleting_a_conversation_keeps_its_reminders(make_app):
    from test_webui_dialogue import CountingBot

    client = make_app(BOT=CountingBot(), SECRET_KEY="s").test_client()
    answer = client.post("/api/chat", json={"message": "기억해 약 먹기"}).get_json()
    assert texts(client)[0] == "약 먹기"
    assert client.delete(f"/api/conversations/{answer['conversation_id']}").status_code == 200
    assert [r["conversation_id"] for r in client.get("/api/reminders").get_json()["reminders"]] == [None]


BAD_BODIES = [
    (b"not json", 400, "invalid_json"),
    (b"[1, 2]", 400, "invalid_type"),
    ({"due": later(days=1)}, 400, "invalid_type"),
    ({"text": 3, "due": later(days=1)}, 400, "invalid_type"),
    ({"text": "", "due": later(days=1)}, 400, "invalid_text"),
    ({"text": "   ", "due": later(days=1)}, 400, "invalid_text"),
    ({"text": "가" * 201, "due": later(days=1)}, 400, "invalid_text"),
    ({"text": "널\x00문자", "due": later(days=1)}, 400, "invalid_text"),
    ({"text": "종\x07소리", "due": later(days=1)}, 400, "invalid_text"),
    ({"text": "치과"}, 400, "invalid_type"),
    ({"text": "치과", "due": 1767225600}, 400, "invalid_type"),
    ({"text": "치과", "due": "내일 아침"}, 400, "invalid_due"),
    ({"text": "치과", "due": "2026-13-45T09:00:00+09:00"}, 400, "invalid_due"),
    ({"text": "치과", "due": "２０２６-12-03T09:00:00+09:00"}, 400, "invalid_due"),
    ({"text": "치과", "due": (datetime.now() + timedelta(days=1)).isoformat()}, 400, "due_without_offset"),
    ({"text": "치과", "due": later(days=-1)}, 400, "due_in_past"),
    ({"text": "치과", "due": "9999-12-31T23:59:59-12:00"}, 400, "due_too_far"),
    ({"text": "치과", "due": "0001-01-01T00:00:00+14:00"}, 400, "due_too_far"),
    ({"text": "치과", "due": later(days=365 * 20)}, 400, "due_too_far"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_BODIES)
def test_bad_reminders_are_refused_with_korean_json(client, body, status, code):
    if isinstance(body, bytes):
        response = client.post("/api/reminders", data=body, content_type="application/json")
    else:
        response = client.post("/api/reminders", json=body)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code and any("\uac00" <= c <= "\ud7a3" for c in error["message"])
    assert texts(client, "?all=1") == []


@pytest.mark.parametrize("query, code", [("?limit=0", "invalid_limit"), ("?limit=101", "invalid_limit"),
                                         ("?limit=abc", "invalid_limit"), ("?limit=-1", "invalid_limit"),
                                         ("?all=maybe", "invalid_all"), ("?after=xyz", "invalid_cursor"),
                                         ("?after=", "invalid_cursor"), ("?after=%00%ff", "invalid_cursor"),
                                         ("?after=MjAyNi0xMi0wMXwx", "invalid_cursor")])  # "2026-12-01|1": naive
def test_bad_list_queries_are_400(client, query, code):
    response = client.get("/api/reminders" + query)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == code


@pytest.mark.parametrize("rid", ["0", "-1", "abc", "1.5", "٣", str(MAX_REMINDER_ID + 1), "9" * 30, "%00"])
def test_ids_that_cannot_exist_are_404_on_every_route(client, rid):
    for method, path in (("GET", f"/api/reminders/{rid}"), ("DELETE", f"/api/reminders/{rid}"),
                         ("POST", f"/api/reminders/{rid}/notified")):
        response = client.open(path, method=method)
        assert response.status_code == 404, (method, path)
        assert response.get_json()["error"]["code"] in ("reminder_not_found", "not_found")


def test_cross_site_writes_are_refused(client):
    response = client.post("/api/reminders", json={"text": "치과", "due": later(days=1)},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert texts(client, "?all=1") == []


def test_the_number_of_reminders_is_bounded(client, monkeypatch):
    monkeypatch.setattr("webui.reminders_api.MAX_REMINDERS", 2)
    add(client, "하나")
    add(client, "둘")
    response = client.post("/api/reminders", json={"text": "셋", "due": later(days=1)})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "too_many_reminders"


# --- the chat path's book -------------------------------------------------------------------------------

def request_of(app, client):
    """A request context carrying ``client``'s session cookie: a request of the same browser."""
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    return app.test_request_context(headers={"Cookie": f"{name}={cookie.value}"} if cookie else {})


def book_for(app, client) -> SqlReminderBook:
    """The book a chat request of ``client`` would get."""
    with request_of(app, client):
        return SqlReminderBook.for_request()


def test_the_book_reads_at_once_and_writes_only_when_applied(app, client):
    stored = add(client, "이미 있는 알림", later(days=1))
    book = book_for(app, client)
    box: dict = {}

    def action() -> None:  # as the library's actions run: another thread, no app context
        box["added"] = book.add("새 알림", datetime.now(SEOUL) + timedelta(days=2))
        box["deleted"] = book.delete(stored["id"])
        box["missing"] = book.delete(MAX_REMINDER_ID)
        box["listed"] = book.upcoming(datetime.now(SEOUL))

    worker = threading.Thread(target=action)
    worker.start()
    worker.join()
    assert box["added"]["id"] is None and box["added"]["text"] == "새 알림"
    assert (box["deleted"], box["missing"]) == (True, False)
    assert [(i["text"], i["due"].tzinfo) for i in box["listed"]] == [("새 알림", SEOUL)]
    assert texts(client) == ["이미 있는 알림"] and book.changed  # nothing written yet
    with request_of(app, client):
        from webui.database import write_transaction

        with write_transaction() as conn:
            book.apply(conn, None, datetime.now(timezone.utc))
    assert texts(client) == ["새 알림"]
    book.add("너무 늦은 알림", datetime.now(SEOUL) + timedelta(days=3))  # after apply: dropped, logged
    assert texts(client) == ["새 알림"]


def test_a_book_never_reads_or_deletes_another_owners_reminders(app):
    owner, stranger = app.test_client(), app.test_client()
    theirs = add(owner, "남의 알림")
    add(stranger, "내 알림")
    book = book_for(app, stranger)
    assert [i["text"] for i in book.upcoming()] == ["내 알림"]
    assert book.delete(theirs["id"]) is False and not book.changed
    nobody = book_for(app, app.test_client())  # a guest without a key yet: nothing, and no query
    assert nobody.upcoming() == [] and nobody.delete(theirs["id"]) is False

"""Cursor pages of ``GET /api/conversations`` and of a conversation's messages: every row exactly once, in
order, while rows are added between pages; bad cursors and limits are 400s; other owners stay invisible."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask
from sqlalchemy import insert, select

from webui.extensions import db
from webui.paging import DEFAULT_CONVERSATIONS, DEFAULT_MESSAGES, MAX_CONVERSATIONS, MAX_MESSAGES
from webui.tables import Conversation, StoredMessage, User, new_conversation_id

START = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def register(client, username: str) -> None:
    response = client.post("/api/register", json={"username": username, "password": "비밀번호1234"})
    assert response.status_code == 201, response.get_json()


def seed_conversations(app: Flask, username: str, count: int) -> list[str]:
    """``count`` conversations for ``username``, three at a time sharing one ``updated_at`` (ties the id must
    break); their ids in the list's order, most recently active first."""
    with app.app_context():
        user_id = db.session.execute(select(User.id).where(User.username == username)).scalar_one()
        rows = [{"id": new_conversation_id(), "user_id": user_id, "title": f"대화 {n}",
                 "created_at": START, "updated_at": START + timedelta(minutes=n // 3)} for n in range(count)]
        db.session.execute(insert(Conversation), rows)
        db.session.commit()
    return [row["id"] for row in sorted(rows, key=lambda r: (r["updated_at"], r["id"]), reverse=True)]


def seed_messages(app: Flask, conversation_id: str, count: int) -> list[int]:
    """``count`` messages in ``conversation_id``; their ids, oldest first."""
    with app.app_context():
        rows = [{"conversation_id": conversation_id, "role": "user" if n % 2 == 0 else "bot", "text": f"말 {n}",
                 "created_at": START} for n in range(count)]
        db.session.execute(insert(StoredMessage), rows)
        db.session.commit()
        return list(db.session.execute(select(StoredMessage.id).where(
            StoredMessage.conversation_id == conversation_id).order_by(StoredMessage.id)).scalars())


def list_page(client, **params) -> dict:
    response = client.get("/api/conversations", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def message_page(client, conversation_id: str, **params) -> dict:
    response = client.get(f"/api/conversations/{conversation_id}", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_250_conversations_come_once_each_in_order_while_new_ones_are_made(app: Flask, client) -> None:
    register(client, "목록주인")
    seeded = seed_conversations(app, "목록주인", 250)

    first = list_page(client)
    assert len(first["conversations"]) == DEFAULT_CONVERSATIONS and first["next_cursor"]
    assert set(first["conversations"][0]) == {"id", "title", "created_at", "updated_at"}

    seen, cursor, pages, made = [], None, 0, []
    while True:
        data = list_page(client, limit=40, **({"cursor": cursor} if cursor else {}))
        seen += [c["id"] for c in data["conversations"]]
        pages += 1
        cursor = data["next_cursor"]
        if pages in (2, 4):  # someone chats in a new conversation between two pages
            made.append(client.post("/api/chat", json={"message": f"새 대화 {pages}"}).get_json()["conversation_id"])
        if cursor is None:
            break
    assert seen == seeded  # every one, once, in the list's order: no duplicates and no gaps
    assert pages == 7 and not set(made) & set(seen)
    assert [c["id"] for c in list_page(client, limit=2)["conversations"]] == made[::-1]  # the new ones lead


def test_a_conversations_messages_come_newest_page_first_each_page_oldest_first(app: Flask, client) -> None:
    register(client, "말많은사람")
    conversation_id = client.post("/api/chat", json={"message": "처음"}).get_json()["conversation_id"]
    everything = seed_messages(app, conversation_id, 248)  # after the chat's two: 250 in all

    latest = message_page(client, conversation_id)
    assert latest["id"] == conversation_id and latest["title"] == "처음"
    assert [m["id"] for m in latest["messages"]] == everything[-DEFAULT_MESSAGES:] and latest["next_cursor"]

    pages, cursor = [], None
    while True:
        data = message_page(client, conversation_id, limit=64, **({"cursor": cursor} if cursor else {}))
        pages.append([m["id"] for m in data["messages"]])
        cursor = data["next_cursor"]
        if len(pages) == 1:  # the conversation goes on between two pages: older pages do not change
            client.post("/api/chat", json={"message": "계속", "conversation_id": conversation_id})
        if cursor is None:
            break
    assert all(page == sorted(page) for page in pages)
    assert [i for page in reversed(pages) for i in page] == everything
    assert [len(page) for page in pages] == [64, 64, 64, 58]
    assert [m["text"] for m in message_page(client, conversation_id, limit=2)["messages"]] == ["계속", "echo: 계속"]
    assert message_page(client, conversation_id, limit=MAX_MESSAGES)["next_cursor"]


def test_a_short_conversation_is_one_page(client) -> None:
    data = client.post("/api/chat", json={"message": "안녕"}).get_json()
    detail = message_page(client, data["conversation_id"])
    assert [m["text"] for m in detail["messages"]] == ["안녕", "echo: 안녕"] and detail["next_cursor"] is None
    assert list_page(client)["next_cursor"] is None


def cursor_of(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


BAD_LIMITS = ["0", "-1", str(MAX_CONVERSATIONS + 1), "abc", "", "1.5", "٣", "99999", " 5"]
BAD_CURSORS = [
    "!!!", "not a cursor", "x" * 5000, cursor_of("m", "5"), cursor_of("c", "2026-03-01T09:00:00", "a" * 32),
    cursor_of("c", "2026-03-01T09:00:00+00:00", "XYZ"), cursor_of("c", "어제", "a" * 32), cursor_of("c", "a"),
    cursor_of("c", "0001-01-01T00:00:00+09:00", "a" * 32), "=" * 8, cursor_of("reminder"),
]


@pytest.mark.parametrize("limit", BAD_LIMITS)
def test_a_bad_limit_is_a_400_on_both_lists(client, limit: str) -> None:
    conversation_id = client.post("/api/chat", json={"message": "안녕"}).get_json()["conversation_id"]
    for path in ("/api/conversations", f"/api/conversations/{conversation_id}"):
        response = client.get(path, query_string={"limit": limit})
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "invalid_limit" and response.get_json()["error"]["message"]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_bad_conversation_cursor_is_a_400(client, cursor: str) -> None:
    response = client.get("/api/conversations", query_string={"cursor": cursor})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize("cursor", [*BAD_CURSORS[:3], cursor_of("c", "2026-03-01T09:00:00+00:00", "a" * 32),
                                    cursor_of("m", "-3"), cursor_of("m", "1e5"), cursor_of("m", "9" * 40),
                                    cursor_of("m", str(2**31)), cursor_of("m", "9" * 18), cursor_of("m", "0")])
def test_a_bad_message_cursor_is_a_400(client, cursor: str) -> None:
    conversation_id = client.post("/api/chat", json={"message": "안녕"}).get_json()["conversation_id"]
    response = client.get(f"/api/conversations/{conversation_id}", query_string={"cursor": cursor})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_cursor"


def test_a_message_cursor_past_every_id_reads_from_the_latest(client) -> None:
    conversation_id = client.post("/api/chat", json={"message": "안녕"}).get_json()["conversation_id"]
    data = message_page(client, conversation_id, cursor=cursor_of("m", str(2**31 - 1)))
    assert [m["text"] for m in data["messages"]] == ["안녕", "echo: 안녕"] and data["next_cursor"] is None


def test_pages_never_show_someone_elses_conversations(app: Flask) -> None:
    alice, bob, guest = app.test_client(), app.test_client(), app.test_client()
    register(alice, "앨리스")
    register(bob, "밥돌이")
    alices = seed_conversations(app, "앨리스", 60)
    bobs = seed_conversations(app, "밥돌이", 7)
    alice_page = list_page(alice, limit=10)
    assert [c["id"] for c in alice_page["conversations"]] == alices[:10]

    # Alice's cursor in Bob's hands pages through Bob's conversations, never hers.
    assert [c["id"] for c in list_page(bob, limit=50)["conversations"]] == bobs
    borrowed = list_page(bob, cursor=alice_page["next_cursor"], limit=50)["conversations"]
    assert not {c["id"] for c in borrowed} & set(alices)
    assert list_page(guest)["conversations"] == [] and list_page(guest)["next_cursor"] is None

    seed_messages(app, alices[0], 80)
    older = message_page(alice, alices[0], limit=10)["next_cursor"]
    for stranger in (bob, guest):
        response = stranger.get(f"/api/conversations/{alices[0]}", query_string={"cursor": older, "limit": 10})
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "conversation_not_found"

"""Dialogue state through the web layer: stored with the conversation in the exchange's transaction, read back
in the chat path's one statement and handed to the bot with the next message; damaged state reads as empty;
a form filled across turns by the real bot, by one app or by two apps answering alternate turns."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from webui import create_app
from webui.extensions import db
from webui.store import dump_state, load_state
from webui.tables import Conversation, Reminder, StoredMessage

SEOUL = ZoneInfo("Asia/Seoul")


@dataclass
class StateReply:
    """``chatbot.bot.Reply``'s fields that the web layer reads, with a state and slots."""

    text: str
    intent: str | None = "count"
    confidence: float = 0.9
    fallback: bool = False
    suggestions: list[str] = field(default_factory=list)
    source: str = "fake"
    attachments: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, Any] | None = None
    state: dict[str, Any] | None = None


class CountingBot:
    """Counts the turns of a conversation in its state (as the library's bot keeps its form), records the
    states it was given, and on "기억해 X" stores a reminder through the book in a thread of its own (the
    library's actions run in worker threads, outside the app context)."""

    def __init__(self) -> None:
        self.states: list[dict[str, Any] | None] = []

    def reply(self, text: str, context: dict[str, Any] | None = None, state: dict[str, Any] | None = None,
              **_extra: Any) -> StateReply:
        self.states.append(state)
        turns = int((state or {}).get("turns", 0)) + 1
        new_state = {"version": 1, "turns": turns, "said": [*(state or {}).get("said", []), text],
                     "note": "한글 ✓ \"따옴표\""}
        if text.startswith("기억해 "):
            book = (context or {})["services"]["reminders"]
            due = datetime.now(SEOUL) + timedelta(days=1)
            worker = threading.Thread(target=book.add, args=(text[4:], due))
            worker.start()
            worker.join()
        return StateReply(f"{turns}번째", slots={"turns": turns}, state=new_state)


class StatelessBot(CountingBot):
    """A bot whose ``reply`` takes no state (like the degraded stand-in): the stored state is kept as it is."""

    def reply(self, text: str, context: dict[str, Any] | None = None, image: Any = None) -> StateReply:  # type: ignore[override]
        self.states.append(None)
        return StateReply("상태 없음", slots=None, state=None)


def chat(client, text: str, conversation_id: str | None = None):
    body = {"message": text} | ({"conversation_id": conversation_id} if conversation_id else {})
    response = client.post("/api/chat", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def stored_state(app, conversation_id: str) -> str | None:
    with app.app_context():
        return db.session.scalar(select(Conversation.dialogue_state).where(Conversation.id == conversation_id))


@pytest.fixture
def counting_app(database_uri, tmp_path):
    bot = CountingBot()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_uri, "BOT": bot, "SECRET_KEY": "s",
                      "UPLOAD_FOLDER": str(tmp_path / "uploads"), "RATELIMIT_ENABLED": False})
    return app, bot


def test_state_round_trips_through_the_database(counting_app):
    app, bot = counting_app
    client = app.test_client()
    first = chat(client, "하나")
    assert first["slots"] == {"turns": 1}
    assert bot.states == [None]  # a new conversation starts with no state
    conversation_id = first["conversation_id"]
    second = chat(client, "둘", conversation_id)
    third = chat(client, "셋", conversation_id)
    assert (second["reply"], third["reply"], third["slots"]) == ("2번째", "3번째", {"turns": 3})
    assert bot.states[1] == {"version": 1, "turns": 1, "said": ["하나"], "note": "한글 ✓ \"따옴표\""}
    assert bot.states[2]["said"] == ["하나", "둘"]
    assert load_state(stored_state(app, conversation_id))["said"] == ["하나", "둘", "셋"]
    other = chat(client, "새 대화")  # another conversation has its own state
    assert other["slots"] == {"turns": 1} and bot.states[-1] is None


@pytest.mark.parametrize("damage", ["not json {", "[1, 2, 3]", "\"text\"", "null", "", "{\"turns\": \"많이\""])
def test_a_damaged_stored_state_reads_as_empty(counting_app, damage):
    app, bot = counting_app
    client = app.test_client()
    conversation_id = chat(client, "하나")["conversation_id"]
    with app.app_context():
        db.session.execute(update(Conversation).where(Conversation.id == conversation_id)
                           .values(dialogue_state=damage))
        db.session.commit()
    answer = chat(client, "둘", conversation_id)
    assert answer["reply"] == "1번째" and bot.states[-1] is None  # started over, no error
    assert load_state(stored_state(app, conversation_id))["said"] == ["둘"]


def test_load_and_dump_state_never_raise():
    assert load_state(None) is None and load_state("{") is None and load_state("[" * 100000) is None
    assert load_state('{"a": 1}') == {"a": 1}
    assert dump_state(None) is None
    assert load_state(dump_state({"when": datetime(2026, 12, 3, 9, tzinfo=SEOUL)})) == {
        "when": "2026-12-03 09:00:00+09:00"}  # not JSON-ready: stored as text rather than failing the exchange
    circular: dict = {}
    circular["self"] = circular
    assert dump_state(circular) is None


def test_a_bot_without_state_leaves_the_stored_state_alone(database_uri, tmp_path):
    counting = CountingBot()
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_uri, "SECRET_KEY": "s",
              "UPLOAD_FOLDER": str(tmp_path / "uploads"), "RATELIMIT_ENABLED": False}
    app = create_app({**config, "BOT": counting})
    client = app.test_client()
    conversation_id = chat(client, "하나")["conversation_id"]
    before = stored_state(app, conversation_id)
    stand_in = create_app({**config, "BOT": StatelessBot()})  # the degraded stand-in serves meanwhile
    other = stand_in.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value)
    assert chat(other, "둘", conversation_id)["slots"] == {}
    assert stored_state(app, conversation_id) == before
    assert chat(client, "셋", conversation_id)["reply"] == "2번째"  # the form goes on where it was


def test_the_reminder_and_the_state_are_written_with_the_messages_or_not_at_all(counting_app, monkeypatch):
    app, _bot = counting_app
    client = app.test_client()
    conversation_id = chat(client, "하나")["conversation_id"]
    before = stored_state(app, conversation_id)
    import webui.store

    def broken(*_args: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(webui.store, "_insert_attachments", broken)
    response = client.post("/api/chat", json={"message": "기억해 우유 사기", "conversation_id": conversation_id})
    assert response.status_code == 500
    with app.app_context():
        assert db.session.scalar(select(Reminder.id)) is None
        assert len(db.session.scalars(select(StoredMessage.id)).all()) == 2
    assert stored_state(app, conversation_id) == before
    monkeypatch.undo()
    answer = chat(client, "기억해 우유 사기", conversation_id)
    assert answer["reminders_changed"] is True and answer["reply"] == "2번째"
    reminders = client.get("/api/reminders").get_json()["reminders"]
    assert [(r["text"], r["conversation_id"]) for r in reminders] == [("우유 사기", conversation_id)]


def test_state_and_reminders_round_trip_through_postgresql(postgres_url, tmp_path):
    """On a real PostgreSQL server (skipped without one, as in test_webui_postgres.py; CI runs it)."""
    bot = CountingBot()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": postgres_url, "BOT": bot, "SECRET_KEY": "s",
                      "UPLOAD_FOLDER": str(tmp_path / "uploads"), "RATELIMIT_ENABLED": False})
    try:
        client = app.test_client()
        conversation_id = chat(client, "하나")["conversation_id"]
        chat(client, "기억해 한글 알림 ✓", conversation_id)
        assert chat(client, "셋", conversation_id)["slots"] == {"turns": 3}
        assert bot.states[-1]["said"] == ["하나", "기억해 한글 알림 ✓"]
        assert load_state(stored_state(app, conversation_id))["note"] == "한글 ✓ \"따옴표\""
        reminder = client.get("/api/reminders").get_json()["reminders"][0]
        assert reminder["text"] == "한글 알림 ✓" and reminder["due"].endswith("+00:00")
        assert client.delete(f"/api/reminders/{reminder['id']}").status_code == 204
        assert client.delete(f"/api/reminders/{2**31 - 1}").status_code == 404  # the largest INTEGER
        assert client.get(f"/api/reminders/{2**31}").status_code == 404  # past it: never reaches a query
    finally:
        with app.app_context():
            db.engine.dispose()


# --- the real bot ----------------------------------------------------------------------------------------

def real_app(bot, uri: str, tmp_path) -> Any:
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": uri, "BOT": bot, "SECRET_KEY": "same secret",
                       "UPLOAD_FOLDER": str(tmp_path / "uploads"), "RATELIMIT_ENABLED": False})


FORM = [("알림 설정해줘", "무엇을"), ("치과 가기", "언제"), ("모레 아침 9시", "알려 드릴게요")]


def expected_due() -> str:
    day = (datetime.now(SEOUL) + timedelta(days=2)).date()
    return datetime(day.year, day.month, day.day, 9, tzinfo=SEOUL).astimezone(ZoneInfo("UTC")).isoformat()


def test_a_form_filled_across_turns_stores_the_reminder(bot, database_uri, tmp_path):
    client = real_app(bot, database_uri, tmp_path).test_client()
    conversation_id = None
    for text, expected in FORM:
        answer = chat(client, text, conversation_id)
        conversation_id = answer["conversation_id"]
        assert expected in answer["reply"], answer
        assert answer["intent"] == "reminder_set"
    assert answer["slots"]["what"] == "치과 가기" and answer["reminders_changed"] is True
    reminders = client.get("/api/reminders").get_json()["reminders"]
    assert [(r["text"], r["due"], r["conversation_id"]) for r in reminders] == [
        ("치과 가기", expected_due(), conversation_id)]
    listing = chat(client, "내 일정 보여줘", conversation_id)
    assert "치과 가기" in listing["reply"] and "오전 9시" in listing["reply"]


def test_two_apps_answering_alternate_turns_fill_the_same_form(bot, tmp_path):
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = real_app(bot, uri, tmp_path), real_app(bot, uri, tmp_path)
    clients = [first.test_client(), second.test_client()]
    conversation_id = None
    for turn, (text, expected) in enumerate(FORM):
        client = clients[turn % 2]
        if turn == 1:  # the same browser, reaching the other worker
            name = first.config["SESSION_COOKIE_NAME"]
            client.set_cookie(name, clients[0].get_cookie(name).value)
        answer = chat(client, text, conversation_id)
        conversation_id = answer["conversation_id"]
        assert expected in answer["reply"], (turn, answer)
    assert [r["text"] for r in clients[1].get("/api/reminders").get_json()["reminders"]] == ["치과 가기"]
    assert [r["text"] for r in clients[0].get("/api/reminders").get_json()["reminders"]] == ["치과 가기"]


def test_a_stranger_neither_sees_nor_continues_the_form(bot, database_uri, tmp_path):
    app = real_app(bot, database_uri, tmp_path)
    owner, stranger = app.test_client(), app.test_client()
    conversation_id = chat(owner, "알림 설정해줘")["conversation_id"]
    response = stranger.post("/api/chat", json={"message": "치과 가기", "conversation_id": conversation_id})
    assert response.status_code == 404
    assert "언제" in chat(owner, "치과 가기", conversation_id)["reply"]
    assert stranger.get("/api/reminders").get_json()["reminders"] == []


def test_every_loaded_bot_gets_the_actions_services_from_the_settings(tmp_path, monkeypatch):
    from chatbot.bot import Bot
    from webui.lifecycle import get_bot

    model = tmp_path / "model"
    model.mkdir()
    (model / "pipeline.yaml").write_text("version: 1\n", encoding="utf-8")
    (model / "meta.json").write_text("{}", encoding="utf-8")
    loaded: list[Bot] = []

    def loader(_path: str, _vision: str | None) -> Bot:
        loaded.append(Bot(pipeline=None, services={"own": 1}))  # type: ignore[arg-type]
        return loaded[-1]

    monkeypatch.setenv("CHATBOT_WEATHER_URL", "http://127.0.0.1:9/forecast")
    monkeypatch.setenv("CHATBOT_WEATHER_TIMEOUT", "1.5")
    app = create_app({"TESTING": True, "SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/t.db",
                      "MODEL_DIR": str(model), "MODEL_LOADER": loader, "WEATHER_API_KEY": "열쇠",
                      "UPLOAD_FOLDER": str(tmp_path / "uploads")})
    with app.test_request_context():
        served = get_bot()
    assert served is loaded[-1]
    assert served.services == {"own": 1, "weather": {"url": "http://127.0.0.1:9/forecast", "key": "열쇠",
                                                     "timeout": 1.5}, "action_timeout": 5.0}

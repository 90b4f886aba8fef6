"""webui.store: an exchange is written in one transaction, and lookups see only the caller's conversations."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from webui.extensions import db
from webui.store import Exchange, owned_conversation, owned_conversation_with_history, recent_history, store_exchange
from webui.tables import Conversation, StoredMessage


def reply(text):
    return SimpleNamespace(text=text, intent="echo", confidence=0.5, fallback=False)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_an_exchange_and_its_history(app):
    with app.test_request_context():
        stored = store_exchange(Exchange(None, "안녕", reply("반가워요")))
        row = owned_conversation(stored.conversation_id)
        assert row is not None and row.id == stored.conversation_id
        store_exchange(Exchange(row, "또 왔어", reply("어서 오세요")))
        assert recent_history(row.id) == [("user", "안녕"), ("bot", "반가워요"), ("user", "또 왔어"),
                                          ("bot", "어서 오세요")]
        assert stored.bot_message_id == stored.user_message_id + 1


def test_a_failed_step_stores_nothing(app):
    with app.test_request_context():
        with pytest.raises(IntegrityError):
            store_exchange(Exchange(None, "안녕", reply(None)))  # the bot's text may not be NULL
        assert (count(Conversation), count(StoredMessage)) == (0, 0)


def test_someone_elses_or_a_malformed_id_is_nobodys(app):
    with app.test_request_context():
        conversation_id = store_exchange(Exchange(None, "안녕", reply("네"))).conversation_id
    with app.test_request_context():  # another browser: no guest key
        assert owned_conversation(conversation_id) is None
        assert owned_conversation("../etc/passwd") is None
        assert owned_conversation_with_history(conversation_id) == (None, [])
        assert owned_conversation_with_history("../etc/passwd") == (None, [])


def test_the_chat_path_reads_the_conversation_and_its_last_messages_at_once(app):
    app.config["HISTORY_MESSAGES"] = 3
    with app.test_request_context():
        row = owned_conversation(store_exchange(Exchange(None, "하나", reply("둘"))).conversation_id)
        store_exchange(Exchange(row, "셋", reply("넷")))
        found, history = owned_conversation_with_history(row.id)
        assert (found.id, found.user_id, found.guest_key) == (row.id, row.user_id, row.guest_key)
        assert history == recent_history(row.id) == [("bot", "둘"), ("user", "셋"), ("bot", "넷")]
        app.config["HISTORY_MESSAGES"] = 0
        found, history = owned_conversation_with_history(row.id)
        assert (found.id, history) == (row.id, [])


def test_a_driver_statement_stores_what_sqlalchemy_would(app):
    """The chat path's DB-API statements bind values through the column types as Connection.execute does: the
    same row, read back through the ORM, whether SQLite (dates as text) or PostgreSQL."""
    from datetime import datetime, timezone

    from sqlalchemy import insert

    from webui.database import request_connection, write_transaction
    from webui.store import INSERT_MESSAGE, MESSAGE_COLUMNS

    when = datetime(2026, 12, 7, 21, 5, 9, 120034, tzinfo=timezone.utc)
    with app.test_request_context():
        conversation_id = store_exchange(Exchange(None, "안녕", reply("네"))).conversation_id
        values = dict(zip(MESSAGE_COLUMNS, (conversation_id, "bot", "같은 줄", "greet", 0.25, True, when), strict=True))
        with write_transaction() as conn:
            (driver_id,), = INSERT_MESSAGE.run(conn, values)
            core_id = conn.execute(insert(StoredMessage).returning(StoredMessage.id), values).scalar_one()
        assert request_connection().in_transaction() is False  # committed: nothing left open
    with app.app_context():
        driver, core = db.session.get(StoredMessage, driver_id), db.session.get(StoredMessage, core_id)
        assert [getattr(driver, c) for c in MESSAGE_COLUMNS] == [getattr(core, c) for c in MESSAGE_COLUMNS]
        assert (driver.fallback, driver.confidence) == (True, 0.25)
        assert driver.created_at.replace(tzinfo=timezone.utc) == when


def test_a_driver_statement_fails_as_sqlalchemy_does_and_keeps_nothing(app):
    """A DB-API error comes out as SQLAlchemy's (the error handlers know those), and rolls the transaction back."""
    from webui.database import write_transaction
    from webui.store import TOUCH_CONVERSATION

    with app.test_request_context():
        conversation_id = store_exchange(Exchange(None, "안녕", reply("네"))).conversation_id
        with pytest.raises(IntegrityError), write_transaction() as conn:
            TOUCH_CONVERSATION.run(conn, {"conversation_id": conversation_id, "now": None})  # updated_at is NOT NULL
        assert owned_conversation(conversation_id) is not None  # the connection still works
    with app.app_context():
        assert count(Conversation) == 1 and db.session.get(Conversation, conversation_id).updated_at is not None

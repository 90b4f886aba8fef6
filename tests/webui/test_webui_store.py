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

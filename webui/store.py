"""Conversation storage shared by the blueprints: the caller's conversations, their recent history and
dialogue state, and the one transaction that writes a chat exchange (messages, files, the new dialogue
state, and the reminders the bot added or deleted).

Every lookup is filtered by owner (``webui.auth``), so another owner's conversation reads as missing.
The chat path runs prebuilt Core statements on the request's own connection, outside the ORM session,
and its statements straight on the DB-API cursor (``webui.database.DriverStatement``): the ORM's unit of
work, and the execution context SQLAlchemy builds around each statement, cost more CPU than SQLite took
to run them (docs/benchmarks.md, "throughput, load and crash" and "Issue 19: the chat request at the floor").
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import Integer, bindparam, insert, select, update
from sqlalchemy.engine import Connection

from webui.auth import new_owner, owned_by_caller
from webui.database import DriverStatement, request_connection, write_transaction
from webui.errors import ApiError
from webui.extensions import db
from webui.tables import Attachment, Conversation, StoredMessage, new_conversation_id, utcnow

logger = logging.getLogger(__name__)

TITLE_CHARS = 40
IMAGE_TITLE = "이미지"  # the title of a conversation opened by a picture without text

HISTORY = (select(StoredMessage.role, StoredMessage.text)
           .where(StoredMessage.conversation_id == bindparam("conversation_id"))
           .order_by(StoredMessage.id.desc()).limit(bindparam("limit", type_=Integer)))
# The chat path's read in one statement: the conversation's owner columns and dialogue state, and its last
# messages (a row each, oldest first; one row of NULLs when it has none).
RECENT_MESSAGE_IDS = (select(StoredMessage.id).where(StoredMessage.conversation_id == bindparam("key"))
                      .order_by(StoredMessage.id.desc()).limit(bindparam("limit", type_=Integer))
                      .correlate(None))  # its own FROM messages, not the outer query's
CONVERSATION_WITH_HISTORY = DriverStatement(
    select(Conversation.id, Conversation.user_id, Conversation.guest_key, Conversation.dialogue_state,
           StoredMessage.role, StoredMessage.text)
    .select_from(Conversation)
    .outerjoin(StoredMessage,
               (StoredMessage.conversation_id == Conversation.id) & StoredMessage.id.in_(RECENT_MESSAGE_IDS))
    .where(Conversation.id == bindparam("key")).order_by(StoredMessage.id))
INSERT_CONVERSATION = insert(Conversation)
THE_CONVERSATION = update(Conversation).where(Conversation.id == bindparam("conversation_id"))
TOUCH_CONVERSATION = DriverStatement(THE_CONVERSATION.values(updated_at=bindparam("now")))
TOUCH_CONVERSATION_WITH_STATE = DriverStatement(THE_CONVERSATION.values(updated_at=bindparam("now"),
                                                                        dialogue_state=bindparam("state")))
MESSAGE_COLUMNS = ("conversation_id", "role", "text", "intent", "confidence", "fallback", "created_at")
INSERT_MESSAGE = DriverStatement(insert(StoredMessage).returning(StoredMessage.id), MESSAGE_COLUMNS)
INSERT_ATTACHMENTS = insert(Attachment)


class ConversationRow(NamedTuple):
    """A row of ``CONVERSATION_WITH_HISTORY``: what ``owned_by_caller`` and ``Exchange.conversation`` read."""

    id: str
    user_id: int | None
    guest_key: str | None
    dialogue_state: str | None
    role: str | None
    text: str | None


def conversation_not_found() -> ApiError:
    """The 404 for unknown, malformed and other people's conversation ids alike."""
    return ApiError(404, "conversation_not_found", "대화를 찾을 수 없습니다. 새 대화를 시작해 주세요.")


def conversation_key(conversation_id: Any) -> str | None:
    """The stored form of a conversation id (32 hex digits), or None when it is not one."""
    try:
        return uuid.UUID(conversation_id).hex
    except (ValueError, TypeError, AttributeError):
        return None


def owned_conversation(conversation_id: Any) -> ConversationRow | None:
    """The caller's conversation ``conversation_id`` as a light row (with ``id``, ``user_id``, ``guest_key``) for
    the chat path, or None when the id is malformed, unknown or someone else's."""
    return owned_conversation_with_history(conversation_id)[0]


def owned_conversation_with_history(conversation_id: Any) -> tuple[ConversationRow | None, list[tuple[str, str]]]:
    """``owned_conversation`` and its ``recent_history`` in one statement, for the chat path; ``(None, [])``
    when the id is malformed, unknown or someone else's (the messages read then are dropped). The row's
    ``dialogue_state`` is the stored JSON text (``load_state`` reads it)."""
    key = conversation_key(conversation_id)
    if key is None:
        return None, []
    limit = int(current_app.config["HISTORY_MESSAGES"])
    found = CONVERSATION_WITH_HISTORY.run(request_connection(), {"key": key, "limit": limit})
    rows = [ConversationRow(*row) for row in found]
    if not rows or not owned_by_caller(rows[0]):
        return None, []
    return rows[0], [(row.role, row.text) for row in rows if row.role is not None]


def load_state(stored: Any) -> dict[str, Any] | None:
    """A conversation's stored dialogue state as the bot takes it: None when there is none, and when the
    text is damaged (not JSON, not an object), so that a bad row reads as an empty state, never an error."""
    if not stored:
        return None
    try:
        state = json.loads(stored)
    except (ValueError, TypeError, RecursionError):
        logger.warning("A stored dialogue state is not JSON; starting from an empty state")
        return None
    return state if isinstance(state, dict) else None


def dump_state(state: Any) -> str | None:
    """The text stored for a dialogue state (compact JSON; None for none, or for one that will not encode)."""
    if state is None:
        return None
    try:
        return json.dumps(state, ensure_ascii=False, separators=(",", ":"), default=str)
    except (ValueError, TypeError, RecursionError):
        logger.warning("The bot's dialogue state cannot be stored as JSON; storing none", exc_info=True)
        return None


def get_conversation(conversation_id: str) -> Conversation | None:
    """One of the caller's conversations as an ORM object (messages, renaming, deleting), or None like
    ``owned_conversation``, so that the answer (404) tells the cases apart for nobody."""
    key = conversation_key(conversation_id)
    if key is None:
        return None
    conversation = db.session.get(Conversation, key)
    if conversation is None or not owned_by_caller(conversation):
        return None
    return conversation


def recent_history(conversation_id: str) -> list[tuple[str, str]]:
    """The last few ``(role, text)`` pairs of a conversation, oldest first, for the bot's context."""
    limit = int(current_app.config["HISTORY_MESSAGES"])
    rows = request_connection().execute(HISTORY, {"conversation_id": conversation_id, "limit": limit}).all()
    return [(role, text) for role, text in reversed(rows)]


@dataclass
class Exchange:
    """One chat turn to store: the user's message, the bot's reply, the files of each side, the new
    dialogue state and the reminder changes.

    ``conversation`` is the row from ``owned_conversation``, or None to open a new conversation.
    ``user_files``/``bot_files``: ``{"type", "role", "file", "original", "data"}`` rows from
    ``webui.api.stored_attachments``. ``state``: the reply's dialogue state (a JSON-ready dict), or None to
    leave the stored one as it is (a bot without dialogue state: the stand-in, or a test's). ``reminders``:
    the request's ``webui.reminders.SqlReminderBook`` (its buffered changes are written here), or None."""

    conversation: Any
    user_text: str
    reply: Any
    user_files: list[dict[str, Any]] = field(default_factory=list)
    bot_files: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] | None = None
    reminders: Any = None

    @property
    def confidence(self) -> float | None:
        return float(self.reply.confidence) if self.reply.confidence is not None else None


@dataclass(frozen=True)
class StoredExchange:
    """Where an exchange was stored."""

    conversation_id: str
    user_message_id: int
    bot_message_id: int


def store_exchange(exchange: Exchange) -> StoredExchange:
    """Write the exchange in one transaction: the conversation (new, or its ``updated_at``) with its dialogue
    state, both messages, their attachments, the reminders added or deleted. Rolled back, and the error
    raised again, when any step fails."""
    with write_transaction() as conn:
        now = utcnow()
        conversation_id = _save_conversation(conn, exchange, now)
        user_id, bot_id = _insert_messages(conn, conversation_id, exchange, now)
        _insert_attachments(conn, conversation_id, (user_id, bot_id), exchange, now)
        if exchange.reminders is not None:
            exchange.reminders.apply(conn, conversation_id, now)
    return StoredExchange(conversation_id, user_id, bot_id)



def _save_conversation(conn: Connection, exchange: Exchange, now: Any) -> str:
    state = dump_state(exchange.state)
    if exchange.conversation is not None:
        if state is None:
            TOUCH_CONVERSATION.run(conn, {"conversation_id": exchange.conversation.id, "now": now})
        else:
            TOUCH_CONVERSATION_WITH_STATE.run(conn, {"conversation_id": exchange.conversation.id, "now": now,
                                                     "state": state})
        return str(exchange.conversation.id)
    conversation_id = new_conversation_id()
    title = (exchange.user_text or IMAGE_TITLE)[:TITLE_CHARS]
    conn.execute(INSERT_CONVERSATION, {"id": conversation_id, "title": title, "created_at": now, "updated_at": now,
                                       "dialogue_state": state, **new_owner()})
    return conversation_id


def _insert_messages(conn: Connection, conversation_id: str, exchange: Exchange, now: Any) -> tuple[int, int]:
    reply = exchange.reply
    rows = [
        {"conversation_id": conversation_id, "role": "user", "text": exchange.user_text, "intent": None,
         "confidence": None, "fallback": False, "created_at": now},
        {"conversation_id": conversation_id, "role": "bot", "text": reply.text, "intent": reply.intent,
         "confidence": exchange.confidence, "fallback": bool(reply.fallback), "created_at": now},
    ]
    user_id, bot_id = (INSERT_MESSAGE.run(conn, row)[0][0] for row in rows)  # one statement each: ids in order
    return user_id, bot_id


def _insert_attachments(conn: Connection, conversation_id: str, message_ids: tuple[int, int], exchange: Exchange,
                        now: Any) -> None:
    rows = [{"conversation_id": conversation_id, "message_id": message_id, "type": row["type"],
             "role": row.get("role"), "file": row.get("file"), "original": row.get("original"),
             "data": json.dumps(row["data"], ensure_ascii=False), "created_at": now}
            for message_id, group in zip(message_ids, (exchange.user_files, exchange.bot_files), strict=True)
            for row in group]
    if rows:
        conn.execute(INSERT_ATTACHMENTS, rows)

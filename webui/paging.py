"""Keyset pages of the caller's conversations and of one conversation's messages, and the opaque cursors and
``limit`` values the paged JSON endpoints read (``webui.history_api``; ``webui.reminders_api`` reads its own
``after`` cursors with the same helpers).

A cursor is the sort key of the last row a client was shown, base64url: the next page is "the rows after
that key", so a row added or removed meanwhile neither repeats nor skips one of the others (an offset
would). The conversation list is ordered as the page shows it, most recently active first, by
``(updated_at, id)`` descending, the id breaking ties between equal times. A conversation's messages come
newest page first, each page oldest first within itself, by message id: the chat page opens on the latest
exchange and reaches further back as the reader scrolls up, and a page reads in the order it is drawn.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from webui.auth import owner_clause
from webui.errors import ApiError
from webui.extensions import db
from webui.reminders import as_utc, stored_utc
from webui.tables import Conversation, StoredMessage

DEFAULT_CONVERSATIONS, MAX_CONVERSATIONS = 50, 200
DEFAULT_MESSAGES, MAX_MESSAGES = 50, 200
CONVERSATION_KEY = re.compile(r"[0-9a-f]{32}")
MAX_CURSOR_CHARS = 200
MAX_MESSAGE_ID = 2**31 - 1  # PostgreSQL's INTEGER: a larger id cannot exist, and must not reach a query
CURSOR_MESSAGE = "cursor 값이 올바르지 않습니다. 이전 응답의 next_cursor 값을 그대로 보내 주세요."


@dataclass(frozen=True)
class Page:
    """One page of rows and the cursor of the page after it (None when this one is the last)."""

    rows: list[Any]
    next_cursor: str | None


def read_limit(value: str | None, default: int, maximum: int) -> int:
    """A ``limit`` query parameter: ``default`` when absent; 1 to ``maximum`` in plain digits, or a 400."""
    if value is None:
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 4 and 1 <= int(value) <= maximum):
        raise ApiError(400, "invalid_limit", f"limit은 1~{maximum} 사이의 정수여야 합니다.")
    return int(value)


def encode_cursor(*parts: str) -> str:
    """An opaque cursor carrying ``parts`` (none may contain ``|``)."""
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def decode_cursor(value: str, count: int) -> list[str]:
    """The ``count`` parts of a cursor from ``encode_cursor``; ValueError for anything else."""
    if not value or len(value) > MAX_CURSOR_CHARS or not value.isascii():
        raise ValueError("not a cursor")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (binascii.Error, UnicodeError) as exc:
        raise ValueError("not a cursor") from exc
    parts = raw.split("|")
    if len(parts) != count:
        raise ValueError("not a cursor")
    return parts


def conversation_page(limit: int, cursor: str | None) -> Page:
    """The caller's conversations, most recently active first, after ``cursor`` (the first page without)."""
    query = select(Conversation).where(owner_clause())
    if cursor is not None:
        updated, last_id = _read_conversation_cursor(cursor)
        query = query.where(or_(Conversation.updated_at < updated,
                                and_(Conversation.updated_at == updated, Conversation.id < last_id)))
    query = query.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(limit + 1)
    rows = list(db.session.execute(query).scalars())
    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    return Page(rows[:limit], encode_cursor("c", stored_utc(last.updated_at).isoformat(), last.id))


def message_page(conversation_id: str, limit: int, cursor: str | None) -> Page:
    """A page of one conversation's messages: the newest ``limit`` before ``cursor`` (the latest without),
    oldest first. The caller has checked that the conversation is the caller's."""
    query = select(StoredMessage).where(StoredMessage.conversation_id == conversation_id)
    if cursor is not None:
        query = query.where(StoredMessage.id < _read_message_cursor(cursor))
    rows = list(db.session.execute(query.order_by(StoredMessage.id.desc()).limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    rows.reverse()
    return Page(rows, encode_cursor("m", str(rows[0].id)) if more else None)


def _read_conversation_cursor(value: str) -> tuple[datetime, str]:
    try:
        kind, updated_text, last_id = decode_cursor(value, 3)
        updated = datetime.fromisoformat(updated_text)
        if kind != "c" or updated.tzinfo is None or not CONVERSATION_KEY.fullmatch(last_id):
            raise ValueError("not a conversation cursor")
        return as_utc(updated), last_id
    except (ValueError, OverflowError) as exc:
        raise ApiError(400, "invalid_cursor", CURSOR_MESSAGE) from exc


def _read_message_cursor(value: str) -> int:
    try:
        kind, id_text = decode_cursor(value, 2)
        if kind != "m" or not (id_text.isascii() and id_text.isdigit() and len(id_text) <= 10):
            raise ValueError("not a message cursor")
        if not 1 <= int(id_text) <= MAX_MESSAGE_ID:
            raise ValueError("not a message id")
        return int(id_text)
    except ValueError as exc:
        raise ApiError(400, "invalid_cursor", CURSOR_MESSAGE) from exc

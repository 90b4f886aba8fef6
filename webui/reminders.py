"""Reminders in the database: the caller's ``ReminderBook`` for the chat path, and the helpers that the
reminder API shares with it (owner filters, UTC times).

The bot's actions run in the library's worker threads (``chatbot.actions.registry``), outside the request's
app context, while the request thread waits. So ``SqlReminderBook`` takes what it needs in the request
thread (the engine, the caller's owner columns), reads on a connection of its own when asked, and only
*buffers* its writes: ``apply`` writes them in ``webui.store.store_exchange``'s transaction, with the
messages, inside ``webui.database.write_lock``. Writing from the action thread would take SQLite's write
lock outside that lock, and could deadlock with a request thread holding it.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection, Engine

from webui.auth import current_owner, new_owner, owner_clause
from webui.extensions import db
from webui.tables import REMINDER_TEXT_CHARS, Reminder

logger = logging.getLogger(__name__)

BOT_ZONE = ZoneInfo("Asia/Seoul")  # the library's default timezone: what a naive time means
MAX_REMINDERS = 1000  # per owner, past ones included: a bound on what one browser session can store
MAX_REMINDER_ID = 2**31 - 1  # PostgreSQL's INTEGER: a larger id cannot exist, and must not reach a query


class ReminderLimitReached(ValueError):
    """The owner already keeps ``MAX_REMINDERS`` reminders."""


def as_utc(moment: datetime, zone: tzinfo = BOT_ZONE) -> datetime:
    """``moment`` in UTC, as it is stored (SQLite drops the offset, so every stored time and every bound of
    a query must be UTC); a naive ``moment`` is read in ``zone``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(timezone.utc)


def stored_utc(value: datetime) -> datetime:
    """A time read back from the database, aware in UTC (SQLite hands it back naive)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def reminder_id(value: Any) -> int | None:
    """A reminder id from a path or the bot (an int, or digits), or None when it cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    return value if isinstance(value, int) and 1 <= value <= MAX_REMINDER_ID else None


def count_reminders(conn: Connection, owner: dict[str, Any]) -> int:
    """How many reminders ``owner`` keeps."""
    return int(conn.execute(select(func.count()).select_from(Reminder).where(owner_clause(Reminder, owner)))
               .scalar_one())


class SqlReminderBook:
    """The caller's reminders for one chat request (``chatbot.actions.reminders.ReminderBook``).

    Made in the request thread, cheaply (no query until an action asks); read at once, on a connection of
    its own; ``add`` and ``delete`` are buffered until ``apply``. What ``add`` returns has ``id`` None, as
    the row does not exist yet. Dues come back in the timezone of ``upcoming``'s ``start`` (the bot's
    clock), else in Asia/Seoul."""

    def __init__(self, engine: Engine, owner: dict[str, Any]) -> None:
        self._engine, self._owner = engine, dict(owner)
        self._lock = threading.Lock()  # the action's thread writes the buffers, the request's reads them
        self._added: list[dict[str, Any]] = []
        self._deleted: set[int] = set()
        self._closed = False

    @classmethod
    def for_request(cls) -> SqlReminderBook:
        """The caller's book (in the request thread: it reads the caller's owner columns)."""
        return cls(db.engine, current_owner())

    @property
    def changed(self) -> bool:
        """Whether this request added or deleted a reminder."""
        with self._lock:
            return bool(self._added or self._deleted)

    def _has_owner(self) -> bool:
        return self._owner["user_id"] is not None or bool(self._owner["guest_key"])

    def add(self, text: str, due: datetime) -> dict[str, Any]:
        """Buffer a reminder; ``{"id": None, "text", "due"}``. ReminderLimitReached past ``MAX_REMINDERS``."""
        text = " ".join(str(text).split())[:REMINDER_TEXT_CHARS]
        if not text:
            raise ValueError("a reminder needs a text")
        due_utc = as_utc(due)
        stored = 0
        if self._has_owner():
            with self._engine.connect() as conn:
                stored = count_reminders(conn, self._owner)
        with self._lock:
            if stored + len(self._added) >= MAX_REMINDERS:
                raise ReminderLimitReached(f"the owner keeps {MAX_REMINDERS} reminders already")
            if self._closed:  # the action outlived its time limit: the exchange is stored already
                logger.warning("A reminder added after its exchange was stored is dropped")
            else:
                self._added.append({"text": text, "due_at": due_utc})
        return {"id": None, "text": text, "due": due}

    def upcoming(self, start: datetime | None = None, end: datetime | None = None,
                 limit: int = 20) -> list[dict[str, Any]]:
        """The caller's reminders due in ``[start, end)``, soonest first, with this request's changes."""
        zone = start.tzinfo if start is not None and start.tzinfo is not None else BOT_ZONE
        limit = max(0, int(limit))
        with self._lock:
            deleted, added = set(self._deleted), list(self._added)
        items: list[dict[str, Any]] = []
        if self._has_owner() and limit:
            query = select(Reminder.id, Reminder.text, Reminder.due_at).where(owner_clause(Reminder, self._owner))
            if start is not None:
                query = query.where(Reminder.due_at >= as_utc(start))
            if end is not None:
                query = query.where(Reminder.due_at < as_utc(end))
            query = query.order_by(Reminder.due_at, Reminder.id).limit(limit + len(deleted))
            with self._engine.connect() as conn:
                items = [{"id": row.id, "text": row.text, "due": stored_utc(row.due_at)}
                         for row in conn.execute(query) if row.id not in deleted]
        items += [{"id": None, "text": a["text"], "due": a["due_at"]} for a in added
                  if (start is None or a["due_at"] >= as_utc(start)) and (end is None or a["due_at"] < as_utc(end))]
        items.sort(key=lambda i: (i["due"], i["id"] is None, i["id"] or 0))
        return [{**i, "due": i["due"].astimezone(zone)} for i in items[:limit]]

    def delete(self, reminder_id_: Any) -> bool:
        """Buffer the deletion of one of the caller's reminders; False when it is not theirs, or not there."""
        found = reminder_id(reminder_id_)
        if found is None or not self._has_owner():
            return False
        with self._lock:
            if found in self._deleted:
                return False
        with self._engine.connect() as conn:
            exists = conn.execute(select(Reminder.id).where(Reminder.id == found,
                                                            owner_clause(Reminder, self._owner))).first()
        if exists is None:
            return False
        with self._lock:
            if self._closed:
                logger.warning("A reminder deleted after its exchange was stored is kept")
                return False
            self._deleted.add(found)
        return True

    def apply(self, conn: Connection, conversation_id: str | None, now: datetime) -> None:
        """Write the buffered changes on ``conn`` (the exchange's transaction), for the caller; later changes
        are dropped. No statement at all when nothing changed."""
        with self._lock:
            self._closed = True
            added, deleted = list(self._added), sorted(self._deleted)
        if not added and not deleted:
            return
        owner = new_owner()  # a guest's first message gets its key here, as its conversation does
        if deleted:
            conn.execute(delete(Reminder).where(Reminder.id.in_(deleted), owner_clause(Reminder, owner)))
        if added:
            conn.execute(insert(Reminder), [
                {"user_id": owner["user_id"], "guest_key": owner["guest_key"], "conversation_id": conversation_id,
                 "text": a["text"], "due_at": a["due_at"], "created_at": now, "notified_at": None} for a in added])

"""Where reminders are kept: the ``ReminderBook`` an action is handed (``services["reminders"]``).

The web layer gives each request the person's own book, stored in the database (guests by their browser
session, accounts by account); ``MemoryReminderBook`` serves the command line and the dialogue tests. A
reminder is ``{"id", "text", "due"}`` with ``due`` an aware datetime."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any, Protocol


class ReminderBook(Protocol):
    """One person's reminders."""

    def add(self, text: str, due: datetime) -> dict[str, Any]:
        """Store a reminder; returns it with its ``id``."""
        ...

    def upcoming(self, start: datetime | None = None, end: datetime | None = None,
                 limit: int = 20) -> list[dict[str, Any]]:
        """Reminders due in ``[start, end)`` (open ends: no bound), soonest first."""
        ...

    def delete(self, reminder_id: Any) -> bool:
        """Remove one reminder; False when it was not there."""
        ...


class MemoryReminderBook:
    """A ``ReminderBook`` in a list, for one process (the command line, tests)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def add(self, text: str, due: datetime) -> dict[str, Any]:
        item = {"id": next(self._ids), "text": text, "due": due}
        self.items.append(item)
        return dict(item)

    def upcoming(self, start: datetime | None = None, end: datetime | None = None,
                 limit: int = 20) -> list[dict[str, Any]]:
        found = [dict(i) for i in self.items
                 if (start is None or i["due"] >= start) and (end is None or i["due"] < end)]
        return sorted(found, key=lambda i: (i["due"], i["id"]))[:limit]

    def delete(self, reminder_id: Any) -> bool:
        before = len(self.items)
        self.items = [i for i in self.items if i["id"] != reminder_id]
        return len(self.items) < before

"""A conversation's dialogue state: what the bot remembers between two messages.

The state is plain JSON (``to_dict``/``from_dict``) so that the web layer can store it with the
conversation's messages, in the same transaction, and any worker on any machine can read it back for
the next message. ``chatbot/`` never stores it: ``Bot.reply`` takes it in and hands the new one back.
``from_dict`` accepts anything: a missing, old or damaged state reads as an empty one, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATE_VERSION = 1
MAX_TURNS = 10  # user and bot lines kept for "방금 내가 뭐라고 했지?" (the messages table keeps them all)
MAX_TURN_CHARS = 300


@dataclass
class Pending:
    """A form waiting for an answer: ``intent``'s ``slot`` was asked for, ``tries`` times so far."""

    intent: str
    slot: str
    tries: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"intent": self.intent, "slot": self.slot, "tries": self.tries}


@dataclass
class DialogueState:
    """The last intent, its filled slots (``{name: entity dict}``), the pending question, recent turns."""

    intent: str | None = None
    slots: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: Pending | None = None
    turns: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "intent": self.intent, "slots": self.slots,
                "pending": self.pending.to_dict() if self.pending else None, "turns": self.turns}

    @classmethod
    def from_dict(cls, data: Any) -> DialogueState:
        """The state stored as ``data``; an empty state for None and for anything malformed."""
        if not isinstance(data, dict):
            return cls()
        intent = data.get("intent") if isinstance(data.get("intent"), str) else None
        slots = {str(k): v for k, v in (data.get("slots") or {}).items() if isinstance(v, dict)} \
            if isinstance(data.get("slots"), dict) else {}
        pending = None
        raw = data.get("pending")
        if isinstance(raw, dict) and isinstance(raw.get("intent"), str) and isinstance(raw.get("slot"), str):
            tries = raw.get("tries")
            pending = Pending(raw["intent"], raw["slot"], tries if isinstance(tries, int) and tries > 0 else 1)
        turns = [t for t in data.get("turns") or [] if isinstance(t, dict) and isinstance(t.get("text"), str)
                 and t.get("role") in ("user", "bot")] if isinstance(data.get("turns"), list) else []
        return cls(intent, slots, pending, turns[-MAX_TURNS:])

    def add_turn(self, role: str, text: str, intent: str | None = None) -> None:
        """Remember one line of the conversation (the last ``MAX_TURNS`` are kept)."""
        self.turns.append({"role": role, "text": text[:MAX_TURN_CHARS], "intent": intent})
        del self.turns[:-MAX_TURNS]

    def user_turns(self) -> list[str]:
        """What the user said, oldest first."""
        return [t["text"] for t in self.turns if t["role"] == "user"]

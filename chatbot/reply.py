"""What the bot says back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Reply:
    """What the bot says back, with what it understood."""

    text: str
    intent: str | None = None
    confidence: float = 0.0
    fallback: bool = False
    suggestions: list[str] = field(default_factory=list)
    source: str = ""  # which responder or command produced the text
    attachments: list[dict[str, Any]] = field(default_factory=list)
    # What the message is about: ``Entity.to_dict()`` items with offsets into the message as sent.
    entities: list[dict[str, Any]] = field(default_factory=list)
    # The conversation's side (chatbot.dialogue): the form's slot values so far, and the dialogue state to
    # store and hand back with the next message (None from a bot without a dialogue policy... or a command).
    slots: dict[str, Any] | None = None
    state: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

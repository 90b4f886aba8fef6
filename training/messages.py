"""Helpers on corpus messages that training and evaluation share."""

from __future__ import annotations

from chatbot.message import Message


def fresh(messages: list[Message]) -> list[Message]:
    """Unprocessed copies (processing annotates messages in place)."""
    return [Message(text=m.text, gold_intent=m.gold_intent, gold_answer=m.gold_answer, source=m.source,
                    gold_entities=list(m.gold_entities)) for m in messages]

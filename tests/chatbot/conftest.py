"""Shared by the entity tagger tests: the pipeline's front stages (normalizer, Kiwi) and running them."""

from __future__ import annotations

import pytest

from chatbot.message import Message
from chatbot.registry import create


@pytest.fixture(scope="session")
def front():
    """The stages a tagger needs before it: normalizer and Kiwi tokenizer."""
    return [create("normalizer"), create("tokenizer", {"backend": "kiwi"})]


def prepare(front, messages: list[Message]) -> list[Message]:
    """``messages`` as the front stages leave them."""
    for stage in front:
        messages = stage.process_batch(messages)
    return messages

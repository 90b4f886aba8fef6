"""Fixtures for the web app: a fresh app per test with a temporary SQLite database and a fake bot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from webui import create_app


@dataclass
class FakeReply:
    """Same fields as ``chatbot.bot.Reply``."""

    text: str
    intent: str | None = None
    confidence: float = 0.0
    fallback: bool = False
    suggestions: list[str] = field(default_factory=list)
    source: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)


class FakeBot:
    """Echoes deterministically and validates like the real ``Bot.reply``; records the contexts it saw."""

    BOOM = "__boom__"  # fails unexpectedly on this text, to exercise the 500 handler
    FALLBACK = "__fallback__"  # falls back on this text, with suggestions
    meta = {"created_at": "2024-01-01T00:00:00+00:00", "tokenizer": "fake", "intents": ["echo", "greet"]}

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def reply(self, text: str, context: dict[str, Any] | None = None) -> FakeReply:
        """Echo ``text``."""
        if not isinstance(text, str):
            raise TypeError("message must be a string")
        if not text.strip():
            raise ValueError("message is empty")
        if len(text.strip()) > 1000:
            raise ValueError("message is longer than 1000 characters")
        self.calls.append((text, dict(context or {})))
        if text == self.BOOM:
            raise RuntimeError("simulated bug in the bot")
        if text == self.FALLBACK:
            return FakeReply("잘 모르겠어요.", None, 0.1, True, ["날씨 알려줘", "도움말"], "fallback")
        return FakeReply(f"echo: {text}", "echo", 0.9, False, [], "fake")


@pytest.fixture
def fake_bot() -> FakeBot:
    """The bot the test app serves."""
    return FakeBot()


@pytest.fixture
def app(tmp_path, fake_bot: FakeBot) -> Flask:
    """A test app on its own SQLite file."""
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.db'}",
            "BOT": fake_bot,
        }
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for ``app``."""
    return app.test_client()

"""Fixtures for the web app: a fresh app per test with a temporary SQLite database and a fake bot."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from webui import create_app

# Tests make many accounts; scrypt's deliberate slowness (the default) is not under test here.
FAST_HASH = "pbkdf2:sha256:1000"


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
    entities: list[dict[str, Any]] = field(default_factory=list)


class FakeBot:
    """Echoes deterministically and validates like the real ``Bot.reply``; records the contexts it saw."""

    BOOM = "__boom__"  # fails unexpectedly on this text, to exercise the 500 handler
    FALLBACK = "__fallback__"  # falls back on this text, with suggestions
    meta = {"created_at": "2024-01-01T00:00:00+00:00", "tokenizer": "fake", "intents": ["echo", "greet"]}

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def reply(self, text: str, context: dict[str, Any] | None = None, image: Any = None) -> FakeReply:
        """Echo ``text``; with a picture, describe its size and attach a classification and a picture."""
        if not isinstance(text, str):
            raise TypeError("message must be a string")
        if image is not None:
            picture = image.image
            self.calls.append((text, {**dict(context or {}), "image": picture}))
            return FakeReply(f"그림 {picture.width}x{picture.height}", "image", 0.8, source="command", attachments=[
                {"type": "classification", "model": "fake", "labels": [{"label": "숫자 7", "score": 0.8},
                                                                      {"label": "숫자 1", "score": 0.15}]},
                {"type": "image", "role": "gradcam", "png": png_bytes((12, 12), "red"), "width": 12, "height": 12,
                 "alt": "모델이 주목한 부분"},
            ])
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


def png_bytes(size: tuple[int, int] = (20, 10), colour: str = "blue") -> bytes:
    """A small PNG made here."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def fake_bot() -> FakeBot:
    """The bot the test app serves."""
    return FakeBot()


@pytest.fixture
def app(tmp_path, fake_bot: FakeBot, database_uri: str) -> Flask:
    """A test app on its own empty database: a SQLite file, or a PostgreSQL schema with ``TEST_DATABASE_URL``."""
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "BOT": fake_bot,
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
            "SECRET_KEY": "test secret key",
            "PASSWORD_HASH_METHOD": FAST_HASH,
        }
    )


@pytest.fixture
def make_app(tmp_path, fake_bot: FakeBot):
    """``make_app(**config)``: another test app, on its own SQLite file, with extra settings (no secret
    key unless given: the security tests check where one comes from)."""
    count = iter(range(1000))

    def build(**config) -> Flask:
        n = next(count)
        return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / f'test{n}.db'}",
                           "BOT": fake_bot, "UPLOAD_FOLDER": str(tmp_path / "uploads"),
                           "PASSWORD_HASH_METHOD": FAST_HASH, **config})

    return build


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for ``app``."""
    return app.test_client()

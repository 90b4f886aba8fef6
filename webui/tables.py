"""Database tables: users and their API tokens, conversations (with their dialogue state), their messages,
the messages' attachments, feedback, and reminders.

The schema is managed with Alembic migrations (``webui/migrations/``); a change here needs a new
migration (``flask --app webui.manage db migrate -m "..."``), which the tests compare with these models."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import url_for
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.schema import Index

from webui.extensions import db


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


def new_conversation_id() -> str:
    """A random conversation id: 32 lowercase hex digits (uuid4)."""
    return uuid.uuid4().hex


def isoformat_utc(value: datetime) -> str:
    """ISO 8601 with a timezone; SQLite hands datetimes back naive, and we only ever store UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


ROLES = ("user", "trainer", "admin")  # in increasing order of rights
# A row id in a URL (werkzeug's int converter, bounded): a larger number is a 404 before any query, since
# neither SQLite (up to 2**63 - 1) nor PostgreSQL's integer (2**31 - 1) holds it, and the driver would fail.
ROW_ID = "int(min=1, max=2147483647)"


class User(UserMixin, db.Model):
    """An account. ``username`` is stored NFC-normalised and lower-cased, so it is unique however typed."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('user', 'trainer', 'admin')", name="ck_users_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def has_role(self, role: str) -> bool:
        """Whether this user has ``role`` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (never the password hash)."""
        return {"id": self.id, "username": self.username, "role": self.role,
                "created_at": isoformat_utc(self.created_at)}


class ApiToken(db.Model):
    """A personal API token for programmatic clients. Only its SHA-256 is stored; the token itself
    is shown once, when it is made."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the first characters, to tell tokens apart in a list
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    user: Mapped[User] = relationship()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (never the token or its hash)."""
        return {"id": self.id, "name": self.name, "prefix": self.prefix, "created_at": isoformat_utc(self.created_at),
                "last_used_at": isoformat_utc(self.last_used_at) if self.last_used_at else None}


class Conversation(db.Model):
    """One chat session, addressed by a random id. It belongs to a user, or to a guest's browser
    session (``guest_key``, a random value kept in the signed session cookie)."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_conversation_id)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE", name="fk_conversations_user_id_users"), index=True, default=None)
    guest_key: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    title: Mapped[str] = mapped_column(String(200), default="")
    # The bot's dialogue state after the last reply (``chatbot.dialogue``; JSON), written with the messages in
    # ``webui.store.store_exchange``'s transaction; NULL for a new conversation (and read as empty when damaged).
    dialogue_state: Mapped[str | None] = mapped_column(Text, default=None)
    messages: Mapped[list[StoredMessage]] = relationship(
        back_populates="conversation", order_by="StoredMessage.id", cascade="all, delete-orphan"
    )

    def summary(self) -> dict[str, Any]:
        """JSON-ready form without the messages: an item of the conversation list (``webui.paging`` pages
        the list, and the messages of ``GET /api/conversations/<id>``)."""
        return {
            "id": self.id,
            "title": self.title,
            "created_at": isoformat_utc(self.created_at),
            "updated_at": isoformat_utc(self.updated_at),
        }


class StoredMessage(db.Model):
    """One line of a conversation, said by the user or by the bot."""

    __tablename__ = "messages"
    __table_args__ = (CheckConstraint("role IN ('user', 'bot')", name="ck_messages_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(200), default=None)
    confidence: Mapped[float | None] = mapped_column(Float, default=None)
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id", cascade="all, delete-orphan", lazy="selectin"
    )
    feedback: Mapped[Feedback | None] = relationship(back_populates="message", cascade="all, delete-orphan",
                                                     lazy="selectin")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; a bot message carries its feedback (None until rated)."""
        item = {
            "id": self.id,
            "role": self.role,
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "fallback": self.fallback,
            "created_at": isoformat_utc(self.created_at),
            "attachments": [a.to_dict() for a in self.attachments],
        }
        if self.role == "bot":
            item["feedback"] = self.feedback.to_dict() if self.feedback else None
        return item


class Feedback(db.Model):
    """A rating of one bot message (👍 = 1, 👎 = -1) with an optional better answer, from the
    conversation's owner; the raw material of ``export-feedback``."""

    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("rating IN (-1, 1)", name="ck_feedback_rating"),
                      UniqueConstraint("message_id", name="uq_feedback_message"))

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(Integer)
    correction: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    message: Mapped[StoredMessage] = relationship(back_populates="feedback")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"rating": self.rating, "correction": self.correction, "updated_at": isoformat_utc(self.updated_at)}


class Attachment(db.Model):
    """Something shown with a message: a picture (its file under the instance's uploads folder, with a
    generated name) or a machine-readable result such as an image classification."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))  # "image" or "classification"
    role: Mapped[str | None] = mapped_column(String(32), default=None)  # images: "upload" or "gradcam"
    file: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)  # what the page shows
    original: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)  # the upload as sent
    data: Mapped[str] = mapped_column(Text, default="{}")  # JSON: width, height, alt, labels, model...
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    message: Mapped[StoredMessage] = relationship(back_populates="attachments")

    def to_dict(self) -> dict[str, Any]:
        """The API's attachment item: ``{"type", ...}``, with URLs for pictures."""
        return attachment_item(self.type, self.role, self.file, self.original, json.loads(self.data or "{}"))


def attachment_item(type_: str, role: str | None, file: str | None, original: str | None,
                    data: dict[str, Any]) -> dict[str, Any]:
    """One attachment as the API shows it, stored or about to be."""
    item: dict[str, Any] = {"type": type_}
    if role:
        item["role"] = role
    if file:
        item["url"] = url_for("uploads.uploaded_file", name=file)
    if original:
        item["original_url"] = url_for("uploads.uploaded_file", name=original)
    item.update(data)
    return item


REMINDER_TEXT_CHARS = 200


class Reminder(db.Model):
    """Something to remind its owner of at ``due_at`` (stored in UTC). It belongs to a user or a guest's
    browser session exactly as a conversation does, and remembers the conversation that made it (if any)."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_user_id_due_at", "user_id", "due_at"),
                      Index("ix_reminders_guest_key_due_at", "guest_key", "due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE", name="fk_reminders_user_id_users"), default=None)
    guest_key: Mapped[str | None] = mapped_column(String(32), default=None)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL", name="fk_reminders_conversation_id_conversations"),
        index=True, default=None)
    text: Mapped[str] = mapped_column(String(REMINDER_TEXT_CHARS))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    def to_dict(self) -> dict[str, Any]:
        """The API's reminder item."""
        return reminder_item(self.id, self.text, self.due_at, self.created_at, self.notified_at, self.conversation_id)


def reminder_item(id_: int, text: str, due_at: datetime, created_at: datetime, notified_at: datetime | None,
                  conversation_id: str | None) -> dict[str, Any]:
    """One reminder as the API shows it (times in ISO 8601, UTC)."""
    return {"id": id_, "text": text, "due": isoformat_utc(due_at), "created_at": isoformat_utc(created_at),
            "notified_at": isoformat_utc(notified_at) if notified_at else None, "conversation_id": conversation_id}

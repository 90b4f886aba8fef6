"""Database tables: conversations, their messages and the messages' attachments."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import url_for
from sqlalchemy import Boolean, CheckConstraint, DateTime, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

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


class Conversation(db.Model):
    """One chat session, addressed by a random id that the browser keeps."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_conversation_id)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    title: Mapped[str] = mapped_column(String(200), default="")
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id", cascade="all, delete-orphan"
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with every message, oldest first."""
        return {
            "id": self.id,
            "title": self.title,
            "created_at": isoformat_utc(self.created_at),
            "updated_at": isoformat_utc(self.updated_at),
            "messages": [m.to_dict() for m in self.messages],
        }


class Message(db.Model):
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "role": self.role,
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "fallback": self.fallback,
            "created_at": isoformat_utc(self.created_at),
            "attachments": [a.to_dict() for a in self.attachments],
        }


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

    message: Mapped[Message] = relationship(back_populates="attachments")

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

"""The JSON API: chat, conversation history and the health check."""

from __future__ import annotations

import json
import logging
import unicodedata
import uuid
from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import insert, select, text, update

from webui.errors import ApiError
from webui.extensions import db, get_bot
from webui.models import Conversation, Message, new_conversation_id, utcnow

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__)

DEFAULT_MAX_MESSAGE_CHARS = 1000
TITLE_CHARS = 40


@lru_cache(maxsize=1)
def max_message_chars() -> int:
    """The library's limit on one message, or its documented value while the library cannot load."""
    try:
        from chatbot.bot import MAX_MESSAGE_CHARS
    except ImportError:
        return DEFAULT_MAX_MESSAGE_CHARS
    return int(MAX_MESSAGE_CHARS)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness and readiness: the database answers and a model is loaded."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # a down database should read as "not ready", not crash the probe
        logger.exception("Health check: the database does not answer")
        return jsonify({"status": "error", "database": "unavailable"}), 503
    return jsonify({"status": "ok", "model": short_meta(getattr(get_bot(), "meta", None))}), 200


def short_meta(meta: Any) -> dict[str, Any]:
    """The few model facts worth showing in a health check."""
    if not isinstance(meta, dict):
        return {}
    short: dict[str, Any] = {}
    for key in ("created_at", "tokenizer", "version"):
        if key in meta:
            value = meta[key]
            short[key] = value if isinstance(value, (str, int, float, bool, dict, type(None))) else str(value)
    intents = meta.get("intents")
    if isinstance(intents, (list, tuple, dict, set)):
        short["intents"] = len(intents)
    elif isinstance(intents, int):
        short["intents"] = intents
    return short


@bp.post("/api/chat")
def chat() -> tuple[Response, int]:
    """Answer one message and store it, with the reply, in one transaction."""
    payload = read_json_object()
    message_text = validate_message(payload)
    conversation = find_conversation_in_payload(payload)

    history = recent_history(conversation.id) if conversation else []
    context = {"conversation_id": conversation.id if conversation else None, "history": history}
    try:
        reply = get_bot().reply(message_text, context)
    except (ValueError, TypeError) as exc:
        logger.info("The bot rejected a message: %s", exc)
        raise ApiError(400, "invalid_message", "메시지를 처리할 수 없습니다. 내용을 확인해 주세요.") from exc

    confidence = float(reply.confidence) if reply.confidence is not None else None
    conversation_id = store_exchange(conversation, message_text, reply, confidence)
    return jsonify(
        {
            "conversation_id": conversation_id,
            "reply": reply.text,
            "intent": reply.intent,
            "confidence": confidence,
            "fallback": bool(reply.fallback),
            "suggestions": [str(s) for s in (reply.suggestions or [])],
        }
    ), 200


def store_exchange(conversation: Conversation | None, message_text: str, reply: Any, confidence: float | None) -> str:
    """Write the user's message and the bot's reply (and a new conversation) in one transaction.

    Plain SQL statements rather than the ORM's unit of work: this runs on every chat request and
    the ORM's change tracking was a third of the request's database time."""
    now = utcnow()
    if conversation is None:
        conversation_id = new_conversation_id()
        db.session.execute(
            insert(Conversation).values(
                id=conversation_id, title=message_text[:TITLE_CHARS], created_at=now, updated_at=now
            )
        )
    else:
        conversation_id = conversation.id
        db.session.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(updated_at=now),
            execution_options={"synchronize_session": False},
        )
    db.session.execute(
        insert(Message),
        [
            {"conversation_id": conversation_id, "role": "user", "text": message_text, "created_at": now},
            {
                "conversation_id": conversation_id,
                "role": "bot",
                "text": reply.text,
                "intent": reply.intent,
                "confidence": confidence,
                "fallback": bool(reply.fallback),
                "created_at": now,
            },
        ],
    )
    db.session.commit()
    return conversation_id


@bp.get("/api/conversations/<conversation_id>")
def conversation_detail(conversation_id: str) -> tuple[Response, int]:
    """A conversation with all its messages, oldest first."""
    conversation = get_conversation(conversation_id)
    if conversation is None:
        raise conversation_not_found()
    return jsonify(conversation.to_dict()), 200


def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object, whatever the Content-Type (so plain ``curl -d`` works)."""
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # bad syntax, bad encoding, absurd nesting
        raise ApiError(400, "invalid_json", "요청 본문이 올바른 JSON이 아닙니다.") from exc
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_type", '요청 본문은 JSON 객체여야 합니다. 예: {"message": "안녕하세요"}')
    return payload


def validate_message(payload: dict[str, Any]) -> str:
    """The message text, NFC-normalised and stripped, or an ApiError saying what is wrong."""
    if payload.get("message") is None:
        raise ApiError(400, "missing_message", "메시지(message)가 없습니다.")
    message = payload["message"]
    if not isinstance(message, str):
        raise ApiError(400, "invalid_type", "메시지(message)는 문자열이어야 합니다.")
    # NFC first: text typed on macOS arrives decomposed and would count two or three times longer.
    message = unicodedata.normalize("NFC", message).strip()
    if not message:
        raise ApiError(400, "empty_message", "메시지가 비어 있습니다. 내용을 입력해 주세요.")
    limit = max_message_chars()
    if len(message) > limit:
        raise ApiError(
            400,
            "message_too_long",
            f"메시지가 너무 깁니다. {limit:,}자 이하로 입력해 주세요. (현재 {len(message):,}자)",
        )
    if "\x00" in message or not _encodable(message):
        raise ApiError(400, "invalid_message", "메시지에 사용할 수 없는 문자가 들어 있습니다.")
    return message


def find_conversation_in_payload(payload: dict[str, Any]) -> Conversation | None:
    """The conversation named by ``conversation_id``, None when absent, 404 when unknown."""
    conversation_id = payload.get("conversation_id")
    if conversation_id is None:
        return None
    if not isinstance(conversation_id, str):
        raise ApiError(400, "invalid_type", "대화 ID(conversation_id)는 문자열이어야 합니다.")
    conversation = get_conversation(conversation_id)
    if conversation is None:
        raise conversation_not_found()
    return conversation


def get_conversation(conversation_id: str) -> Conversation | None:
    """Look a conversation up by id; malformed ids simply match nothing."""
    try:
        key = uuid.UUID(conversation_id).hex
    except (ValueError, TypeError):
        return None
    return db.session.get(Conversation, key)


def recent_history(conversation_id: str) -> list[tuple[str, str]]:
    """The last few ``(role, text)`` pairs of a conversation, oldest first, for the bot's context."""
    limit = int(current_app.config.get("HISTORY_MESSAGES", 10))
    rows = db.session.execute(
        select(Message.role, Message.text)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(limit)
    ).all()
    return [(role, text_) for role, text_ in reversed(rows)]


def conversation_not_found() -> ApiError:
    """The 404 for unknown and malformed conversation ids alike."""
    return ApiError(404, "conversation_not_found", "대화를 찾을 수 없습니다. 새 대화를 시작해 주세요.")


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from "\ud800" escapes cannot be stored
        return False
    return True

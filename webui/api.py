"""The JSON API: chat, conversation history and the health check."""

from __future__ import annotations

import json
import logging
import unicodedata
import uuid
from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import Integer, bindparam, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from webui.auth import new_owner, owned_by_caller
from webui.database import get_outage, write_lock
from webui.errors import ApiError
from webui.extensions import db, get_bot, get_holder
from webui.models import Attachment, Conversation, Message, attachment_item, new_conversation_id, utcnow
from webui.ratelimit import chat_limit
from webui.uploads import decode_image, remove_files, save_file

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__)

DEFAULT_MAX_MESSAGE_CHARS = 1000
TITLE_CHARS = 40
MAX_JSON_BYTES = 64 * 1024  # a JSON chat body; multipart bodies may carry a picture of up to 10 MB
MAX_TABLE_BYTES = 10 * 1024 * 1024  # a CSV file sent for /forecast
IMAGE_TITLE = "이미지"

# The statements every chat request runs, built once and run on the session's connection: building a
# statement and its cache key, and the ORM's handling around it, cost more CPU than SQLite took to run
# them (docs/benchmarks.md, "Issue 7": 2.1 -> 1.0 ms of a request's database time).
OWNED_CONVERSATION = select(Conversation.id, Conversation.user_id, Conversation.guest_key).where(
    Conversation.id == bindparam("key"))
HISTORY = (select(Message.role, Message.text).where(Message.conversation_id == bindparam("conversation_id"))
           .order_by(Message.id.desc()).limit(bindparam("limit", type_=Integer)))
TOUCH_CONVERSATION = update(Conversation).where(Conversation.id == bindparam("conversation_id")).values(
    updated_at=bindparam("now"))
INSERT_MESSAGES = insert(Message).returning(Message.id, sort_by_parameter_order=True)


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
    """Liveness and readiness: the database answers, and which model serves (degraded: the rule-based
    fallback, still a 200 because the server answers)."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:  # a down database reads as "not ready": logged once per outage, no traceback
        db.session.rollback()
        get_outage(current_app).report(exc)
        return jsonify({"status": "error", "database": "unavailable"}), 503
    holder = get_holder()
    holder.maybe_check()  # probes notice a promotion even when nobody chats
    model = holder.state()
    degraded = bool(model.pop("degraded"))
    status = "degraded" if degraded else "ok"
    return jsonify({"status": status, "degraded": degraded, "model": model, "database": "ok"}), 200


@bp.post("/api/chat")
@chat_limit
def chat() -> tuple[Response, int]:
    """Answer one message (JSON, or multipart with an ``image`` file) and store it, with the reply, in one
    transaction."""
    table: dict[str, Any] | None = None
    if request.mimetype == "multipart/form-data":
        payload, upload, table = read_multipart()
    else:
        request.max_content_length = MAX_JSON_BYTES
        payload, upload = read_json_object(), None
    message_text = validate_message(payload, allow_empty=upload is not None or table is not None)
    conversation = find_conversation_in_payload(payload)
    image = decode_image(upload) if upload is not None else None

    history = recent_history(conversation.id) if conversation else []
    context = {"conversation_id": conversation.id if conversation else None, "history": history}
    extra = {"image": image} if image is not None else {"table": table} if table is not None else {}
    try:
        reply = get_bot().reply(message_text, context, **extra)
    except (ValueError, TypeError) as exc:
        logger.info("The bot rejected a message: %s", exc)
        if isinstance(getattr(exc, "code", None), str) and isinstance(getattr(exc, "message", None), str):
            # The library's input errors (a CSV that cannot be forecast...) carry a code and a Korean message.
            raise ApiError(int(getattr(exc, "status", 400)), exc.code, exc.message) from exc
        raise ApiError(400, "invalid_message", "메시지를 처리할 수 없습니다. 내용을 확인해 주세요.") from exc

    confidence = float(reply.confidence) if reply.confidence is not None else None
    user_files, bot_files = stored_attachments(upload, image, reply, table)
    try:
        conversation_id, user_message_id, message_id = store_exchange(
            conversation, message_text, reply, confidence, user_files, bot_files)
    except Exception:
        db.session.rollback()
        remove_files(name for row in user_files + bot_files for name in (row.get("file"), row.get("original")))
        raise
    return jsonify(
        {
            "conversation_id": conversation_id,
            "message_id": message_id,
            "user_message_id": user_message_id,
            "reply": reply.text,
            "intent": reply.intent,
            "confidence": confidence,
            "fallback": bool(reply.fallback),
            "suggestions": [str(s) for s in (reply.suggestions or [])],
            "attachments": [attachment_item(r["type"], r.get("role"), r.get("file"), r.get("original"), r["data"])
                            for r in user_files + bot_files],
        }
    ), 200


def read_multipart() -> tuple[dict[str, Any], bytes | None, dict[str, Any] | None]:
    """The form fields as a payload, the ``image`` file's bytes, and a ``file`` (a CSV table) as
    ``{"data", "name"}``; None for what was not sent."""
    from chatbot.vision.images import MAX_IMAGE_BYTES

    payload: dict[str, Any] = {"message": request.form.get("message", "")}
    if request.form.get("conversation_id"):
        payload["conversation_id"] = request.form["conversation_id"]
    image, table = request.files.get("image"), request.files.get("file")
    if image is not None and table is not None:
        raise ApiError(400, "too_many_files",
                       "파일은 한 번에 하나만 보낼 수 있어요. 이미지나 CSV 중 하나를 보내 주세요.")
    if table is not None:
        data = table.stream.read(MAX_TABLE_BYTES + 1)
        if not data:
            raise ApiError(400, "empty_file", "파일이 비어 있어요. 내용이 있는 CSV 파일을 보내 주세요.")
        if len(data) > MAX_TABLE_BYTES:
            raise ApiError(413, "file_too_large", "파일이 너무 커요. 10MB 이하의 CSV 파일을 보내 주세요.")
        return payload, None, {"data": data, "name": table.filename or "data.csv"}
    if image is None:
        return payload, None, None
    return payload, image.stream.read(MAX_IMAGE_BYTES + 1), None  # one byte over: too big, and nothing more read


def stored_attachments(upload: bytes | None, image: Any, reply: Any,
                       table: dict[str, Any] | None = None) -> tuple[list[dict], list[dict]]:
    """Write the files of this exchange to the uploads folder; the rows that will link them.

    The user's side: a picture as sent (for trainers) and its PNG thumbnail (for the page), or a
    CSV file as sent. The bot's side: the reply's attachments, pictures (``png`` bytes) stored as
    files."""
    from chatbot.vision.images import thumbnail_png

    user: list[dict] = []
    written: list[str] = []
    try:
        if table is not None:
            name = save_file(table["data"], ".csv")
            written.append(name)
            user.append({"type": "file", "role": "upload", "file": name,
                         "data": {"name": str(table["name"])[:200], "bytes": len(table["data"])}})
        if upload is not None and image is not None:
            original = save_file(upload, image.extension)
            written.append(original)
            thumbnail = thumbnail_png(image.image)
            thumb_name = save_file(thumbnail, ".png")
            written.append(thumb_name)
            side = max(image.width, image.height)
            scale = min(1.0, 256 / side)
            user.append({"type": "image", "role": "upload", "file": thumb_name, "original": original,
                         "data": {"width": max(1, round(image.width * scale)),
                                  "height": max(1, round(image.height * scale)), "alt": "보낸 이미지"}})
        bot: list[dict] = []
        for item in reply.attachments or []:
            item = dict(item)
            if item.get("type") == "image" and isinstance(item.get("png"), bytes):
                name = save_file(item.pop("png"), ".png")
                written.append(name)
                role = item.pop("role", None)
                bot.append({"type": "image", "role": role, "file": name, "data": _plain(item, "type")})
            elif item.get("type"):
                bot.append({"type": str(item["type"]), "role": None, "data": _plain(item, "type")})
    except Exception:
        remove_files(written)
        raise
    return user, bot


def _plain(item: dict[str, Any], *drop: str) -> dict[str, Any]:
    """An attachment's JSON-ready fields."""
    return {k: v for k, v in item.items() if k not in drop and isinstance(v, (str, int, float, bool, list, dict))}


def store_exchange(conversation: Any, message_text: str, reply: Any, confidence: float | None,
                   user_files: list[dict] | None = None, bot_files: list[dict] | None = None) -> tuple[str, int, int]:
    """Write the user's message and the bot's reply (and a new conversation, and the messages'
    attachments) in one transaction; returns the conversation id and the two messages' ids.

    Plain SQL statements rather than the ORM's unit of work: this runs on every chat request and
    the ORM's change tracking was a third of the request's database time."""
    with write_lock():
        now = utcnow()
        if conversation is None:
            conversation_id = new_conversation_id()
            db.session.execute(
                insert(Conversation).values(
                    id=conversation_id, title=(message_text or IMAGE_TITLE)[:TITLE_CHARS], created_at=now,
                    updated_at=now,
                    **new_owner(),
                )
            )
        else:
            conversation_id = conversation.id
            db.session.connection().execute(TOUCH_CONVERSATION, {"conversation_id": conversation_id, "now": now})
        rows = [  # the same keys in both rows: a Core executemany takes its columns from the first
            {"conversation_id": conversation_id, "role": "user", "text": message_text, "intent": None,
             "confidence": None, "fallback": False, "created_at": now},
            {
                "conversation_id": conversation_id,
                "role": "bot",
                "text": reply.text,
                "intent": reply.intent,
                "confidence": confidence,
                "fallback": bool(reply.fallback),
                "created_at": now,
            },
        ]
        ids = db.session.connection().execute(INSERT_MESSAGES, rows).scalars().all()
        if user_files or bot_files:
            db.session.execute(insert(Attachment), [
                {"conversation_id": conversation_id, "message_id": message_id, "type": row["type"],
                 "role": row.get("role"), "file": row.get("file"), "original": row.get("original"),
                 "data": json.dumps(row["data"], ensure_ascii=False), "created_at": now}
                for message_id, group in zip(ids, (user_files or [], bot_files or []), strict=True) for row in group
            ])
        db.session.commit()
    return conversation_id, ids[0], ids[1]


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


def validate_message(payload: dict[str, Any], allow_empty: bool = False) -> str:
    """The message text, NFC-normalised and stripped, or an ApiError saying what is wrong.

    ``allow_empty``: a picture came with the message, so the text may be missing or empty."""
    if payload.get("message") is None:
        if allow_empty:
            return ""
        raise ApiError(400, "missing_message", "메시지(message)가 없습니다.")
    message = payload["message"]
    if not isinstance(message, str):
        raise ApiError(400, "invalid_type", "메시지(message)는 문자열이어야 합니다.")
    # NFC first: text typed on macOS arrives decomposed and would count two or three times longer.
    message = unicodedata.normalize("NFC", message).strip()
    if not message and not allow_empty:
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


def find_conversation_in_payload(payload: dict[str, Any]) -> Any:
    """The conversation named by ``conversation_id`` (its ``id``, ``user_id`` and ``guest_key``), None when
    absent, 404 when unknown or someone else's."""
    conversation_id = payload.get("conversation_id")
    if conversation_id is None:
        return None
    if not isinstance(conversation_id, str):
        raise ApiError(400, "invalid_type", "대화 ID(conversation_id)는 문자열이어야 합니다.")
    try:
        key = uuid.UUID(conversation_id).hex
    except (ValueError, TypeError, AttributeError):
        raise conversation_not_found() from None
    conversation = db.session.connection().execute(OWNED_CONVERSATION, {"key": key}).first()
    if conversation is not None and not owned_by_caller(conversation):
        conversation = None
    if conversation is None:
        raise conversation_not_found()
    return conversation


def get_conversation(conversation_id: str) -> Conversation | None:
    """One of the caller's conversations by id. Malformed ids, missing conversations and other
    people's conversations all match nothing, so that the answer (404) tells them apart for nobody."""
    try:
        key = uuid.UUID(conversation_id).hex
    except (ValueError, TypeError, AttributeError):
        return None
    conversation = db.session.get(Conversation, key)
    if conversation is None or not owned_by_caller(conversation):
        return None
    return conversation


def recent_history(conversation_id: str) -> list[tuple[str, str]]:
    """The last few ``(role, text)`` pairs of a conversation, oldest first, for the bot's context."""
    limit = int(current_app.config["HISTORY_MESSAGES"])
    rows = db.session.connection().execute(HISTORY, {"conversation_id": conversation_id, "limit": limit}).all()
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

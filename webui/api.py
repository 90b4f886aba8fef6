"""The JSON API: chat (HTTP in, the bot, files out) and the health check; storage is ``webui.store``."""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request

from webui.errors import ApiError
from webui.json_body import read_json_object
from webui.lifecycle import get_bot, get_holder
from webui.observability import chat_written
from webui.ratelimit import chat_limit
from webui.reminders import SqlReminderBook
from webui.store import Exchange, conversation_not_found, load_state, owned_conversation_with_history, store_exchange
from webui.tables import attachment_item
from webui.uploads import decode_image, remove_files, save_file

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__)

MAX_JSON_BYTES = 64 * 1024  # a JSON chat body; multipart bodies may carry a picture of up to 10 MB
MAX_TABLE_BYTES = 10 * 1024 * 1024  # a CSV file sent for /forecast


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness: the process answers, and which model it serves (degraded: the rule-based stand-in). Always
    200 and never touching the database, so an outage of the database does not get every machine restarted;
    ``/readyz`` (webui/readiness.py) is the check that routes traffic away.
    ---
    get:
      summary: 서버가 살아 있는지, 어떤 모델이 답하는지 (데이터베이스는 보지 않아요)
      security: []
      responses:
        200: {description: "응답할 수 있어요 (degraded면 모델 대신 규칙 기반 응답기가 답해요).", json: Health}
    """
    holder = get_holder()
    holder.maybe_check()  # probes notice a promotion even when nobody chats
    model = holder.state()
    degraded = bool(model.pop("degraded"))
    status = "degraded" if degraded else "ok"
    return jsonify({"status": status, "degraded": degraded, "model": model}), 200


@bp.post("/api/chat")
@chat_limit
def chat() -> tuple[Response, int]:
    """Answer one message (JSON, or multipart with an ``image`` file) and store it, with the reply, the new
    dialogue state and any reminder the bot set or deleted, in one transaction.
    ---
    post:
      summary: 메시지를 보내고 봇의 답을 받아요
      description: >-
        대화와 두 메시지, 새 대화 상태, 봇이 만들거나 지운 알림을 한 번에 저장해요.
        그림(/image)이나 CSV 표(/forecast)는 multipart로 보내요. 채팅 한도(RATELIMIT_CHAT)가 따로 있어요.
      requestBody:
        required: true
        content:
          application/json: {schema: ChatRequest}
          multipart/form-data: {schema: ChatUpload}
      responses:
        200: {description: "봇의 답과 저장된 메시지의 번호", json: ChatReply}
        400: BadRequest
        404: NotFound
        413: PayloadTooLarge
        422: {description: "보낸 표로는 예측할 수 없어요 (다른 모델로 다시 해 보세요).", json: Error}
    """
    from chatbot.errors import InputError  # here, not at import: webui imports without the library
    from chatbot.message_input import check_message

    table: dict[str, Any] | None = None
    if request.mimetype == "multipart/form-data":
        payload, upload, table = read_multipart()
    else:
        request.max_content_length = MAX_JSON_BYTES
        payload, upload = read_json_object(), None
    # The library's check, once: the bot finds the text already checked. Its InputError is a 4xx (webui.errors).
    message_text = check_message(payload.get("message"), allow_empty=upload is not None or table is not None)
    conversation, history = find_conversation_in_payload(payload)
    image = decode_image(upload) if upload is not None else None

    # The book costs nothing until an action asks (most messages never do); its writes wait for store_exchange.
    book = SqlReminderBook.for_request()
    context = {"conversation_id": conversation.id if conversation else None, "history": history,
               "services": {"reminders": book}}
    extra: dict[str, Any] = {"image": image} if image is not None else {"table": table} if table is not None else {}
    bot = get_bot()
    state = load_state(conversation.dialogue_state) if conversation is not None else None  # new: empty
    if state is not None and takes_state(type(bot)):
        extra["state"] = state
    try:
        reply = bot.reply(message_text, context, **extra)
    except InputError:
        raise  # a CSV that cannot be forecast...: its own code and Korean message
    except (ValueError, TypeError) as exc:
        logger.info("The bot rejected a message: %s", exc)
        raise ApiError(400, "invalid_message", "메시지를 처리할 수 없습니다. 내용을 확인해 주세요.") from exc

    user_files, bot_files = stored_attachments(upload, image, reply, table)
    exchange = Exchange(conversation, str(message_text), reply, user_files, bot_files,
                        state=getattr(reply, "state", None), reminders=book)
    try:
        stored = store_exchange(exchange)
    except Exception:
        remove_files(name for row in user_files + bot_files for name in (row.get("file"), row.get("original")))
        raise
    chat_written(stored, reply)
    return jsonify(
        {
            "conversation_id": stored.conversation_id,
            "message_id": stored.bot_message_id,
            "user_message_id": stored.user_message_id,
            "reply": reply.text,
            "intent": reply.intent,
            "confidence": exchange.confidence,
            "fallback": bool(reply.fallback),
            "suggestions": [str(s) for s in (reply.suggestions or [])],
            "entities": list(reply.entities),
            "slots": dict(getattr(reply, "slots", None) or {}),
            "reminders_changed": book.changed,
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


@functools.lru_cache(maxsize=64)
def takes_state(bot_type: type) -> bool:
    """Whether a bot's ``reply`` takes the dialogue state (``state=``): the library's ``Bot`` does; the
    degraded stand-in and older bots do not, and keep the stored state untouched."""
    try:
        parameters = inspect.signature(bot_type.reply).parameters  # type: ignore[attr-defined]
    except (TypeError, ValueError, AttributeError):
        return False
    return "state" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def find_conversation_in_payload(payload: dict[str, Any]) -> tuple[Any, list[tuple[str, str]]]:
    """The conversation named by ``conversation_id`` (its ``id``, ``user_id`` and ``guest_key``) and its recent
    ``(role, text)`` history; ``(None, [])`` when absent, 404 when unknown or someone else's."""
    conversation_id = payload.get("conversation_id")
    if conversation_id is None:
        return None, []
    if not isinstance(conversation_id, str):
        raise ApiError(400, "invalid_type", "대화 ID(conversation_id)는 문자열이어야 합니다.")
    conversation, history = owned_conversation_with_history(conversation_id)
    if conversation is None:
        raise conversation_not_found()
    return conversation, history

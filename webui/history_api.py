"""JSON endpoints for the caller's conversations (list, read, rename, delete) and feedback on bot messages."""

from __future__ import annotations

import unicodedata

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from webui import paging
from webui.auth import owned_by_caller
from webui.errors import ApiError
from webui.extensions import db
from webui.json_body import read_json_object, storable_text
from webui.store import conversation_not_found, get_conversation
from webui.tables import ROW_ID, Attachment, Conversation, Feedback, StoredMessage, utcnow
from webui.uploads import remove_files

bp = Blueprint("history_api", __name__)

MAX_TITLE_CHARS = 200
MAX_CORRECTION_CHARS = 1000


@bp.get("/api/conversations")
def list_conversations() -> tuple[Response, int]:
    """The caller's conversations, most recently active first, a page at a time (``limit``, ``cursor``).
    ---
    get:
      summary: 내 대화 목록 (최근에 대화한 순서, 한 쪽씩)
      parameters:
        - {name: limit, in: query, description: "한 쪽의 대화 수 (1~200, 기본 50)",
           schema: {type: integer, minimum: 1, maximum: 200, default: 50}}
        - {name: cursor, in: query, description: "이전 응답의 next_cursor 값 (다음 쪽)", schema: {type: string}}
      responses:
        200: {description: "대화 목록 한 쪽 (메시지는 빼고)", json: ConversationList}
        400: BadRequest
    """
    limit = paging.read_limit(request.args.get("limit"), paging.DEFAULT_CONVERSATIONS, paging.MAX_CONVERSATIONS)
    page = paging.conversation_page(limit, request.args.get("cursor"))
    return jsonify({"conversations": [row.summary() for row in page.rows], "next_cursor": page.next_cursor}), 200


@bp.get("/api/conversations/<conversation_id>")
def conversation_detail(conversation_id: str) -> tuple[Response, int]:
    """One of the caller's conversations with a page of its messages: the latest, or those before ``cursor``.
    ---
    get:
      summary: 대화 하나와 그 메시지 한 쪽 (가장 최근 쪽부터, 쪽 안에서는 오래된 것부터)
      parameters:
        - {name: limit, in: query, description: "한 쪽의 메시지 수 (1~200, 기본 50)",
           schema: {type: integer, minimum: 1, maximum: 200, default: 50}}
        - {name: cursor, in: query, description: "이전 응답의 next_cursor 값 (그보다 앞선 메시지)",
           schema: {type: string}}
      responses:
        200: {description: "대화와 메시지 한 쪽", json: ConversationDetail}
        400: BadRequest
        404: NotFound
    """
    conversation = get_conversation(conversation_id)
    if conversation is None:
        raise conversation_not_found()
    limit = paging.read_limit(request.args.get("limit"), paging.DEFAULT_MESSAGES, paging.MAX_MESSAGES)
    page = paging.message_page(conversation.id, limit, request.args.get("cursor"))
    return jsonify({**conversation.summary(), "messages": [row.to_dict() for row in page.rows],
                    "next_cursor": page.next_cursor}), 200


@bp.patch("/api/conversations/<conversation_id>")
def rename_conversation(conversation_id: str) -> tuple[Response, int]:
    """Rename one of the caller's conversations: ``{"title": "..."}``.
    ---
    patch:
      summary: 대화의 제목을 바꿔요
      requestBody: TitleRequest
      responses:
        200: {description: "바뀐 대화", json: Conversation}
        404: NotFound
    """
    conversation = get_conversation(conversation_id)
    if conversation is None:
        raise conversation_not_found()
    title = read_json_object().get("title")
    if not isinstance(title, str):
        raise ApiError(400, "invalid_type", "제목(title)은 문자열이어야 합니다.")
    title = " ".join(unicodedata.normalize("NFC", title).split())
    if not title or len(title) > MAX_TITLE_CHARS or not storable_text(title, "\n\t"):
        raise ApiError(400, "invalid_title", f"제목은 1~{MAX_TITLE_CHARS}자의 글자로 정해 주세요.")
    conversation.title = title
    db.session.commit()
    return jsonify(conversation.summary()), 200


@bp.delete("/api/conversations/<conversation_id>")
def delete_conversation(conversation_id: str) -> tuple[Response, int]:
    """Delete one of the caller's conversations with its messages, feedback and stored files.
    ---
    delete:
      summary: 대화를 메시지, 피드백, 파일과 함께 지워요
      responses:
        200: {description: "지웠어요", json: Deleted}
        404: NotFound
    """
    conversation = get_conversation(conversation_id)
    if conversation is None:
        raise conversation_not_found()
    files = db.session.execute(
        select(Attachment.file, Attachment.original).where(Attachment.conversation_id == conversation.id)
    ).all()
    message_ids = select(StoredMessage.id).where(StoredMessage.conversation_id == conversation.id)
    # Explicit deletes, child tables first: SQLite only cascades with foreign keys switched on,
    # and a database made by hand may not have ON DELETE CASCADE.
    db.session.execute(delete(Feedback).where(Feedback.message_id.in_(message_ids)))
    db.session.execute(delete(Attachment).where(Attachment.conversation_id == conversation.id))
    db.session.execute(delete(StoredMessage).where(StoredMessage.conversation_id == conversation.id))
    db.session.execute(delete(Conversation).where(Conversation.id == conversation.id))
    db.session.commit()
    remove_files(name for row in files for name in row)  # after the commit: a rollback keeps its files
    return jsonify({"ok": True, "id": conversation.id}), 200


@bp.post(f"/api/messages/<{ROW_ID}:message_id>/feedback")
def message_feedback(message_id: int) -> tuple[Response, int]:
    """Rate one of the bot's messages in the caller's conversations: ``{"rating": 1 | -1, "correction"?}``.
    Rating again replaces the earlier rating.
    ---
    post:
      summary: 봇의 답을 평가해요 (다시 평가하면 바뀌어요)
      requestBody: FeedbackRequest
      responses:
        200: {description: "저장된 평가", json: MessageFeedback}
        404: NotFound
    """
    payload = read_json_object()
    message = db.session.get(StoredMessage, message_id)
    if message is None or message.role != "bot" or not owned_by_caller(message.conversation):
        raise ApiError(404, "message_not_found", "메시지를 찾을 수 없습니다.")
    rating = payload.get("rating")
    if isinstance(rating, bool) or rating not in (1, -1):
        raise ApiError(400, "invalid_rating", "평가(rating)는 1(좋아요) 또는 -1(아쉬워요)이어야 합니다.")
    correction = payload.get("correction")
    if correction is not None:
        if not isinstance(correction, str):
            raise ApiError(400, "invalid_type", "고친 답(correction)은 문자열이어야 합니다.")
        correction = unicodedata.normalize("NFC", correction).strip() or None
        if correction and (len(correction) > MAX_CORRECTION_CHARS or not storable_text(correction, "\n\t")):
            raise ApiError(400, "invalid_correction",
                           f"고친 답은 {MAX_CORRECTION_CHARS:,}자 이하의 글자로 써 주세요.")
    values = {"rating": int(rating), "correction": correction, "updated_at": utcnow()}
    try:
        save_feedback(message.id, values)
    except IntegrityError:  # a second tab rated the same message at the same moment: update that row
        db.session.rollback()
        save_feedback(message_id, values)
    feedback = db.session.execute(select(Feedback).where(Feedback.message_id == message_id)).scalar_one()
    return jsonify({"message_id": message_id, **feedback.to_dict()}), 200


def save_feedback(message_id: int, values: dict) -> None:
    """Insert or replace the feedback row of one message, and commit."""
    done = db.session.execute(update(Feedback).where(Feedback.message_id == message_id).values(**values),
                              execution_options={"synchronize_session": False})
    if not done.rowcount:
        db.session.execute(insert(Feedback).values(message_id=message_id, created_at=values["updated_at"], **values))
    db.session.commit()


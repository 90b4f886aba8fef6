"""JSON endpoints for the caller's reminders: list, read, create, delete, and mark a due notice as shown.

Reminders belong to their owner exactly as conversations do (``webui.auth``): a guest's to the browser
session, a user's to the account; another owner's reminder answers 404 like a missing one. The chat sets
and deletes reminders too (``webui.reminders.SqlReminderBook``); these routes are the page's panel and any
other client's. Times are ISO 8601: sent with an offset, answered in UTC.

- ``GET /api/reminders``: the pending ones (not yet due, or due with the notice not yet shown), soonest
  first; ``?all=1``: every one, past ones too. ``limit`` (1-100, default 50) and ``after`` (the ``next`` of
  the previous page) page through them. ``{"reminders": [...], "next": str | null, "now": iso}``.
- ``GET /api/reminders/<id>``: one reminder.
- ``POST /api/reminders`` ``{"text", "due"}``: 201 with the reminder.
- ``DELETE /api/reminders/<id>``: 204.
- ``POST /api/reminders/<id>/notified``: the due notice was shown (the first time is kept); 200 with it.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import and_, delete, or_, select, update

from webui.auth import new_owner, owner_clause
from webui.database import write_lock
from webui.errors import ApiError
from webui.extensions import db
from webui.json_body import read_json_object, storable_text
from webui.paging import decode_cursor, encode_cursor, read_limit
from webui.reminders import MAX_REMINDERS, as_utc, count_reminders, reminder_id, stored_utc
from webui.tables import REMINDER_TEXT_CHARS, Reminder, isoformat_utc, utcnow

bp = Blueprint("reminders_api", __name__)

DEFAULT_LIST, MAX_LIST = 50, 100
MAX_AHEAD = timedelta(days=3660)  # about ten years: a later "due" is a typo, not a plan
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def reminder_not_found() -> ApiError:
    """The 404 for unknown, malformed and other people's reminder ids alike."""
    return ApiError(404, "reminder_not_found", "알림을 찾을 수 없습니다.")


@bp.get("/api/reminders")
def list_reminders() -> tuple[Response, int]:
    """The caller's reminders, soonest first: pending ones, or with ``all`` every one; paged by ``after``.
    ---
    get:
      summary: 내 알림 목록 (가까운 것부터)
      description: 기본은 아직 알리지 않은 알림이에요. all=1이면 지난 알림도 모두 보여요.
      parameters:
        - name: all
          in: query
          description: "1: 지난 알림까지 모두"
          schema: {type: string, enum: ["1", "0", "true", "false", "yes", "no", "on", "off", ""]}
        - name: limit
          in: query
          description: 한 쪽의 알림 수 (1~100, 기본 50)
          schema: {type: integer, minimum: 1, maximum: 100, default: 50}
        - name: after
          in: query
          description: 이전 응답의 next 값 (다음 쪽)
          schema: {type: string}
          examples:
            cursor: {value: MjA5OS0wMS0wMVQwMDowMDowMCswMDowMHwx}
      responses:
        200: {description: "알림 한 쪽", json: ReminderList}
        400: BadRequest
    """
    now = utcnow()
    show_all = _flag(request.args.get("all", ""))
    limit = read_limit(request.args.get("limit"), DEFAULT_LIST, MAX_LIST)
    query = select(Reminder).where(owner_clause(Reminder))
    if not show_all:
        query = query.where(or_(Reminder.due_at > as_utc(now), Reminder.notified_at.is_(None)))
    after = request.args.get("after")
    if after is not None:
        due, last_id = _read_cursor(after)
        query = query.where(or_(Reminder.due_at > due, and_(Reminder.due_at == due, Reminder.id > last_id)))
    rows = list(db.session.execute(query.order_by(Reminder.due_at, Reminder.id).limit(limit + 1)).scalars())
    page, more = rows[:limit], len(rows) > limit
    return jsonify({"reminders": [row.to_dict() for row in page], "next": _cursor(page[-1]) if more else None,
                    "now": isoformat_utc(now)}), 200


@bp.get("/api/reminders/<reminder_id_>")
def reminder_detail(reminder_id_: str) -> tuple[Response, int]:
    """One of the caller's reminders.
    ---
    get:
      summary: 알림 하나
      responses:
        200: {description: "알림", json: Reminder}
        404: NotFound
    """
    return jsonify(_owned(reminder_id_).to_dict()), 200


@bp.post("/api/reminders")
def create_reminder() -> tuple[Response, int]:
    """A new reminder for the caller: ``{"text": "치과 가기", "due": "2026-12-03T09:00:00+09:00"}``.
    ---
    post:
      summary: 새 알림을 만들어요
      requestBody: ReminderRequest
      responses:
        201: {description: "만든 알림", json: Reminder}
        409: {description: "알림을 더 저장할 수 없어요(too_many_reminders).", json: Error}
    """
    payload = read_json_object()
    text, due = _text(payload.get("text")), _due(payload.get("due"))
    with write_lock():
        owner = new_owner()  # a guest's first reminder gives the browser session its key, as a first message does
        if count_reminders(db.session.connection(), owner) >= MAX_REMINDERS:
            db.session.rollback()
            raise ApiError(409, "too_many_reminders",
                           f"알림은 {MAX_REMINDERS:,}개까지 저장할 수 있어요. 지난 알림을 지운 뒤 다시 해 주세요.")
        row = Reminder(user_id=owner["user_id"], guest_key=owner["guest_key"], text=text, due_at=due,
                       created_at=utcnow())
        db.session.add(row)
        db.session.commit()
    return jsonify(row.to_dict()), 201


@bp.delete("/api/reminders/<reminder_id_>")
def delete_reminder(reminder_id_: str) -> tuple[str, int]:
    """Delete one of the caller's reminders.
    ---
    delete:
      summary: 알림을 지워요
      responses:
        204: {description: 지웠어요 (본문 없음)}
        404: NotFound
    """
    found = reminder_id(reminder_id_)
    if found is None:
        raise reminder_not_found()
    with write_lock():
        done = db.session.execute(delete(Reminder).where(Reminder.id == found, owner_clause(Reminder)),
                                  execution_options={"synchronize_session": False})
        db.session.commit()
    if not done.rowcount:
        raise reminder_not_found()
    return "", 204


@bp.post("/api/reminders/<reminder_id_>/notified")
def mark_notified(reminder_id_: str) -> tuple[Response, int]:
    """The page showed this reminder's due notice: ``notified_at`` is set (once; later calls keep it).
    ---
    post:
      summary: 알림을 보여 줬다고 표시해요 (처음 시각이 남아요)
      responses:
        200: {description: "표시한 알림", json: Reminder}
        404: NotFound
    """
    found = reminder_id(reminder_id_)
    if found is None:
        raise reminder_not_found()
    with write_lock():
        db.session.execute(update(Reminder).where(Reminder.id == found, owner_clause(Reminder),
                                                  Reminder.notified_at.is_(None)).values(notified_at=utcnow()),
                           execution_options={"synchronize_session": False})
        db.session.commit()
    return jsonify(_owned(reminder_id_).to_dict()), 200


def _owned(value: str) -> Reminder:
    found = reminder_id(value)
    row = None if found is None else db.session.execute(
        select(Reminder).where(Reminder.id == found, owner_clause(Reminder))).scalar_one_or_none()
    if row is None:
        raise reminder_not_found()
    return row


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ApiError(400, "invalid_type", "알림 내용(text)은 문자열이어야 합니다.")
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if not text or len(text) > REMINDER_TEXT_CHARS or not storable_text(text):
        raise ApiError(400, "invalid_text", f"알림 내용은 1~{REMINDER_TEXT_CHARS}자의 글자로 써 주세요.")
    return text


def _due(value: Any) -> datetime:
    example = "예: 2026-12-03T09:00:00+09:00"
    if not isinstance(value, str):
        raise ApiError(400, "invalid_type", f"알림 시각(due)은 ISO 8601 형식의 문자열이어야 합니다. {example}")
    try:
        moment = datetime.fromisoformat(value.strip()) if value.isascii() else None
    except ValueError:
        moment = None
    if moment is None:
        raise ApiError(400, "invalid_due", f"알림 시각(due)을 읽을 수 없습니다. {example}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ApiError(400, "due_without_offset", f"알림 시각(due)에 시간대(+09:00 등)를 붙여 주세요. {example}")
    try:
        due = as_utc(moment)
    except OverflowError:
        due = None
    now = utcnow()
    if due is None or due > now + MAX_AHEAD:
        raise ApiError(400, "due_too_far", "알림 시각이 너무 멀어요. 10년 안의 시각으로 정해 주세요.")
    if due <= now:
        raise ApiError(400, "due_in_past", "이미 지난 시각이에요. 앞으로의 시각으로 정해 주세요.")
    return due


def _flag(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ApiError(400, "invalid_all", "all은 1 또는 0이어야 합니다.")


def _cursor(row: Reminder) -> str:
    """``after`` for the page after ``row``: its due time and id (opaque to clients)."""
    return encode_cursor(stored_utc(row.due_at).isoformat(), str(row.id))


def _read_cursor(value: str) -> tuple[datetime, int]:
    try:
        due_text, id_text = decode_cursor(value, 2)
        due, last_id = datetime.fromisoformat(due_text), reminder_id(id_text)
        if due.tzinfo is None or last_id is None:
            raise ValueError("not a cursor")
        return as_utc(due), last_id
    except (ValueError, OverflowError) as exc:
        raise ApiError(400, "invalid_cursor",
                       "after 값이 올바르지 않습니다. 이전 응답의 next 값을 그대로 보내 주세요.") from exc


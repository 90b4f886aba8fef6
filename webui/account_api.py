"""JSON endpoints for accounts: register, log in and out, who am I, personal API tokens."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask_login import current_user, login_required, logout_user
from sqlalchemy import delete, select

from webui.auth import AccountError, authenticate, create_token, create_user, log_in
from webui.errors import ApiError
from webui.extensions import db
from webui.json_body import read_json_object, storable_text
from webui.ratelimit import auth_limit
from webui.tables import ROW_ID, ApiToken

bp = Blueprint("account_api", __name__)

MAX_TOKENS = 20  # per user


def account_error(exc: AccountError) -> ApiError:
    """The API form of a bad username, password or role."""
    return ApiError(exc.status, exc.code, exc.message)


@bp.post("/api/register")
@auth_limit
def register() -> tuple[Response, int]:
    """Make an account from ``{"username", "password"}`` and log it in (session cookie).
    ---
    post:
      summary: 계정을 만들고 로그인해요 (세션 쿠키)
      security: []
      requestBody: Credentials
      responses:
        201: {description: "만든 계정", json: UserAnswer}
        409: {description: "이미 쓰이고 있는 아이디예요(username_taken).", json: Error}
    """
    payload = read_json_object()
    try:
        user = create_user(payload.get("username"), payload.get("password"))
        db.session.commit()
    except AccountError as exc:
        db.session.rollback()
        raise account_error(exc) from None
    log_in(user, remember=bool(payload.get("remember")))
    return jsonify({"user": user.to_dict()}), 201


@bp.post("/api/login")
@auth_limit
def login() -> tuple[Response, int]:
    """Log in with ``{"username", "password"}``; the answer sets the session cookie.
    ---
    post:
      summary: 로그인해요 (세션 쿠키)
      security: []
      requestBody: Credentials
      responses:
        200: {description: "로그인한 계정", json: UserAnswer}
        401: {description: "아이디나 비밀번호가 맞지 않아요(invalid_credentials).", json: Error}
    """
    payload = read_json_object()
    user = authenticate(payload.get("username"), payload.get("password"))
    if user is None:
        raise ApiError(401, "invalid_credentials", "아이디나 비밀번호가 맞지 않습니다.")
    log_in(user, remember=bool(payload.get("remember")))
    return jsonify({"user": user.to_dict()}), 200


@bp.post("/api/logout")
def logout() -> tuple[Response, int]:
    """End the session (fine when nobody was logged in).
    ---
    post:
      summary: 로그아웃해요 (로그인하지 않았어도 괜찮아요)
      responses:
        200: {description: "세션을 끝냈어요", json: Ok}
    """
    logout_user()
    return jsonify({"ok": True}), 200


@bp.get("/api/me")
def me() -> tuple[Response, int]:
    """The logged-in user, or ``{"user": null}`` for a guest.
    ---
    get:
      summary: 지금 로그인한 계정 (손님이면 null)
      responses:
        200: {description: "계정", json: Me}
    """
    return jsonify({"user": current_user.to_dict() if current_user.is_authenticated else None}), 200


@bp.get("/api/tokens")
@login_required
def list_tokens() -> tuple[Response, int]:
    """The caller's API tokens (names and prefixes only).
    ---
    get:
      summary: 내 API 토큰 목록 (이름과 앞부분만)
      security: [{session: []}, {token: []}]
      responses:
        200: {description: "토큰 목록", json: TokenList}
    """
    rows = db.session.execute(select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id))
    return jsonify({"tokens": [row.to_dict() for row in rows.scalars()]}), 200


@bp.post("/api/tokens")
@login_required
def new_token() -> tuple[Response, int]:
    """A new personal API token ``{"name"?}``; the token is in this answer and never again.
    ---
    post:
      summary: 새 API 토큰을 만들어요 (토큰은 이 응답에서만 보여요)
      security: [{session: []}, {token: []}]
      requestBody: TokenRequest
      responses:
        201: {description: "만든 토큰", json: NewToken}
    """
    payload = read_json_object()
    name = payload.get("name", "")
    if not isinstance(name, str):
        raise ApiError(400, "invalid_type", "토큰 이름(name)은 문자열이어야 합니다.")
    if not storable_text(name):
        raise ApiError(400, "invalid_name",
                       "토큰 이름(name)에 쓸 수 없는 문자(제어 문자나 짝이 없는 서로게이트)가 있어요.")
    count = len(db.session.execute(select(ApiToken.id).where(ApiToken.user_id == current_user.id)).all())
    if count >= MAX_TOKENS:
        raise ApiError(400, "too_many_tokens",
                       f"토큰은 {MAX_TOKENS}개까지 만들 수 있습니다. 쓰지 않는 토큰을 지워 주세요.")
    row, token = create_token(current_user, name.strip())
    db.session.commit()
    return jsonify({**row.to_dict(), "token": token}), 201


@bp.delete(f"/api/tokens/<{ROW_ID}:token_id>")
@login_required
def revoke_token(token_id: int) -> tuple[Response, int]:
    """Revoke one of the caller's tokens; another user's token is 404 like a missing one.
    ---
    delete:
      summary: API 토큰을 취소해요
      security: [{session: []}, {token: []}]
      responses:
        200: {description: "취소했어요", json: Ok}
        404: NotFound
    """
    result = db.session.execute(delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == current_user.id))
    db.session.commit()
    if not result.rowcount:
        raise ApiError(404, "token_not_found", "토큰을 찾을 수 없습니다.")
    return jsonify({"ok": True}), 200

"""Accounts: Flask-Login sessions, personal API tokens, roles, and who owns a conversation (or a reminder).

A request acts for one *owner*: a logged-in user (session cookie or ``Authorization: Bearer``
token), or else a guest, known by a random ``guest`` value that the signed session cookie carries.
Every conversation belongs to exactly one owner, and every lookup is filtered by it, so another
owner's conversation answers 404 exactly like a missing one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Callable
from datetime import timedelta, timezone
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_user
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from webui.errors import ApiError, wants_json
from webui.extensions import db
from webui.session_cookie import SessionCookieInterface
from webui.tables import ROLES, ApiToken, Conversation, Reminder, User, utcnow

login_manager = LoginManager()
F = TypeVar("F", bound=Callable[..., Any])

USERNAME_MIN, USERNAME_MAX = 2, 32  # two syllables make many Korean names
PASSWORD_MIN, PASSWORD_MAX = 8, 128
TOKEN_PREFIX = "hk_"
TOKEN_TOUCH = timedelta(minutes=5)  # how stale ``last_used_at`` may get, so a token does not write on every request
GUEST_KEY = "guest"


class AccountError(ValueError):
    """A bad username or password, with a stable code and a Korean message (CLI and API alike)."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def init_app(app: Flask) -> None:
    """Attach Flask-Login: session users, token users, and what an anonymous request gets."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "로그인이 필요합니다."
    login_manager.session_protection = "basic"
    # The same signed cookie, without re-signing it on every response (see webui.session_cookie).
    app.session_interface = SessionCookieInterface()


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's user, if it still exists."""
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


@login_manager.request_loader
def load_user_from_token(req: Any) -> User | None:
    """``Authorization: Bearer hk_...``: the token's user. A wrong token is an error, not a guest."""
    header = req.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = value.strip()
    row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).scalar_one_or_none()
    if row is None:
        raise ApiError(401, "invalid_token", "API 토큰이 올바르지 않거나 취소되었습니다.")
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:  # SQLite hands datetimes back naive; we store UTC
        last = last.replace(tzinfo=timezone.utc)
    if last is None or last < now - TOKEN_TOUCH:
        db.session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        db.session.commit()
    return db.session.get(User, row.user_id)


@login_manager.unauthorized_handler
def unauthorized() -> Any:
    """Pages go to the login form; the API answers 401 JSON."""
    if wants_json():
        raise ApiError(401, "login_required", "로그인이 필요합니다.")
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


def role_required(role: str) -> Callable[[F], F]:
    """Only users with ``role`` or a higher one (user < trainer < admin): 401 for guests, 403 for others."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return unauthorized()
            if not current_user.has_role(role):
                raise ApiError(403, "forbidden", "이 기능을 쓸 권한이 없습니다.")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


# --- owners -------------------------------------------------------------------------------------

def current_owner() -> dict[str, Any]:
    """The columns that mark a conversation as the caller's: ``user_id`` or ``guest_key``
    (the guest key is None until the guest's first message)."""
    if current_user.is_authenticated:
        return {"user_id": current_user.id, "guest_key": None}
    return {"user_id": None, "guest_key": session.get(GUEST_KEY)}


def new_owner() -> dict[str, Any]:
    """Like ``current_owner``, giving a guest a key first, for a conversation about to be created."""
    if not current_user.is_authenticated and not session.get(GUEST_KEY):
        session[GUEST_KEY] = secrets.token_hex(16)
        session.permanent = True
    return current_owner()


def owned_by_caller(conversation: Conversation) -> bool:
    """Whether the caller owns ``conversation``."""
    owner = current_owner()
    if owner["user_id"] is not None:
        return conversation.user_id == owner["user_id"]
    return conversation.user_id is None and owner["guest_key"] is not None and hmac.compare_digest(
        conversation.guest_key or "", owner["guest_key"])


def owner_clause(model: Any = Conversation, owner: dict[str, Any] | None = None) -> Any:
    """A WHERE clause selecting the caller's rows of ``model`` (a table with ``user_id`` and ``guest_key``:
    conversations, reminders); nothing for a guest without a key. ``owner``: another than the caller's."""
    owner = current_owner() if owner is None else owner
    if owner["user_id"] is not None:
        return model.user_id == owner["user_id"]
    if not owner["guest_key"]:
        return model.id.is_(None)  # matches nothing
    return (model.user_id.is_(None)) & (model.guest_key == owner["guest_key"])


# --- users and tokens ---------------------------------------------------------------------------

def normalize_username(value: Any) -> str:
    """NFC, stripped and lower-cased; an AccountError says what is wrong with it."""
    if not isinstance(value, str):
        raise AccountError("invalid_username", "아이디(username)는 문자열이어야 합니다.")
    name = unicodedata.normalize("NFC", value).strip().lower()
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX or not all(c.isalnum() or c in "._-" for c in name):
        raise AccountError("invalid_username",
                           f"아이디는 {USERNAME_MIN}~{USERNAME_MAX}자의 한글, 영문, 숫자와 . _ - 로 만들어 주세요.")
    return name


def check_password_rules(password: Any) -> str:
    """The password if it is acceptable, else an AccountError."""
    if not isinstance(password, str):
        raise AccountError("invalid_password", "비밀번호(password)는 문자열이어야 합니다.")
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise AccountError("invalid_password", f"비밀번호는 {PASSWORD_MIN}~{PASSWORD_MAX}자로 정해 주세요.")
    if "\x00" in password or not _encodable(password):
        raise AccountError("invalid_password", "비밀번호에 쓸 수 없는 문자가 들어 있습니다.")
    return password


def create_user(username: Any, password: Any, role: str = "user") -> User:
    """A new account (not yet committed); AccountError when the name is taken or a rule is broken."""
    name = normalize_username(username)
    check_password_rules(password)
    if role not in ROLES:
        raise AccountError("invalid_role", f"역할은 {', '.join(ROLES)} 중 하나여야 합니다.")
    if db.session.execute(select(User.id).where(User.username == name)).first() is not None:
        raise AccountError("username_taken", "이미 쓰이고 있는 아이디입니다. 다른 아이디를 골라 주세요.", 409)
    user = User(username=name, password_hash=generate_password_hash(password, method=hash_method()), role=role)
    db.session.add(user)
    return user


_DUMMY_HASH: dict[str, str] = {}


def hash_method() -> str:
    """Werkzeug's password hash method: scrypt, unless the config says otherwise (fast hashes in tests)."""
    return str(current_app.config["PASSWORD_HASH_METHOD"])


def authenticate(username: Any, password: Any) -> User | None:
    """The user whose name and password these are, else None. An unknown name costs the same hash
    check as a known one, so response times do not reveal which names exist."""
    try:
        name = normalize_username(username)
    except AccountError:
        name = None
    if not isinstance(password, str) or not _encodable(password):
        return None
    user = db.session.execute(select(User).where(User.username == name)).scalar_one_or_none() if name else None
    if user is None:
        method = hash_method()
        if method not in _DUMMY_HASH:
            _DUMMY_HASH[method] = generate_password_hash("not a password", method=method)
        check_password_hash(_DUMMY_HASH[method], password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def log_in(user: User, remember: bool = False) -> None:
    """Start ``user``'s session, and give them the conversations and reminders they had as a guest in this
    browser (one transaction)."""
    guest_key = session.pop(GUEST_KEY, None)
    login_user(user, remember=remember)
    if guest_key:
        for model in (Conversation, Reminder):
            db.session.execute(
                update(model)
                .where(model.guest_key == guest_key, model.user_id.is_(None))
                .values(user_id=user.id, guest_key=None),
                execution_options={"synchronize_session": False},
            )
        db.session.commit()


def hash_token(token: str) -> str:
    """What is stored for a token: its SHA-256 (tokens are long random strings, so no salt is needed)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new API token row for ``user`` (not yet committed) and the token, which is never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name[:100], token_hash=hash_token(token), prefix=token[:10])
    db.session.add(row)
    return row, token


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

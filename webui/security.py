"""Security settings of the web app: secret key, cookies, CSRF, the API's origin check, body size
limits, rate limits (``webui.ratelimit``) and security headers.

``init_app`` runs first in ``create_app``, so its request hooks run before everyone else's: a
refused request never reaches the database, the rate-limit counters or a view.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFProtect

from webui import ratelimit
from webui.errors import ApiError

logger = logging.getLogger(__name__)

csrf = CSRFProtect()

SECRET_KEY_FILE = "secret_key"
MIN_SECRET_CHARS = 16
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443}
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
                      "payment=(), usb=()")
CROSS_SITE_MESSAGE = "다른 사이트에서 보낸 요청은 받을 수 없습니다. 챗봇 페이지에서 다시 시도해 주세요."


def init_app(app: Flask) -> None:
    """Attach the security settings and request hooks to ``app``."""
    app.config["SECRET_KEY"] = secret_key(app)
    configure_cookies(app)
    app.config["ALLOWED_ORIGINS"] = allowed_origins(app.config["ALLOWED_ORIGINS"])
    # Flask-WTF's own hook would check every unsafe request, the JSON API included; ours below
    # checks pages only. A path rule rather than exempted blueprints: every JSON endpoint lives
    # under /api/ whichever module registers it, so a new API blueprint cannot forget an exemption,
    # and a new page blueprint cannot forget its protection.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    # Hook order matters: cross-site refusals and CSRF failures come before the rate limiter, so
    # that a hostile page cannot spend a visitor's budget.
    app.before_request(check_request)
    app.before_request(protect_forms)
    ratelimit.init_app(app)
    app.after_request(security_headers)


# --- secret key --------------------------------------------------------------------------------

def secret_key(app: Flask) -> str | bytes:
    """``SECRET_KEY`` from the settings (config or ``CHATBOT_SECRET_KEY``), else ``secret_key`` in the
    instance folder (created on first start). Logs where it came from, never the key."""
    if app.config["SECRET_KEY"]:
        logger.info("SECRET_KEY from the settings")
        return app.config["SECRET_KEY"]
    if app.testing:
        # Tests must not write into the source tree's instance folder; a key per app is enough there.
        logger.info("SECRET_KEY: a random one for this test app")
        return secrets.token_hex(32)
    path = Path(app.instance_path) / SECRET_KEY_FILE
    return read_or_create_secret(path)


def read_or_create_secret(path: Path) -> str:
    """The key stored in ``path``, created (64 hex digits of 32 random bytes, mode 0600) if missing.

    Race-safe for gunicorn workers starting together: each writes its own temporary file and
    hard-links it to ``path``, which fails for all but the first; the others read the winner's
    key. The link also means that ``path`` never exists half-written."""
    if path.exists():
        logger.info("SECRET_KEY from %s", path)
        return read_secret(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
            logger.info("SECRET_KEY created in %s", path)
        except FileExistsError:
            logger.info("SECRET_KEY from %s (created by another process)", path)
    finally:
        tmp.unlink(missing_ok=True)
    return read_secret(path)


def read_secret(path: Path) -> str:
    """A stored key, refusing an empty or trivially short one."""
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_CHARS:
        raise ValueError(f"{path} holds no usable secret key (under {MIN_SECRET_CHARS} characters). "
                         "Delete it to have a new one created, or set CHATBOT_SECRET_KEY in the environment.")
    if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("%s can be read by other users; chmod 600 it", path)
    return key


# --- cookies and size limits ---------------------------------------------------------------------

def configure_cookies(app: Flask) -> None:
    """Session and remember-me cookies: HttpOnly, SameSite=Lax, Secure with ``SESSION_COOKIE_SECURE``.
    The remember-me cookie follows the session cookie's settings."""
    config = app.config
    config["SESSION_COOKIE_HTTPONLY"] = True
    if not config["SESSION_COOKIE_SAMESITE"]:  # Flask's own default, None, given back explicitly: still Lax
        config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    config.setdefault("REMEMBER_COOKIE_SAMESITE", config["SESSION_COOKIE_SAMESITE"])
    config.setdefault("REMEMBER_COOKIE_SECURE", bool(config["SESSION_COOKIE_SECURE"]))


# --- the API's origin check and the pages' CSRF check ------------------------------------------

def allowed_origins(value: str | list[str] | tuple[str, ...] | set[str]) -> frozenset[tuple[str, str, int]]:
    """Other origins allowed to call the API (comma-separated or a list); a malformed one stops the start."""
    items = value.split(",") if isinstance(value, str) else list(value)
    origins = set()
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        origin = parse_origin(item)
        if origin is None:
            raise ValueError(f"ALLOWED_ORIGINS: {item!r} is not an origin; write it like https://chat.example.com")
        origins.add(origin)
    return frozenset(origins)


def parse_origin(value: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin such as ``https://example.com``; None for ``null`` and garbage."""
    try:
        parts = urlsplit(value.strip())
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port out of range, a broken IPv6 address
        return None
    if scheme not in DEFAULT_PORTS or not host or port is None or parts.path not in ("", "/"):
        return None
    return scheme, host, port


def is_api_request() -> bool:
    """JSON endpoints all live under /api/: they take no CSRF token and answer in JSON."""
    return request.path.startswith("/api/")


def check_request() -> None:
    """Under /api/: cap non-multipart bodies, and refuse unsafe requests that a browser sent from another site.

    Programmatic clients (curl, Python) send neither ``Origin`` nor ``Sec-Fetch-*`` and pass. A
    browser sends both on a cross-site POST, including the simple form and multipart posts that
    need no CORS preflight, which is what a hostile page would use against a logged-in visitor."""
    if not is_api_request():
        return
    if request.mimetype != "multipart/form-data":
        request.max_content_length = current_app.config["MAX_API_BODY_BYTES"]
    if request.method not in UNSAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    parsed = parse_origin(origin) if origin is not None else None
    # An origin the operator listed passes even cross-site: that is what listing it is for.
    allowed = current_app.config["ALLOWED_ORIGINS"]
    if not isinstance(allowed, frozenset):  # set again after start, as a list or a string
        allowed = allowed_origins(allowed)
    if parsed is not None and parsed in allowed:
        return
    cross_site = request.headers.get("Sec-Fetch-Site", "").strip().lower() == "cross-site"
    if cross_site or (origin is not None and parsed != own_origin()):
        logger.info("Refused a cross-site %s %s (Origin %r, Sec-Fetch-Site %r)", request.method, request.path,
                    origin, request.headers.get("Sec-Fetch-Site"))
        raise ApiError(403, "cross_site_request", CROSS_SITE_MESSAGE)


def own_origin() -> tuple[str, str, int] | None:
    """This request's own origin as Flask sees it (behind a proxy, ProxyFix makes that the public one)."""
    return parse_origin(f"{request.scheme}://{request.host}")


def protect_forms() -> None:
    """Flask-WTF's CSRF check for every unsafe request outside /api/ (a failure is a 400 page)."""
    if is_api_request() or not current_app.config["WTF_CSRF_ENABLED"]:
        return
    if request.method in UNSAFE_METHODS:
        csrf.protect(apply_exemptions=True)


# --- headers -------------------------------------------------------------------------------------

SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", PERMISSIONS_POLICY),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000")  # only when cookies are HTTPS-only


def security_headers(response: Response) -> Response:
    """Security headers on every response, keeping any that a view set itself (uploads have their own CSP)."""
    headers = response.headers
    # One pass over the response's headers: a setdefault each would scan them all seven times.
    present = {name.lower() for name in headers.keys()}
    wanted = (*SECURITY_HEADERS, HSTS) if current_app.config["SESSION_COOKIE_SECURE"] else SECURITY_HEADERS
    for name, value in wanted:
        if name.lower() not in present:
            headers.add(name, value)
    return response

"""Per-client rate limits (Flask-Limiter): ``chat_limit``, ``auth_limit`` and a generous default.

Counters live in ``RATELIMIT_STORAGE_URI``: ``memory://`` (one process) by default, or Redis
(``redis://127.0.0.1:6379/0``) so that gunicorn workers and machines share them. Limits are read
from the config at request time, so tests and load benchmarks can change them on a running app.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any

from flask import Flask, Response, current_app, has_app_context, request
from flask_limiter import Limiter
from limits import parse_many

from webui.errors import ApiError

logger = logging.getLogger(__name__)

DEFAULT_CHAT_LIMIT = "30 per minute"
DEFAULT_AUTH_LIMIT = "10 per minute"
DEFAULT_LIMIT = "300 per minute"
# A Redis that does not answer must cost a request half a second at most, not a hung worker.
REDIS_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
STATE_KEY = "chatbot.ratelimit"
FALSE_WORDS = ("0", "false", "no", "off")


def _per_app(name: str) -> property:
    """An attribute kept in the current app's ``extensions`` rather than on the shared limiter."""

    def get(self: AppLimiter) -> Any:
        state = self._app_state()
        if state is not None and name in state:
            return state[name]
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def set_(self: AppLimiter, value: Any) -> None:
        state = self._app_state()
        if state is not None:
            state[name] = value
        else:
            self.__dict__[name] = value

    return property(get, set_)


class AppLimiter(Limiter):
    """A Flask-Limiter whose storage, on/off switch and Redis-outage state belong to each app.

    Flask-Limiter keeps them on the extension object, so with one module-level limiter (which the
    views' decorators need) the last ``create_app`` in a process would decide the storage of every
    app: two test apps would share one in-memory counter and one Redis outage flag. The decorated
    limits themselves stay shared, as they belong to the view functions."""

    enabled = _per_app("enabled")
    initialized = _per_app("initialized")
    _storage = _per_app("_storage")
    _limiter = _per_app("_limiter")
    _storage_dead = _per_app("_storage_dead")
    _fallback_storage = _per_app("_fallback_storage")
    _fallback_limiter = _per_app("_fallback_limiter")
    # Flask-Limiter's private back-off between health checks of a dead storage (name-mangled).
    _Limiter__check_backend_count = _per_app("_Limiter__check_backend_count")
    _Limiter__last_check_backend = _per_app("_Limiter__last_check_backend")

    def _app_state(self) -> dict[str, Any] | None:
        """The current app's limiter state, if an app context is active and this app has one."""
        if not has_app_context():
            return None
        return current_app.extensions.get(STATE_KEY)


def client_key() -> str:
    """``user:<id>`` for a logged-in user (session or API token), else the client's address."""
    if hasattr(current_app, "login_manager"):
        try:
            from flask_login import current_user

            if current_user.is_authenticated:
                return f"user:{current_user.get_id()}"
        except ApiError:  # a wrong API token: the view answers 401; meanwhile it counts against its address
            pass
        except Exception:  # a user that cannot be loaded now must not switch rate limiting off
            logger.warning("Rate limit: could not load the current user; keying by address", exc_info=True)
    return client_address()


def client_address() -> str:
    """The client's address as the WSGI server reports it (a reverse proxy needs ProxyFix to pass the real one)."""
    return request.remote_addr or "unknown"  # an empty key would make Flask-Limiter skip the limit


def _config_limit(key: str, default: str) -> str:
    return str(current_app.config.get(key) or default)


def _exempt() -> bool:
    """The health check answers load balancers and probes, which must never be throttled."""
    return request.path == "/healthz"


limiter = AppLimiter(
    key_func=client_key,
    default_limits=[lambda: _config_limit("RATELIMIT_DEFAULT", DEFAULT_LIMIT)],
    in_memory_fallback_enabled=True,  # a Redis outage: keep limiting per process in memory...
    swallow_errors=True,  # ...and if even that fails, log it and let the request through, never a 500
    key_prefix="chatbot",
)
limiter.request_filter(_exempt)

# One budget per client shared by every view decorated with it (a future streaming chat endpoint
# draws from the same budget as /api/chat).
chat_limit = limiter.shared_limit(lambda: _config_limit("RATELIMIT_CHAT", DEFAULT_CHAT_LIMIT), scope="chat")
# Login and registration, by address: guessing passwords from one machine with many accounts is
# throttled all the same. Only posts count; the pages themselves stay under the default limit.
auth_limit = limiter.shared_limit(lambda: _config_limit("RATELIMIT_AUTH", DEFAULT_AUTH_LIMIT), scope="auth",
                                  key_func=client_address, methods=["POST"], override_defaults=False)


def env_flag(name: str, default: bool) -> bool:
    """A yes/no environment variable: ``0``, ``false``, ``no`` and ``off`` mean no."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in FALSE_WORDS


def configure(app: Flask) -> None:
    """Settle the rate-limit settings: the app config first, then the environment, then the defaults."""
    config = app.config
    config.setdefault("RATELIMIT_ENABLED", env_flag("CHATBOT_RATELIMIT_ENABLED", True))
    config.setdefault("RATELIMIT_STORAGE_URI", os.environ.get("RATELIMIT_STORAGE_URI") or "memory://")
    for key, env, default in (("RATELIMIT_CHAT", "CHATBOT_RATELIMIT_CHAT", DEFAULT_CHAT_LIMIT),
                              ("RATELIMIT_AUTH", "CHATBOT_RATELIMIT_AUTH", DEFAULT_AUTH_LIMIT),
                              ("RATELIMIT_DEFAULT", "CHATBOT_RATELIMIT_DEFAULT", DEFAULT_LIMIT)):
        value = config.setdefault(key, os.environ.get(env) or default)
        try:
            if not parse_many(str(value)):
                raise ValueError("no limit")
        except ValueError as exc:  # fail at start, not with a swallowed error on every request
            raise ValueError(f"{key}={value!r} is not a rate limit; write it like {default!r}") from exc
    if str(config["RATELIMIT_STORAGE_URI"]).split(":", 1)[0] in ("redis", "rediss"):
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", dict(REDIS_OPTIONS))


def init_app(app: Flask) -> None:
    """Attach the shared limiter to ``app`` with this app's own storage, and Retry-After on 429s."""
    configure(app)
    app.extensions[STATE_KEY] = {}
    with app.app_context():  # so that the limiter's per-app attributes land in this app's state
        limiter.init_app(app)
    app.after_request(retry_after)
    where = str(app.config["RATELIMIT_STORAGE_URI"]).split("@")[-1]  # never log a Redis password
    logger.info("Rate limits %s (storage %s)", "on" if app.config["RATELIMIT_ENABLED"] else "off", where)


def retry_after(response: Response) -> Response:
    """Tell a throttled client how many seconds to wait (the JSON body comes from ``webui.errors``)."""
    if response.status_code != 429 or "Retry-After" in response.headers:
        return response
    seconds = 60
    limit = limiter.current_limit
    if limit is not None:
        try:
            seconds = math.ceil(limit.window[0] - time.time())  # window[0]: when the window resets
        except Exception:  # the storage went away between the hit and now: the window's length will do
            seconds = int(limit.limit.get_expiry())
    response.headers["Retry-After"] = str(max(1, seconds))
    return response

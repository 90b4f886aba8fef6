"""Per-client rate limits (Flask-Limiter): ``chat_limit``, ``auth_limit`` and a generous default.

Counters live in ``RATELIMIT_STORAGE_URI``: ``memory://`` (one process) by default, or Redis
(``redis://127.0.0.1:6379/0``) so that gunicorn workers and machines share them. Limits are read
from the config at request time, so tests and load benchmarks can change them on a running app.

Each app gets a ``Limiter`` of its own (Flask-Limiter keeps the storage, the on/off switch and the
Redis-outage state on the extension object; two test apps in one process must not share them).
So ``chat_limit`` and ``auth_limit`` only mark a view, and ``limit_views`` puts the app's limiter's
decorators on the marked views once the blueprints are registered.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from limits import parse_many

from webui.errors import ApiError

logger = logging.getLogger(__name__)

# A Redis that does not answer must cost a request half a second at most, not a hung worker.
REDIS_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
LIMITER_KEY = "chatbot.limiter"
MARK = "_chatbot_rate_limit"
View = TypeVar("View", bound=Callable[..., Any])


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


def _config_limit(key: str) -> str:
    return str(current_app.config[key])


def _exempt() -> bool:
    """The health checks answer load balancers and probes, and ``/metrics`` a scraper: never throttled."""
    return request.path in ("/healthz", "/readyz", "/metrics")


def chat_limit(view: View) -> View:
    """Mark a view as drawing from the chat budget (``RATELIMIT_CHAT``): one budget per client shared by
    every view marked so (a future streaming chat endpoint draws from the same budget as /api/chat)."""
    setattr(view, MARK, "chat")
    return view


def auth_limit(view: View) -> View:
    """Mark a view as a login or registration (``RATELIMIT_AUTH``), counted by address: guessing passwords
    from one machine with many accounts is throttled all the same. Only posts count; the pages themselves
    stay under the default limit."""
    setattr(view, MARK, "auth")
    return view


def configure(app: Flask) -> None:
    """Check the limits (a typo stops the start, not every request) and settle the Redis options."""
    config = app.config
    for key in ("RATELIMIT_CHAT", "RATELIMIT_AUTH", "RATELIMIT_DEFAULT"):
        value = config[key]
        try:
            if not parse_many(str(value)):
                raise ValueError("no limit")
        except ValueError as exc:  # fail at start, not with a swallowed error on every request
            raise ValueError(f"{key}={value!r} is not a rate limit; write it like '30 per minute'") from exc
    if str(config["RATELIMIT_STORAGE_URI"]).split(":", 1)[0] in ("redis", "rediss"):
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", dict(REDIS_OPTIONS))


def init_app(app: Flask) -> None:
    """Give ``app`` its own limiter (its request hook, its storage), and Retry-After on 429s."""
    configure(app)
    limiter = Limiter(
        key_func=client_key,
        default_limits=[lambda: _config_limit("RATELIMIT_DEFAULT")],
        in_memory_fallback_enabled=True,  # a Redis outage: keep limiting per process in memory...
        swallow_errors=True,  # ...and if even that fails, log it and let the request through, never a 500
        key_prefix="chatbot",
    )
    limiter.request_filter(_exempt)
    limiter.init_app(app)
    app.extensions[LIMITER_KEY] = limiter
    app.after_request(retry_after)
    where = str(app.config["RATELIMIT_STORAGE_URI"]).split("@")[-1]  # never log a Redis password
    logger.info("Rate limits %s (storage %s)", "on" if app.config["RATELIMIT_ENABLED"] else "off", where)


def limit_views(app: Flask) -> None:
    """Put the app's limits on the views that ``chat_limit`` and ``auth_limit`` marked (after the blueprints)."""
    limiter: Limiter = app.extensions[LIMITER_KEY]
    decorators = {
        "chat": limiter.shared_limit(lambda: _config_limit("RATELIMIT_CHAT"), scope="chat"),
        "auth": limiter.shared_limit(lambda: _config_limit("RATELIMIT_AUTH"), scope="auth",
                                     key_func=client_address, methods=["POST"], override_defaults=False),
    }
    for endpoint, view in list(app.view_functions.items()):
        kind = getattr(view, MARK, None)
        if kind is not None:
            app.view_functions[endpoint] = decorators[kind](view)


def retry_after(response: Response) -> Response:
    """Tell a throttled client how many seconds to wait (the JSON body comes from ``webui.errors``).

    Not Flask-Limiter's ``RATELIMIT_HEADERS_ENABLED``: that writes ``X-RateLimit-*`` and ``Retry-After``
    on every response of a limited route, which costs a storage round trip per request (Redis), and
    rounds the seconds down, to 0 in a window's last second."""
    if response.status_code != 429 or "Retry-After" in response.headers:
        return response
    seconds = 60
    limit = current_app.extensions[LIMITER_KEY].current_limit
    if limit is not None:
        try:
            seconds = math.ceil(limit.window.reset_time - time.time())
        except Exception:  # the storage went away between the hit and now: the window's length will do
            seconds = int(limit.limit.get_expiry())
    response.headers["Retry-After"] = str(max(1, seconds))
    return response

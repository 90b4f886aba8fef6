"""Flask's signed session cookie, without the work that a request which changes nothing does not need.

Flask builds a new signing serializer for every request, verifies the cookie's signature and
decodes it, and re-signs and re-sends a permanent session's cookie on every response
(``SESSION_REFRESH_EACH_REQUEST``) so that its expiry slides forward. A chat client sends the same
cookie with every message, and those steps were a large part of a chat request's CPU
(docs/benchmarks.md, "the chat request at the floor"). This interface keeps the cookie format, the
signature and the sliding expiry, and:

- builds the serializer once per set of secret keys;
- remembers the cookies it verified lately, by their exact value (so under the same keys), and
  checks their age again on every use, so an expired cookie is refused as before;
- renews an unchanged permanent cookie only once it is ``REFRESH_AFTER`` old, instead of on every
  response: its expiry still slides, an hour at a time.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature, URLSafeTimedSerializer

REFRESH_AFTER = timedelta(hours=1)
MAX_REMEMBERED = 4096  # verified cookies kept per process; past this the memory starts again
_SCALARS = (str, int, float, bool, type(None))


class CookieSession(SecureCookieSession):
    """A session that knows when its cookie was signed (None for a new one)."""

    issued_at: datetime | None = None


class SessionCookieInterface(SecureCookieSessionInterface):
    """Flask's ``SecureCookieSessionInterface`` with the cached steps above."""

    session_class = CookieSession

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}
        self._verified: dict[tuple[tuple[Any, ...], str], tuple[dict[str, Any], datetime]] = {}
        self._lock = threading.Lock()

    def _keys(self, app: Flask) -> tuple[Any, ...]:
        return (*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's serializer, built once for the app's current secret keys."""
        if not app.secret_key:
            return None
        keys = self._keys(app)
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            with self._lock:
                if len(self._serializers) > 8:  # keys rotated many times: forget the old ones
                    self._serializers.clear()
                self._serializers[keys] = serializer  # type: ignore[assignment]
        return serializer

    def open_session(self, app: Flask, request: Request) -> CookieSession | None:
        """The request's session: from a cookie verified lately, else verified now; empty when invalid or expired."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = app.permanent_session_lifetime
        key = (self._keys(app), value)
        known = self._verified.get(key)
        if known is not None:
            data, issued_at = known
            if datetime.now(timezone.utc) - issued_at > max_age:
                return self.session_class()
        else:
            try:
                data, issued_at = serializer.loads(value, max_age=int(max_age.total_seconds()), return_timestamp=True)
            except BadSignature:
                return self.session_class()
            # Only flat sessions are remembered: their copy below cannot share a mutable value between requests.
            if isinstance(data, dict) and all(isinstance(v, _SCALARS) for v in data.values()):
                with self._lock:
                    if len(self._verified) >= MAX_REMEMBERED:
                        self._verified.clear()
                    self._verified[key] = (data, issued_at)
        session = self.session_class(data)
        session.issued_at = issued_at
        return session

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        """Set the cookie when the session changed, or when a permanent one is ``REFRESH_AFTER`` old."""
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        issued_at = getattr(session, "issued_at", None)
        return issued_at is None or datetime.now(timezone.utc) - issued_at >= REFRESH_AFTER

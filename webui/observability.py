"""Request ids and one structured log line per request (``LOG_FORMAT``: ``json`` or ``text``).

- Every request gets an id: the ``X-Request-ID`` header when it is short and made of safe characters
  (a load balancer's or a client's, so one id follows a request across machines), else a new one. The
  response carries it back in ``X-Request-ID``; every log record made while the request runs carries it
  as ``request_id`` (``RequestIdFilter``), a training job's start included, and a training job started
  by the request keeps it in its record (``current_request_id``).
- When the response is ready, ``webui.requests`` logs one line: method, path, status, duration_ms,
  request_id, user_id (when the request was authenticated) and remote_addr, and for a stored chat
  exchange its conversation_id, message_id, intent, fallback and reply_source (``chat_written``): one
  line a request, not a second one for the chat write (the two lines' write() and JSON were about 6% of
  the chat request's server CPU: docs/benchmarks.md, "Issue 19"). With ``METRICS`` on, ``webui.metrics`` counts the
  request in the same place.
- ``configure_logging`` is for servers (``serve``, gunicorn's master), never for ``create_app``: tests and
  embedding code keep their own logging. In JSON every line, gunicorn's own included, is one object,
  which log pipelines (Loki, CloudWatch, Elasticsearch) parse without a regex.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
# Hex, UUIDs, base64url and the ids proxies make (``1-5f2a...``): anything else is replaced, so a header
# cannot smuggle a newline, quotes or a megabyte into the logs.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
LOG_FORMATS = ("json", "text")
APP_LOGGERS = ("webui", "chatbot")
ACCESS_LOGGER = "webui.requests"
METRICS_KEY = "chatbot.metrics"  # webui.metrics.Metrics, with METRICS on (not imported here: see its docstring)
MARK = "_chatbot_observability"  # on the handlers and filters this module set up: set up once
JSON_FIELDS = "{levelname}{name}{message}"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

LINE_FIELDS_KEY = "log_line_fields"  # on ``g``: fields a view adds to its request's line
access_logger = logging.getLogger(ACCESS_LOGGER)


def init_app(app: Flask) -> None:
    """Give every request an id and a log line; first among the app's hooks, so that a request refused
    early (a cross-site POST, a rate limit) still gets both. A ``LOG_FORMAT`` that is neither json nor text
    stops the start."""
    log_formatter(str(app.config["LOG_FORMAT"]))
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)
    app.after_request(finish_request)


def start_request() -> None:
    """Note the start time and the request's id."""
    g.request_started = time.perf_counter()
    g.request_id = accepted_request_id(request.headers.get(REQUEST_ID_HEADER))


def accepted_request_id(given: str | None) -> str:
    """``given`` when it is a usable id, else a new one (32 hex digits)."""
    if given and REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being served, or None outside a request."""
    return g.get("request_id") if has_request_context() else None


def finish_request(response: Response) -> Response:
    """Send the id back, count the request (``METRICS``) and log its line."""
    request_id = g.get("request_id") or accepted_request_id(None)  # a hook before ours may have failed
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    metrics = current_app.extensions.get(METRICS_KEY)
    if metrics is not None:
        metrics.observe_request(response, seconds)
    if access_logger.isEnabledFor(logging.INFO):
        status, fields = response.status_code, g.get(LINE_FIELDS_KEY, {})
        suffix = f" (conversation {fields['conversation_id']})" if "conversation_id" in fields else ""
        access_logger.info("%s %s %d %.1f ms%s", request.method, request.path, status, seconds * 1000, suffix, extra={
            "method": request.method, "path": request.path, "status": status,
            "duration_ms": round(seconds * 1000, 2), "request_id": request_id, "user_id": request_user_id(),
            "remote_addr": request.remote_addr, **fields})
    return response


def request_user_id() -> Any:
    """The id of the user this request authenticated as; None for a guest, or when the request never
    looked (reading the session or the database here would cost every request, and mark it as reading the
    session cookie)."""
    user = g.get("_login_user")  # where Flask-Login keeps the user once a view asked for it
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "id", None)


def chat_written(stored: Any, reply: Any) -> None:
    """The stored exchange's fields for the request's log line, and the reply counted (``METRICS``)."""
    setattr(g, LINE_FIELDS_KEY, {
        "conversation_id": stored.conversation_id, "message_id": stored.bot_message_id,
        "intent": reply.intent, "fallback": bool(reply.fallback),
        "reply_source": getattr(reply, "source", None) or None})  # a bot given in the config may not say
    metrics = current_app.extensions.get(METRICS_KEY)
    if metrics is not None:
        metrics.observe_reply(reply)


# --- the servers' logging -------------------------------------------------------------------------

class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record (None outside a request), for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


def log_formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``LOG_FORMAT``: one JSON object a line (time, level, logger, message and the
    record's extra fields), or a text line with the request id."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT={log_format!r} is not one of {', '.join(LOG_FORMATS)}; "
                         "set CHATBOT_LOG_FORMAT=json or CHATBOT_LOG_FORMAT=text")
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(JSON_FIELDS, style="{", timestamp="time", json_ensure_ascii=False,
                         rename_fields={"levelname": "level", "name": "logger"})


def configure_logging(log_format: str) -> None:
    """Format log records as ``log_format``, with request ids, where they are written: the app loggers'
    handlers when a server gave them some (gunicorn's master gives them its error log, whose own lines then
    match), else the root logger's (``python -m chatbot`` sets one up; one to stderr when there is none).
    There, the request lines are turned on (INFO) even when the rest stays at WARNING.
    Calling it again changes the format and adds nothing."""
    formatter = log_formatter(log_format)
    handlers = [handler for name in APP_LOGGERS for handler in logging.getLogger(name).handlers]
    if not handlers:
        root = logging.getLogger()
        if not root.handlers:
            root.addHandler(logging.StreamHandler(sys.stderr))
        handlers = list(root.handlers)
        line_logger = logging.getLogger(ACCESS_LOGGER)
        if line_logger.getEffectiveLevel() > logging.INFO:
            line_logger.setLevel(logging.INFO)
    for handler in {id(h): h for h in [*handlers, *logging.getLogger("gunicorn.error").handlers]}.values():
        handler.setFormatter(formatter)
        if not any(getattr(f, MARK, False) for f in handler.filters):
            request_filter = RequestIdFilter()
            setattr(request_filter, MARK, True)
            handler.addFilter(request_filter)

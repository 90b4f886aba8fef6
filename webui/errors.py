"""JSON error responses ``{"error": {"code", "message"}}`` for the API, never a traceback."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, jsonify, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, ServiceUnavailable

if TYPE_CHECKING:
    from chatbot.errors import InputError

logger = logging.getLogger(__name__)

# Korean messages for the HTTP errors that the API can raise through Flask/Werkzeug.
HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "요청이 올바르지 않습니다."),
    404: ("not_found", "요청한 주소를 찾을 수 없습니다."),
    405: ("method_not_allowed", "이 주소에서는 허용되지 않는 요청 방식입니다."),
    413: ("request_too_large", "요청 본문이 너무 큽니다. 이미지는 10MB 이하로 올려 주세요."),
    415: ("unsupported_media_type", "지원하지 않는 요청 형식입니다."),
    429: ("too_many_requests", "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요."),
}
INTERNAL_MESSAGE = "서버 내부 오류가 발생했습니다. 잠시 후 다시 시도해 주세요."
DATABASE_UNAVAILABLE_MESSAGE = "지금은 데이터베이스에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요."

# SQLAlchemy's errors that mean "the database cannot be reached or is not answering" (psycopg's and
# sqlite3's connection errors arrive wrapped in the first two), as opposed to a bug in a query.
OUTAGE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError)


JSON_PATHS = ("/api", "/healthz", "/readyz", "/metrics")  # besides everything under /api/ and /trainer/api/


class ApiError(Exception):
    """A client error with a stable machine code and a Korean message for the user."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    """The one error shape of the API."""
    return jsonify({"error": {"code": code, "message": message}}), status


def wants_json() -> bool:
    """API and health routes (``/api/``, the trainer console's ``/trainer/api/``) always answer in JSON; so
    does any client that prefers JSON to HTML."""
    if request.path.startswith(("/api/", "/trainer/api/")) or request.path in JSON_PATHS:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def handle_api_error(error: ApiError) -> tuple[Response, int]:
    """Validation failures found by the views."""
    return error_response(error.status, error.code, error.message)


def handle_input_error(error: InputError) -> tuple[Response, int]:
    """The library's "your input is wrong" (a message, a picture, a CSV table): its code and Korean message."""
    return error_response(error.status, error.code, error.message)


def handle_http_exception(error: HTTPException) -> Response | HTTPException:
    """404, 405, 413 and friends: JSON for the API (keeping headers such as Allow), HTML for pages."""
    if not wants_json():
        return error
    status = error.code or 500
    code, message = HTTP_MESSAGES.get(status, (_snake(error.name), error.description or error.name))
    response = error.get_response()
    response.set_data(jsonify({"error": {"code": code, "message": message}}).get_data())
    response.content_type = "application/json"
    return response


def handle_unexpected(error: Exception) -> tuple[Response, int]:
    """Anything else is our bug: log the traceback, show the user a short apology."""
    logger.error("Unhandled error on %s %s", request.method, request.path, exc_info=error)
    return error_response(500, "internal_error", INTERNAL_MESSAGE)


def is_database_outage(error: BaseException) -> bool:
    """Whether ``error`` says that the database is unreachable (rather than that a query is wrong)."""
    if isinstance(error, OUTAGE_ERRORS):
        return True
    return isinstance(error, sa_exc.DBAPIError) and bool(error.connection_invalidated)


def handle_database_error(error: sa_exc.SQLAlchemyError) -> tuple[Response, int] | Response:
    """A database outage is a 503 with ``Retry-After``, logged once per outage by ``webui.database``;
    the session is thrown away so that the next request starts on a fresh connection. Other database
    errors are bugs (500)."""
    if not is_database_outage(error):
        return handle_unexpected(error)
    from webui.database import get_outage
    from webui.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection is already gone; removing the session is what matters
        logger.debug("Rollback after a database error failed", exc_info=True)
    db.session.remove()
    outage = get_outage(current_app)
    outage.report(error)
    logger.debug("503 for %s %s: the database is unavailable", request.method, request.path)
    if not wants_json():
        return ServiceUnavailable(DATABASE_UNAVAILABLE_MESSAGE, retry_after=outage.retry_after).get_response()
    response, status = error_response(503, "database_unavailable", DATABASE_UNAVAILABLE_MESSAGE)
    response.headers["Retry-After"] = str(outage.retry_after)
    return response, status


def register_error_handlers(app: Flask) -> None:
    """Attach the JSON error handlers to ``app``."""
    from chatbot.errors import InputError  # here, not at import: webui imports without the library

    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(InputError, handle_input_error)
    app.register_error_handler(sa_exc.SQLAlchemyError, handle_database_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)


def _snake(name: str) -> str:
    return "_".join(name.lower().replace("-", " ").split())

"""The trainer console's blueprint and its error pages; the page modules add their routes to ``bp``.

Apart from the package's ``__init__`` so that the page modules import it without importing the
package that imports them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from werkzeug.exceptions import HTTPException

from webui.errors import ApiError, error_response, handle_http_exception, wants_json
from webui.trainer.storage import max_upload_bytes

bp = Blueprint("trainer", __name__, url_prefix="/trainer")

ERROR_MESSAGES = {
    400: "요청이 올바르지 않아요. 페이지를 새로 고친 뒤 다시 시도해 주세요.",
    404: "찾는 항목이 없어요. 목록에서 다시 골라 주세요.",
    405: "이 주소에서는 그렇게 요청할 수 없어요.",
}


@bp.errorhandler(ApiError)
def console_api_error(error: ApiError) -> Any:
    """403 for a user without the trainer role, and other refusals: JSON under /trainer/api/, else a page."""
    if wants_json():
        return error_response(error.status, error.code, error.message)
    return error_page(error.message, error.status)


@bp.errorhandler(HTTPException)
def console_http_error(error: HTTPException) -> Any:
    """404 for an unknown corpus or job, 413 for a body over the app's limit, a CSRF failure: a console page."""
    if wants_json():
        return handle_http_exception(error)
    status = error.code or 500
    if status == 413:
        message = f"파일이 너무 커요. {max_upload_bytes() / 1024 / 1024:g}MB 이하로 올려 주세요."
    else:
        message = ERROR_MESSAGES.get(status, error.description or error.name)
    return error_page(message, status)


def error_page(message: str, status: int) -> Any:
    """The console's error page. The page shows who is logged in; when that lookup itself fails (a wrong
    ``Authorization: Bearer`` token), the token's own JSON 401 is the answer rather than a second error."""
    try:
        return render_template("trainer/error.html", message=message, status=status), status
    except ApiError as error:
        return error_response(error.status, error.code, error.message)


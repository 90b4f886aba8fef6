"""The JSON body of an API request, read the same way by every blueprint."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from flask import request

from webui.errors import ApiError


def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object, whatever the Content-Type (so plain ``curl -d`` works)."""
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # bad syntax, bad encoding, absurd nesting
        raise ApiError(400, "invalid_json", "요청 본문이 올바른 JSON이 아닙니다.") from exc
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_type", '요청 본문은 JSON 객체여야 합니다. 예: {"message": "안녕하세요"}')
    return payload


def storable_text(text: str, allowed_controls: str = "") -> bool:
    """Whether ``text`` can be stored and shown: no lone surrogate (a JSON "\\ud800" escape, which no UTF-8
    column holds), no NUL and no other control character but those in ``allowed_controls`` ("\\n\\t")."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(unicodedata.category(c) == "Cc" and c not in allowed_controls for c in text)

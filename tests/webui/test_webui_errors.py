"""Every bad request gets a 4xx JSON error and never reaches the 500 handler."""

from __future__ import annotations

import json
import logging

import pytest

from webui.settings import MAX_CONTENT_LENGTH

UNKNOWN_ID = "0" * 32

# (id, method, path, request kwargs, expected status, expected error code)
BAD_REQUESTS = [
    (
        "invalid-json",
        "post",
        "/api/chat",
        {"data": "{not json", "content_type": "application/json"},
        400,
        "invalid_json",
    ),
    (
        "empty-body",
        "post",
        "/api/chat",
        {"data": "", "content_type": "application/json"},
        400,
        "invalid_json",
    ),
    (
        "not-utf8",
        "post",
        "/api/chat",
        {"data": b'{"message": "\xff\xfe"}', "content_type": "application/json"},
        400,
        "invalid_json",
    ),
    ("deep-nesting", "post", "/api/chat", {"data": "[" * 30000 + "]" * 30000}, 400, "invalid_json"),
    ("body-is-list", "post", "/api/chat", {"json": ["안녕"]}, 400, "invalid_type"),
    ("body-is-string", "post", "/api/chat", {"json": "안녕"}, 400, "invalid_type"),
    ("body-is-null", "post", "/api/chat", {"data": "null"}, 400, "invalid_type"),
    ("message-is-number", "post", "/api/chat", {"json": {"message": 42}}, 400, "invalid_type"),
    ("message-is-list", "post", "/api/chat", {"json": {"message": ["안녕"]}}, 400, "invalid_type"),
    ("message-is-object", "post", "/api/chat", {"json": {"message": {"text": "안녕"}}}, 400, "invalid_type"),
    ("message-is-bool", "post", "/api/chat", {"json": {"message": True}}, 400, "invalid_type"),
    (
        "conversation-id-is-number",
        "post",
        "/api/chat",
        {"json": {"message": "안녕", "conversation_id": 7}},
        400,
        "invalid_type",
    ),
    ("missing-message", "post", "/api/chat", {"json": {}}, 400, "missing_message"),
    ("message-is-null", "post", "/api/chat", {"json": {"message": None}}, 400, "missing_message"),
    ("empty-message", "post", "/api/chat", {"json": {"message": ""}}, 400, "empty_message"),
    ("whitespace-message", "post", "/api/chat", {"json": {"message": " \t\n\u3000 "}}, 400, "empty_message"),
    ("too-long", "post", "/api/chat", {"json": {"message": "가" * 1001}}, 400, "message_too_long"),
    (
        "too-long-after-strip",
        "post",
        "/api/chat",
        {"json": {"message": " " + "a" * 1001 + " "}},
        400,
        "message_too_long",
    ),
    (
        "lone-surrogate",
        "post",
        "/api/chat",
        {"data": '{"message": "\\ud800"}', "content_type": "application/json"},
        400,
        "invalid_message",
    ),
    ("nul-character", "post", "/api/chat", {"json": {"message": "a\u0000b"}}, 400, "invalid_message"),
    (
        "unknown-conversation",
        "post",
        "/api/chat",
        {"json": {"message": "안녕", "conversation_id": UNKNOWN_ID}},
        404,
        "conversation_not_found",
    ),
    (
        "malformed-conversation",
        "post",
        "/api/chat",
        {"json": {"message": "안녕", "conversation_id": "../../etc/passwd"}},
        404,
        "conversation_not_found",
    ),
    (
        "empty-conversation-id",
        "post",
        "/api/chat",
        {"json": {"message": "안녕", "conversation_id": ""}},
        404,
        "conversation_not_found",
    ),
    ("history-unknown", "get", f"/api/conversations/{UNKNOWN_ID}", {}, 404, "conversation_not_found"),
    ("history-malformed", "get", "/api/conversations/not-a-uuid", {}, 404, "conversation_not_found"),
    ("history-huge-id", "get", "/api/conversations/" + "f" * 5000, {}, 404, "conversation_not_found"),
    ("get-chat", "get", "/api/chat", {}, 405, "method_not_allowed"),
    ("put-chat", "put", "/api/chat", {"json": {"message": "안녕"}}, 405, "method_not_allowed"),
    ("post-history", "post", f"/api/conversations/{UNKNOWN_ID}", {"json": {}}, 405, "method_not_allowed"),
    ("post-healthz", "post", "/healthz", {}, 405, "method_not_allowed"),
    ("unknown-api-route", "get", "/api/nope", {}, 404, "not_found"),
    ("unknown-api-root", "get", "/api", {}, 404, "not_found"),
    (
        "body-too-large",
        "post",
        "/api/chat",
        {
            "data": json.dumps({"message": "가" * (MAX_CONTENT_LENGTH // 2)}),
            "content_type": "application/json",
        },
        413,
        "request_too_large",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_REQUESTS],
)
def test_bad_requests_get_a_json_4xx_and_never_a_500(client, caplog, method, path, kwargs, status, code):
    caplog.set_level(logging.ERROR)
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in error["message"]), "user-facing messages are Korean"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "reached the 500 handler"


def test_bad_requests_store_nothing(app, client):
    from sqlalchemy import func, select

    from webui.extensions import db
    from webui.tables import Conversation

    for case in BAD_REQUESTS:
        getattr(client, case[1])(case[2], **case[3])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_405_keeps_the_allow_header(client):
    response = client.get("/api/chat")
    assert "POST" in response.headers["Allow"]


def test_message_too_long_says_the_limit_in_korean(client):
    message = client.post("/api/chat", json={"message": "가" * 1001}).get_json()["error"]["message"]
    assert "1,000자" in message


def test_the_bots_own_value_error_maps_to_400(app, client, caplog):
    class StrictBot:
        meta: dict = {}

        def reply(self, text, context=None):
            raise ValueError("rejected by the library")

    from webui.lifecycle import HOLDER_KEY, ModelHolder

    app.extensions[HOLDER_KEY] = ModelHolder(None, bot=StrictBot())
    caplog.set_level(logging.ERROR)
    response = client.post("/api/chat", json={"message": "안녕"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_message"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_unknown_page_outside_the_api_is_html_404(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert not response.is_json

"""Fuzzing every route of the app with Hypothesis: no input may produce a 5xx.

The JSON API's requests are drawn from its OpenAPI document (``/api/openapi.json``), so a route added
with its YAML block is fuzzed without touching this file: one test per documented operation, with its
path parameters, query parameters and body fields typed by the document (and the document's enums and
examples among the values), mixed with junk of every kind: text with control characters and lone
surrogates (as JSON escapes, since they cannot be encoded), invalid UTF-8, wrong JSON types, deep
nesting, junk content types, tokens and cookies. Every answer must be one the document lists, with a
body that matches its schema; errors are always the JSON error shape. The page routes (not in the
document) are fuzzed from the URL map as before. The real default model answers, so the NLP pipeline
is fuzzed too; multi-turn chat sequences carry the dialogue state from message to message (forms
opened, answered, cancelled, junk in between). ``FUZZ_EXAMPLES`` sets the examples per test (CI runs
more); ``FUZZ_REPORT`` names a JSON file that receives the number of inputs tried and the statuses seen.
"""

from __future__ import annotations

import atexit
import io
import json
import os
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webui.fuzz_strategies import (
    content_types,
    headers,
    json_values,
    junk_json,
    nasty_text,
    path_value,
    path_values,
    properties,
    query_for,
    request_body,
)
from tests.webui.openapi_support import body_schema, check_documented, openapi_path, operations, parameters
from webui import create_app
from webui.openapi import build_spec

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=False, database=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                HealthCheck.data_too_large])
STATUSES: Counter[int] = Counter()
METHODS_SKIPPED = {"HEAD", "OPTIONS"}
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# The document of an app with every blueprint (no model, no database touched): what the tests are made from.
SPEC = build_spec(create_app({"DATABASE_ONLY": True, "AUTO_MIGRATE": False, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                              "SECRET_KEY": "fuzz"}))
OPERATIONS = [(path, method) for path, method, _ in operations(SPEC)]


def _report() -> None:
    target = os.environ.get("FUZZ_REPORT")
    if target and STATUSES:
        Path(target).write_text(json.dumps({"inputs": sum(STATUSES.values()), "examples_per_test": EXAMPLES,
                                            "statuses": {str(k): v for k, v in sorted(STATUSES.items())}}))


atexit.register(_report)


@pytest.fixture(scope="module")
def fuzz_app(bot, tmp_path_factory):
    """The app with the real default model, and one user with a conversation, a reminder and a token to aim
    at (their ids are in ``FUZZ_IDS``, drawn as path parameters)."""
    folder = tmp_path_factory.mktemp("fuzz")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'fuzz.db'}", "BOT": bot,
                      "UPLOAD_FOLDER": str(folder / "uploads"), "SECRET_KEY": "fuzz", "RATELIMIT_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    client.post("/api/register", json={"username": "fuzzer", "password": "fuzz-password"})
    reply = client.post("/api/chat", json={"message": "안녕하세요"}).get_json()
    due = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    reminder = client.post("/api/reminders", json={"text": "퍼저의 알림", "due": due}).get_json()
    token = client.post("/api/tokens", json={"name": "퍼저"}).get_json()
    app.config["FUZZ_IDS"] = [str(v) for v in (reply["conversation_id"], reply["message_id"], reminder.get("id"),
                                               token["id"]) if v is not None]
    return app


def routes(app) -> list[tuple[str, str]]:
    return sorted((rule.rule, method) for rule in app.url_map.iter_rules()
                  for method in (rule.methods or set()) - METHODS_SKIPPED if rule.endpoint != "static")


def page_routes(app) -> list[tuple[str, str]]:
    """The routes the document does not cover (pages, forms, files), fuzzed from the URL map."""
    documented = {(openapi, method) for openapi, method in OPERATIONS}
    return [(rule, method) for rule, method in routes(app) if (openapi_path(rule), method) not in documented]


def fill(rule: str, values: list[str]) -> str:
    parts, index = [], 0
    for chunk in rule.split("<"):
        if ">" in chunk:
            _, rest = chunk.split(">", 1)
            parts.append(quote(values[index % len(values)], safe=""))
            parts.append(rest)
            index += 1
        else:
            parts.append(chunk)
    return "".join(parts)


def check(response, what: str) -> None:
    STATUSES[response.status_code] += 1
    assert response.status_code < 500, f"{what} -> {response.status_code}: {response.get_data()[:300]!r}"
    if response.status_code >= 400 and response.mimetype == "application/json":
        assert set(response.get_json()["error"]) == {"code", "message"}


def check_api(response, path: str, method: str, what: str) -> None:
    """``check``, and the answer is one the document lists for the operation: status, and body schema."""
    check(response, what)
    if response.status_code >= 400:
        assert response.mimetype == "application/json", f"{what}: an API error in {response.mimetype}"
    check_documented(SPEC, path, method, response)


def test_every_route_is_fuzzed(fuzz_app):
    assert {("/api/chat", "POST"), ("/api/login", "POST"), ("/api/conversations/{conversation_id}", "DELETE"),
            ("/api/messages/{message_id}/feedback", "POST"), ("/api/reminders/{reminder_id_}/notified", "POST"),
            ("/trainer/api/jobs/{job_id}", "GET")} <= set(OPERATIONS)
    assert len(page_routes(fuzz_app)) + len(OPERATIONS) == len(routes(fuzz_app))
    assert not any(rule.startswith("/api/") for rule, _ in page_routes(fuzz_app)), "every API route is documented"


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
@FUZZ_SETTINGS
@given(data=st.data())
def test_api_operations_answer_as_documented(fuzz_app, path, method, data):
    params = parameters(SPEC, path, method)
    known = fuzz_app.config["FUZZ_IDS"]
    url = path
    for param in params:
        if param["in"] == "path":
            value = data.draw(path_value(param.get("schema", {}), known))
            url = url.replace("{" + param["name"] + "}", quote(value, safe=""))
    schema = body_schema(SPEC, path, method)
    body = content_type = None
    if method in BODY_METHODS:
        body = data.draw(request_body(SPEC, schema) if schema else junk_json(SPEC))
        content_type = data.draw(st.one_of(st.just("application/json"), content_types))
    client = fuzz_app.test_client()
    if data.draw(st.booleans()):
        client.post("/api/login", json={"username": "fuzzer", "password": "fuzz-password"})
    try:
        response = client.open(url, method=method, data=body, query_string=data.draw(query_for(SPEC, params)),
                               content_type=content_type, headers=data.draw(headers))
    except UnicodeEncodeError:  # the test client cannot encode lone surrogates in a query string; skip that draw
        return
    check_api(response, path, method, f"{method} {url} {content_type} {body[:80] if body else body!r}")


@FUZZ_SETTINGS
@given(data=st.data())
def test_no_page_route_answers_5xx_to_junk(fuzz_app, data):
    rule, method = data.draw(st.sampled_from(page_routes(fuzz_app)))
    path = fill(rule, data.draw(st.lists(path_values, min_size=1, max_size=2)))
    body = data.draw(junk_json(SPEC)) if method in BODY_METHODS else None
    sent_headers = data.draw(headers)
    content_type = data.draw(content_types)
    client = fuzz_app.test_client()
    if data.draw(st.booleans()):
        client.post("/api/login", json={"username": "fuzzer", "password": "fuzz-password"})
    response = client.open(path, method=method, data=body, headers=sent_headers, content_type=content_type)
    check(response, f"{method} {path} {content_type} {sent_headers} {body[:80] if body else body!r}")


MULTIPART = [(path, method) for path, method in OPERATIONS if body_schema(SPEC, path, method, "multipart/form-data")]


@pytest.mark.parametrize(("path", "method"), MULTIPART)
@FUZZ_SETTINGS
@given(data=st.data(), upload=st.one_of(st.none(), st.binary(max_size=2000)), filename=st.one_of(st.none(), nasty_text))
def test_multipart_bodies_answer_as_documented(fuzz_app, path, method, data, upload, filename):
    fields = properties(SPEC, body_schema(SPEC, path, method, "multipart/form-data"))
    files = [name for name, field in fields.items() if field.get("format") == "binary"]
    form: dict = {name: str(data.draw(st.one_of(nasty_text, path_values, json_values)))
                  for name in fields if name not in files and data.draw(st.booleans())}
    if upload is not None:
        form[data.draw(st.sampled_from([*files, "other"]))] = (io.BytesIO(upload), filename or "x")
    try:
        response = fuzz_app.test_client().open(path, method=method, data=form, content_type="multipart/form-data")
    except UnicodeEncodeError:  # the test client cannot encode lone surrogates in form fields; skip that draw
        return
    check_api(response, path, method, f"multipart {sorted(form)}")


BODIES = [(path, method) for path, method in OPERATIONS if body_schema(SPEC, path, method)]


@pytest.mark.parametrize(("path", "method"), BODIES)
def test_huge_bodies_are_refused_with_413(fuzz_app, path, method):
    client = fuzz_app.test_client()
    big_json = b'{"message": "' + b"a" * (11 * 1024 * 1024) + b'"}'
    url = path.replace("{", "").replace("}", "")  # a path parameter's name as its value: an unknown id
    response = client.open(url, method=method, data=big_json, content_type="application/json")
    check_api(response, path, method, url)
    assert response.status_code in (401, 404, 413)  # a guest, or an unknown id, is refused before the body is read
    if "{" not in path and "/admin/" not in path and "/tokens" not in path:
        assert response.status_code == 413


# --- multi-turn conversations ----------------------------------------------------------------------------

turn_texts = st.one_of(
    st.sampled_from(["알림 설정해줘", "치과 가기", "모레 아침 9시", "내일 오후 3시에 회의 있다고 알려줘", "어제 3시",
                     "32일", "취소", "처음부터 다시", "됐어", "내 일정 보여줘", "내일 뭐 있어?", "회의 알림 지워줘",
                     "1번", "99번", "부산 내일 날씨 어때?", "그럼 서울은?", "모레는?", "방금 내가 뭐라고 했지?",
                     "3일 뒤가 무슨 요일이야?", "100일 뒤는?", "/help"]),
    nasty_text)


@FUZZ_SETTINGS
@given(turns=st.lists(turn_texts, min_size=2, max_size=5), login=st.booleans(),
       stray_id=st.one_of(st.none(), path_values))
def test_multi_turn_conversations_carry_state_and_never_answer_5xx(fuzz_app, turns, login, stray_id):
    from sqlalchemy import select

    from webui.extensions import db
    from webui.store import load_state
    from webui.tables import Conversation

    client = fuzz_app.test_client()
    if login:
        client.post("/api/login", json={"username": "fuzzer", "password": "fuzz-password"})
    conversation_id = None
    for n, text in enumerate(turns):
        body = {"message": text}
        if conversation_id or (stray_id is not None and n == 1):
            body["conversation_id"] = conversation_id or stray_id
        response = client.post("/api/chat", json=body)
        check(response, f"turn {n} of {turns!r}")
        if response.status_code == 200:
            data = response.get_json()
            assert isinstance(data["slots"], dict)
            conversation_id = data["conversation_id"]
    if conversation_id:
        with fuzz_app.app_context():
            stored = db.session.scalar(select(Conversation.dialogue_state).where(Conversation.id == conversation_id))
        assert isinstance(load_state(stored), dict)  # the state was stored, and reads back

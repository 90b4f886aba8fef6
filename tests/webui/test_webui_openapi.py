"""The API contract: ``/api/openapi.json`` is a valid OpenAPI 3 document that names every JSON route with
its methods and nothing else, real answers (successes and errors alike) match the schemas it documents,
and ``/api/docs`` shows it."""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from openapi_spec_validator import validate as validate_openapi

from tests.webui.conftest import FakeBot
from tests.webui.openapi_support import (
    SKIPPED,
    check_documented,
    error_validator,
    openapi_path,
    operations,
    response_schema,
)
from webui.auth import create_user
from webui.extensions import db

API_PREFIXES = ("/api/", "/trainer/api/")


@pytest.fixture
def spec(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_3(spec):
    validate_openapi(spec)  # raises with the first problem
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] and spec["components"]["schemas"]["Error"]


def test_every_api_route_is_documented_with_exactly_its_methods(app, spec):
    served = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIXES):
            served.setdefault(openapi_path(rule.rule), set()).update((rule.methods or set()) - SKIPPED)
    documented = {path: {m.upper() for m in item if m != "parameters"} for path, item in spec["paths"].items()}
    missing = {path: sorted(methods - documented.get(path, set())) for path, methods in served.items()}
    assert {path: m for path, m in missing.items() if m} == {}, "routes the document does not name"
    assert {"/api/chat", "/api/conversations/{conversation_id}", "/trainer/api/jobs/{job_id}"} <= set(documented)


def test_the_document_names_no_route_or_method_the_app_does_not_serve(app, spec):
    served = {}
    for rule in app.url_map.iter_rules():
        served.setdefault(openapi_path(rule.rule), set()).update((rule.methods or set()) - SKIPPED)
    for path, item in spec["paths"].items():
        methods = {m.upper() for m in item if m != "parameters"}
        assert path in served, f"{path} is documented but not served"
        assert methods <= served[path], f"{path}: documents {sorted(methods - served[path])}, not served"
        assert methods, f"{path} is documented with no operation: its view needs a YAML block"
    assert "/healthz" in spec["paths"]  # outside /api/, documented because its view has a block


def test_operations_are_complete_and_their_ids_unique(spec):
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids))
    for path, method, operation in operations(spec):
        assert re.search("[가-힣]", operation.get("summary", "")), f"{method} {path}: a Korean summary"
        assert any(s.startswith("2") for s in operation["responses"]), f"{method} {path}: no success response"
        names = {p["name"] for p in spec["paths"][path].get("parameters", []) if p["in"] == "path"}
        assert names == set(re.findall(r"{(\w+)}", path)), f"{method} {path}: path parameters"
        for status in ("401", "500", "503"):  # the app-wide hooks' answers, on every operation
            assert status in operation["responses"], f"{method} {path} lacks {status}"
        assert ("429" in operation["responses"]) == (path != "/healthz"), "all but the health check are limited"


def test_the_error_schema_rejects_other_shapes(spec):
    check = error_validator(spec)
    assert check.is_valid({"error": {"code": "not_found", "message": "없어요."}})
    for wrong in ({"error": "not_found"}, {"error": {"code": "x"}}, {"message": "x"},
                  {"error": {"code": "Not Found", "message": "x"}}, {"error": {"code": "x", "message": ""}},
                  {"error": {"code": "x", "message": "y", "trace": "..."}}):
        assert not check.is_valid(wrong), wrong


def real_errors(make_app, tmp_path):
    """``(label, path template, METHOD, response)`` for errors the app really answers."""
    # The limits and origins come from here, whatever the shell that runs pytest sets.
    app = make_app(SECRET_KEY="errors", RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                   RATELIMIT_CHAT="1 per minute", ALLOWED_ORIGINS="")
    client = app.test_client()
    conversation = client.post("/api/chat", json={"message": "안녕"}).get_json()["conversation_id"]
    yield "429 chat limit", "/api/chat", "POST", client.post("/api/chat", json={"message": "또"})
    client = make_app(SECRET_KEY="errors", RATELIMIT_ENABLED=False, ALLOWED_ORIGINS="").test_client()
    yield "400 invalid_json", "/api/chat", "POST", client.post("/api/chat", data=b"{", content_type="application/json")
    yield "400 invalid_type", "/api/reminders", "POST", client.post("/api/reminders", json={"text": 3, "due": 1})
    yield "400 invalid_limit", "/api/reminders", "GET", client.get("/api/reminders?limit=0")
    yield "401 login_required", "/api/tokens", "GET", client.get("/api/tokens")
    yield "401 invalid_token", "/api/me", "GET", client.get("/api/me", headers={"Authorization": "Bearer hk_no"})
    yield "401 invalid_credentials", "/api/login", "POST", client.post("/api/login", json={"username": "없는사람",
                                                                                           "password": "x" * 8})
    yield "403 forbidden", "/api/admin/model", "GET", logged_in(make_app, "user").get("/api/admin/model")
    yield "403 cross_site", "/api/chat", "POST", client.post("/api/chat", json={"message": "안녕"},
                                                             headers={"Origin": "https://evil.example"})
    yield ("404 conversation", "/api/conversations/{conversation_id}", "GET",
           client.get(f"/api/conversations/{conversation}"))
    yield "404 reminder", "/api/reminders/{reminder_id_}", "DELETE", client.delete("/api/reminders/12")
    yield "409 promote", "/api/admin/models/promote", "POST", logged_in(make_app, "admin").post(
        "/api/admin/models/promote", json={"path": "models/new"})
    yield "413 body", "/api/chat", "POST", client.post("/api/chat", data=b'{"message": "' + b"a" * (2 << 20) + b'"}',
                                                       content_type="application/json")
    yield "413 upload", "/api/chat", "POST", client.post("/api/chat", data={"message": "", "file": (
        io.BytesIO(b"1" * (10 * 1024 * 1024 + 1)), "big.csv")}, content_type="multipart/form-data")
    yield "500 bug", "/api/chat", "POST", client.post("/api/chat", json={"message": FakeBot.BOOM})
    yield "503 outage", "/api/chat", "POST", during_write_lock(make_app, tmp_path)


def logged_in(make_app, role: str):
    app = make_app(SECRET_KEY="errors", RATELIMIT_ENABLED=False)
    with app.app_context():
        create_user("계정", "비밀번호1234", role=role)
        db.session.commit()
    client = app.test_client()
    assert client.post("/api/login", json={"username": "계정", "password": "비밀번호1234"}).status_code == 200
    return client


def during_write_lock(make_app, tmp_path):
    """A chat while another process holds SQLite's write lock past the busy timeout: the outage answer."""
    app = make_app(SECRET_KEY="errors", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'locked.db'}",
                   SQLITE_BUSY_TIMEOUT_MS=50, RATELIMIT_ENABLED=False)
    client = app.test_client()
    assert client.post("/api/chat", json={"message": "하나"}).status_code == 200
    other = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        return client.post("/api/chat", json={"message": "둘"})
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_real_errors_are_documented_and_match_the_error_schema(make_app, tmp_path, spec):
    seen = set()
    for label, path, method, response in real_errors(make_app, tmp_path):
        assert response.status_code == int(label[:3]), f"{label}: {response.status_code} {response.get_data()[:200]!r}"
        check_documented(spec, path, method, response)
        assert response_schema(spec, path, method, response.status_code) == {"$ref": "#/components/schemas/Error"}
        seen.add(response.status_code)
    assert seen == {400, 401, 403, 404, 409, 413, 429, 500, 503}


def test_errors_outside_any_operation_have_the_error_shape_too(client, spec):
    check = error_validator(spec)
    unknown = client.get("/api/no-such-thing")
    wrong_method = client.delete("/api/chat")
    assert (unknown.status_code, wrong_method.status_code) == (404, 405)
    assert "POST" in wrong_method.headers["Allow"]
    for response in (unknown, wrong_method):
        check.validate(response.get_json())


def test_real_successes_match_their_documented_schemas(make_app, tmp_path, tiny_model_dir):
    from tests.webui.conftest import png_bytes
    from tests.webui.trainer_support import hand_made_job

    served = tmp_path / "models" / "default"
    shutil.copytree(tiny_model_dir, tmp_path / "models" / "releases" / "first")
    served.symlink_to("releases/first", target_is_directory=True)
    app = make_app(SECRET_KEY="successes", RATELIMIT_ENABLED=False, BOT=None, MODEL_DIR=str(served),
                   MODEL_CHECK_SECONDS=0, TRAINER_DIR=str(tmp_path / "trainer"))
    spec = app.test_client().get("/api/openapi.json").get_json()
    with app.app_context():
        create_user("관리자", "비밀번호1234", role="admin")
        db.session.commit()
    checked = set()

    def call(client, method, path, url=None, status=200, **kwargs):
        response = client.open(url or path, method=method, **kwargs)
        assert response.status_code == status, f"{method} {url or path}: {response.get_data()[:300]!r}"
        check_documented(spec, path, method, response)
        checked.add((path, method))
        return response.get_json(silent=True)

    guest = app.test_client()
    for path in ("/healthz", "/api/commands", "/api/me", "/api/openapi.json", "/api/docs"):
        call(guest, "GET", path)
    reply = call(guest, "POST", "/api/chat", json={"message": "안녕하세요"})
    call(guest, "POST", "/api/chat", data={"message": "/image", "conversation_id": reply["conversation_id"],
                                           "image": (io.BytesIO(png_bytes()), "a.png")},
         content_type="multipart/form-data")
    conversation = f"/api/conversations/{reply['conversation_id']}"
    call(guest, "GET", "/api/conversations")
    call(guest, "POST", "/api/messages/{message_id}/feedback", f"/api/messages/{reply['message_id']}/feedback",
         json={"rating": -1, "correction": "반가워요."})
    call(guest, "PATCH", "/api/conversations/{conversation_id}", conversation, json={"title": "첫 대화"})
    detail = call(guest, "GET", "/api/conversations/{conversation_id}", conversation)
    assert detail["messages"][1]["feedback"]["rating"] == -1
    call(guest, "DELETE", "/api/conversations/{conversation_id}", conversation)

    due = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    reminder = call(guest, "POST", "/api/reminders", status=201, json={"text": "치과", "due": due})
    one = f"/api/reminders/{reminder['id']}"
    call(guest, "GET", "/api/reminders", "/api/reminders?all=1&limit=1")
    call(guest, "GET", "/api/reminders/{reminder_id_}", one)
    call(guest, "POST", "/api/reminders/{reminder_id_}/notified", one + "/notified")
    call(guest, "DELETE", "/api/reminders/{reminder_id_}", one, status=204)

    user = app.test_client()
    call(user, "POST", "/api/register", status=201, json={"username": "새사람", "password": "비밀번호1234"})
    token = call(user, "POST", "/api/tokens", status=201, json={"name": "스크립트"})
    call(user, "GET", "/api/tokens", headers={"Authorization": f"Bearer {token['token']}"})
    call(user, "DELETE", "/api/tokens/{token_id}", f"/api/tokens/{token['id']}")
    call(user, "POST", "/api/logout")
    admin = app.test_client()
    call(admin, "POST", "/api/login", json={"username": "관리자", "password": "비밀번호1234"})
    call(admin, "GET", "/api/admin/model")
    call(admin, "POST", "/api/admin/models/reload")
    call(admin, "POST", "/api/admin/models/promote", json={"path": str(tiny_model_dir)}, status=400)
    newer = shutil.copytree(tiny_model_dir, tmp_path / "models" / "newer")
    meta = json.loads((newer / "meta.json").read_text(encoding="utf-8"))
    (newer / "meta.json").write_text(json.dumps({**meta, "created_at": "2025-03-02T00:00:00+00:00"}))
    promoted = call(admin, "POST", "/api/admin/models/promote", json={"path": "models/newer"})
    assert promoted["previous_version"] != promoted["version"]
    job = "20250501-000000-00abcd"
    hand_made_job(tmp_path / "trainer", job, progress=[{"stage": "fitting", "done": 1, "total": 4}], returncode=1)
    assert call(admin, "GET", "/trainer/api/jobs/{job_id}", f"/trainer/api/jobs/{job}")["status"] == "failed"

    every = {(path, method) for path, method, _ in operations(spec)}
    assert sorted(every - checked) == [], "operations without a real success checked here: add them"


def test_the_docs_page_shows_every_operation_and_links_only_inside_itself(client, spec):
    from html import unescape

    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = unescape(response.get_data(as_text=True))
    for path, method, operation in operations(spec):
        assert f'id="op-{operation["operationId"]}"' in page
        assert operation["summary"] in page and path in page, f"{method} {path}"
    anchors = set(re.findall(r'id="([^"]+)"', page))
    links = re.findall(r'href="#([^"]+)"', page)
    assert links and sorted(set(links) - anchors) == [], "links to sections the page does not have"
    assert "<script" not in page  # drawn by the server; the CSP allows no inline script anyway
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_blocks_are_read_with_their_shorthands_and_prose_is_no_block():
    from webui.openapi import add_common_responses, expand_shorthands, view_operations

    def view():
        """A view.
        ---
        post:
          requestBody: Credentials
          responses:
            201: {description: 만들었어요, json: UserAnswer}
            404: NotFound
        """

    def page():
        """A page whose docstring has a rule line.
        ---
        Not YAML: just words after it.
        """

    operation = view_operations(view)["post"]
    expand_shorthands(operation)
    add_common_responses("POST", operation)
    assert operation["requestBody"] == {"required": True, "content": {"application/json": {"schema": "Credentials"}}}
    assert operation["responses"]["201"] == {"description": "만들었어요",
                                             "content": {"application/json": {"schema": "UserAnswer"}}}
    assert {"400", "401", "403", "404", "413", "429", "500", "503"} <= set(operation["responses"])
    assert view_operations(page) == {}


def test_path_parameters_are_typed_by_their_converters(spec):
    (message_id,) = spec["paths"]["/api/messages/{message_id}/feedback"]["parameters"]
    assert message_id == {"name": "message_id", "in": "path", "required": True,
                          "schema": {"type": "integer", "minimum": 0}}
    (conversation_id,) = spec["paths"]["/api/conversations/{conversation_id}"]["parameters"]
    assert conversation_id["schema"] == {"type": "string"}

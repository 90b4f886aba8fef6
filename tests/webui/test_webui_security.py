"""Security of the web app: secret key, cookies, CSRF, the API's origin check, size limits, security
headers, and text that never becomes HTML (rate limits: test_webui_ratelimit.py)."""

from __future__ import annotations

import io
import logging
import re
import stat
import threading
from pathlib import Path

import pytest
from conftest import FAST_HASH, png_bytes
from flask import Flask, jsonify, request, session
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

from webui import create_app, security, settings

ENV_VARS = ("SECRET_KEY", "SESSION_COOKIE_SECURE", "CHATBOT_SECRET_KEY", "CHATBOT_SESSION_COOKIE_SECURE",
            "CHATBOT_ALLOWED_ORIGINS", "RATELIMIT_STORAGE_URI",
            "CHATBOT_RATELIMIT_ENABLED", "CHATBOT_RATELIMIT_DEFAULT")
XSS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]
STATIC = Path(__file__).resolve().parents[2] / "webui"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """The settings under test come from each test, not from the shell that runs pytest."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def add_test_routes(app: Flask) -> None:
    """A form page and a JSON endpoint that exist only in these tests."""

    @app.get("/test-form")
    def test_form_page():
        return f'<form method="post"><input name="csrf_token" value="{generate_csrf()}"></form>'

    @app.post("/test-form")
    def test_form_post():
        return "ok" if request.form is not None else "no form"

    @app.post("/api/test-echo")
    def test_api_echo():
        return jsonify({"bytes": len(request.get_data())})

    @app.get("/test-session")
    def test_session():
        session["seen"] = True
        return "ok"


def chat(client, message="안녕", **kwargs):
    return client.post("/api/chat", json={"message": message}, **kwargs)


# --- secret key --------------------------------------------------------------------------------

def test_secret_key_comes_from_the_config_first_then_the_environment(make_app, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment-0123456789")
    assert make_app(SECRET_KEY="from-the-config-0123456789").secret_key == "from-the-config-0123456789"
    assert make_app().secret_key == "from-the-environment-0123456789"


def test_test_apps_without_a_key_get_a_random_one_each(make_app):
    first, second = make_app().secret_key, make_app().secret_key
    assert first and second and first != second


def test_secret_key_file_is_created_once_with_mode_0600_and_never_logged(tmp_path, fake_bot, monkeypatch, caplog):
    instance = tmp_path / "instance"
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(instance))
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite'}", "BOT": fake_bot}
    with caplog.at_level(logging.INFO, logger="webui.security"):
        first = create_app(dict(config))
        second = create_app(dict(config))
    path = instance / "secret_key"
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    assert len(bytes.fromhex(key)) == 32
    assert first.secret_key == second.secret_key == key
    assert "created in" in caplog.text and str(path) in caplog.text
    assert key not in caplog.text
    assert [p.name for p in instance.iterdir()] == ["secret_key"]  # no temporary file left behind


def test_workers_starting_together_agree_on_one_key(tmp_path):
    path = tmp_path / "instance" / "secret_key"
    barrier = threading.Barrier(8)
    keys: list[str] = []

    def start() -> None:
        barrier.wait()
        keys.append(security.read_or_create_secret(path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert keys[0] == path.read_text().strip()
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"]


def test_an_empty_key_file_stops_the_start_with_a_fix(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("\n")
    with pytest.raises(ValueError, match="Delete it"):
        security.read_or_create_secret(path)


def test_no_secret_key_constant_in_the_web_app_source():
    for source in (STATIC).glob("*.py"):
        assert not re.search(r"SECRET_KEY\"?\]?\s*=\s*['\"]", source.read_text()), source


# --- cookies -----------------------------------------------------------------------------------

def test_session_cookie_is_httponly_and_samesite_lax_and_not_secure_by_default(make_app):
    app = make_app()
    add_test_routes(app)
    cookie = app.test_client().get("/test-session").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True and app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert "Strict-Transport-Security" not in app.test_client().get("/").headers


def test_session_cookie_secure_from_the_environment_adds_hsts(make_app, monkeypatch):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    app = make_app()
    add_test_routes(app)
    response = app.test_client().get("/test-session", base_url="https://localhost")
    assert "Secure" in response.headers["Set-Cookie"]
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


# --- CSRF --------------------------------------------------------------------------------------

def test_form_post_needs_the_csrf_token(make_app):
    app = make_app()
    add_test_routes(app)
    client = app.test_client()
    refused = client.post("/test-form", data={"name": "x"})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    token = re.search(r'value="([^"]+)"', client.get("/test-form").get_data(as_text=True)).group(1)
    accepted = client.post("/test-form", data={"name": "x", "csrf_token": token})
    assert accepted.status_code == 200 and accepted.get_data(as_text=True) == "ok"


def test_a_token_from_another_session_is_refused(make_app):
    app = make_app()
    add_test_routes(app)
    token = re.search(r'value="([^"]+)"', app.test_client().get("/test-form").get_data(as_text=True)).group(1)
    assert app.test_client().post("/test-form", data={"csrf_token": token}).status_code == 400


def test_api_posts_need_no_csrf_token(make_app):
    app = make_app()
    add_test_routes(app)
    client = app.test_client()
    assert chat(client).status_code == 200
    form = client.post("/api/test-echo", data={"a": "b"})  # a form-encoded API post is not a CSRF case either
    assert form.status_code == 200 and form.get_json()["bytes"] == 3


def test_wtf_csrf_enabled_false_switches_the_check_off(make_app):
    app = make_app(WTF_CSRF_ENABLED=False)
    add_test_routes(app)
    assert app.test_client().post("/test-form").status_code == 200


# --- origin check ------------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "status"), [
    ({}, 200),  # curl, Python clients
    ({"Origin": "http://localhost"}, 200),  # the chat page itself
    ({"Origin": "http://localhost:80", "Sec-Fetch-Site": "same-origin"}, 200),
    ({"Sec-Fetch-Site": "none"}, 200),  # typed by the user
    ({"Origin": "https://evil.example"}, 403),
    ({"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403),
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"}, 403),  # the browser's word wins
    ({"Origin": "null"}, 403),  # sandboxed frames, file: pages
    ({"Origin": "http://localhost:5000"}, 403),  # another port is another origin
    ({"Origin": "https://localhost"}, 403),  # so is another scheme
    ({"Origin": "http://sub.localhost", "Sec-Fetch-Site": "same-site"}, 403),
    ({"Origin": "not a url"}, 403),
])
def test_api_refuses_cross_site_browser_requests(client, fake_bot, headers, status):
    response = chat(client, headers=headers)
    assert response.status_code == status
    if status == 403:
        assert response.get_json()["error"]["code"] == "cross_site_request"
        assert "다른 사이트" in response.get_json()["error"]["message"]
        assert fake_bot.calls == []


def test_cross_site_multipart_post_is_refused_and_same_origin_passes(client, fake_bot):
    def send(headers):
        data = {"message": "그림", "image": (io.BytesIO(png_bytes()), "a.png")}
        return client.post("/api/chat", data=data, content_type="multipart/form-data", headers=headers)

    refused = send({"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "cross_site_request"
    assert fake_bot.calls == []
    assert send({"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}).status_code == 200


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_every_unsafe_method_is_checked_and_safe_ones_are_not(client, method):
    cross = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert client.open("/api/conversations/x", method=method, headers=cross).status_code == 403
    assert client.get("/api/conversations/x", headers=cross).status_code == 404


def test_listed_origins_may_call_the_api(make_app, monkeypatch):
    monkeypatch.setenv("CHATBOT_ALLOWED_ORIGINS", "https://app.example.com, http://localhost:3000")
    client = make_app().test_client()
    listed = {"Origin": "https://app.example.com:443", "Sec-Fetch-Site": "cross-site"}
    assert chat(client, headers=listed).status_code == 200
    assert chat(client, headers={"Origin": "http://localhost:3000"}).status_code == 200
    assert chat(client, headers={"Origin": "https://other.example.com"}).status_code == 403


def test_a_malformed_allowed_origin_stops_the_start(make_app):
    with pytest.raises(ValueError, match="not an origin"):
        make_app(ALLOWED_ORIGINS="chat.example.com")


@pytest.mark.parametrize(("value", "parsed"), [
    ("https://Example.com", ("https", "example.com", 443)),
    ("http://[::1]:8080", ("http", "::1", 8080)),
    ("null", None), ("ftp://example.com", None), ("https://example.com/path", None), ("http://x:99999", None),
])
def test_parse_origin(value, parsed):
    assert security.parse_origin(value) == parsed


def register(client, username: str, **kwargs) -> dict:
    response = client.post("/api/register", json={"username": username, "password": "비밀번호1234"}, **kwargs)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["user"]


# --- size limits -------------------------------------------------------------------------------

def test_oversized_body_to_another_api_route_is_413_json(make_app):
    app = make_app()
    add_test_routes(app)
    client = app.test_client()
    small = client.post("/api/test-echo", data=b"x" * 1000, content_type="application/json")
    assert small.status_code == 200
    big = client.post("/api/test-echo", data=b"x" * (settings.MAX_API_BODY_BYTES + 1), content_type="application/json")
    assert big.status_code == 413 and big.get_json()["error"]["code"] == "request_too_large"


def test_form_pages_cap_field_size_and_parts(make_app):
    app = make_app(WTF_CSRF_ENABLED=False)
    add_test_routes(app)
    client = app.test_client()
    assert app.config["MAX_FORM_MEMORY_SIZE"] == settings.MAX_FORM_MEMORY_SIZE
    assert client.post("/test-form", data={"field": "x" * 1000}).status_code == 200
    multipart = {"field": "x" * (settings.MAX_FORM_MEMORY_SIZE + 1), "f": (io.BytesIO(b"1"), "a.txt")}
    assert client.post("/test-form", data=multipart, content_type="multipart/form-data").status_code == 413
    parts = {f"f{i}": "1" for i in range(settings.MAX_FORM_PARTS + 1)}
    parts["file"] = (io.BytesIO(b"1"), "a.txt")
    assert client.post("/test-form", data=parts, content_type="multipart/form-data").status_code == 413


# --- headers -----------------------------------------------------------------------------------

def directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/static/chat.js", "/healthz", "/api/conversations/x", "/nowhere"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    policy = directives(headers["Content-Security-Policy"])
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' data: blob:" and policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"] and "microphone=()" in headers["Permissions-Policy"]


def test_uploads_keep_their_own_policy(client):
    data = {"message": "그림", "image": (io.BytesIO(png_bytes()), "a.png")}
    reply = client.post("/api/chat", data=data, content_type="multipart/form-data").get_json()
    url = reply["attachments"][0]["url"]
    headers = client.get(url).headers
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_and_scripts_have_nothing_the_policy_would_block():
    templates = sorted((STATIC / "templates").rglob("*.html"))
    assert len(templates) >= 2
    for template in templates:
        page = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), f"inline <script> in {template}"
        assert not re.search(r"\sstyle\s*=", page) and not re.search(r"<style", page), template
        assert not re.search(r"\son[a-z]+\s*=", page), f"inline event handler in {template}"
        assert "javascript:" not in page, template
    script = "\n".join(path.read_text() for path in (STATIC / "static").glob("*.js"))
    assert "javascript:" not in script
    for pattern in (r"\.innerHTML\b", r"\.outerHTML\b", r"insertAdjacentHTML", r"\beval\(", r"new Function\(",
                    r"setAttribute\(\s*[\"']style", r"document\.write"):
        assert not re.search(pattern, script), pattern


# --- text never HTML ---------------------------------------------------------------------------

@pytest.mark.parametrize("payload", XSS)
def test_markup_in_messages_comes_back_as_text_and_no_page_renders_it(client, payload):
    response = chat(client, payload)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    data = response.get_json()
    assert data["reply"] == f"echo: {payload}"
    history = client.get(f"/api/conversations/{data['conversation_id']}").get_json()
    assert [m["text"] for m in history["messages"]] == [payload, f"echo: {payload}"]
    assert history["title"] == payload[:40]
    for path in ("/", "/" + payload, "/api/" + payload, "/login?next=" + payload):
        assert payload not in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("payload", XSS)
def test_user_text_on_server_rendered_pages_is_escaped(make_app, payload):
    client = make_app(PASSWORD_HASH_METHOD=FAST_HASH).test_client()
    register(client, "토큰주인")
    assert client.post("/api/tokens", json={"name": payload}).status_code == 201
    page = client.get("/account").get_data(as_text=True)
    assert payload not in page and str(escape(payload)) in page

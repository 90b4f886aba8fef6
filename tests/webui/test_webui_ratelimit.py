"""Rate limits: per-client keys, the chat and auth budgets, Retry-After, per-app storage, Redis shared and down."""

from __future__ import annotations

import logging
import os
import secrets
import socket

import pytest

from webui.ratelimit import LIMITER_KEY, client_key

ENV_VARS = ("RATELIMIT_STORAGE_URI", "CHATBOT_RATELIMIT_ENABLED", "CHATBOT_RATELIMIT_CHAT", "CHATBOT_RATELIMIT_AUTH",
            "CHATBOT_RATELIMIT_DEFAULT", "CHATBOT_ALLOWED_ORIGINS")
REDIS_URI = "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """The limits under test come from each test, not from the shell that runs pytest."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def chat(client, message="안녕", **kwargs):
    return client.post("/api/chat", json={"message": message}, **kwargs)


def assert_throttled(response):
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "too_many_requests" and "잠시 후" in error["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_chat_limit_answers_429_json_with_retry_after(make_app, fake_bot):
    client = make_app(RATELIMIT_CHAT="2 per minute").test_client()
    assert [chat(client).status_code for _ in range(2)] == [200, 200]
    assert_throttled(chat(client))
    assert len(fake_bot.calls) == 2  # the bot never saw the third message


def test_limits_are_read_at_request_time(make_app):
    app = make_app()
    client = app.test_client()
    assert [chat(client).status_code for _ in range(3)] == [200, 200, 200]
    app.config["RATELIMIT_CHAT"] = "1 per minute"
    assert chat(client).status_code == 200
    assert_throttled(chat(client))


def test_two_clients_are_counted_separately(make_app):
    client = make_app(RATELIMIT_CHAT="1 per minute").test_client()
    first, second = {"REMOTE_ADDR": "10.0.0.1"}, {"REMOTE_ADDR": "10.0.0.2"}
    assert chat(client, environ_base=first).status_code == 200
    assert chat(client, environ_base=second).status_code == 200
    assert chat(client, environ_base=first).status_code == 429
    assert chat(client, environ_base=second).status_code == 429


def register(client, username: str, **kwargs) -> dict:
    response = client.post("/api/register", json={"username": username, "password": "비밀번호1234"}, **kwargs)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["user"]


def test_logged_in_users_are_keyed_by_user_not_address(make_app):
    app = make_app(RATELIMIT_CHAT="1 per minute")
    here, there = {"REMOTE_ADDR": "10.0.0.1"}, {"REMOTE_ADDR": "10.0.0.2"}
    alice, bob = app.test_client(), app.test_client()
    user = register(alice, "앨리스", environ_base=here)
    register(bob, "보브", environ_base=here)
    assert chat(alice, environ_base=here).status_code == 200
    assert chat(bob, environ_base=here).status_code == 200  # same address, another user
    assert_throttled(chat(alice, environ_base=there))  # same user, another address
    token = alice.post("/api/tokens", json={"name": "t"}).get_json()["token"]
    with app.test_request_context("/", headers={"Authorization": f"Bearer {token}"}):
        assert client_key() == f"user:{user['id']}"
    with app.test_request_context("/", headers={"Authorization": "Bearer wrong"}, environ_base=there):
        assert client_key() == "10.0.0.2"  # the view answers 401; the key must not fail meanwhile
    with app.test_request_context("/", environ_base=there):
        assert client_key() == "10.0.0.2"


def test_auth_limit_is_per_address_shared_by_login_and_register_and_counts_posts_only(make_app):
    app = make_app(RATELIMIT_AUTH="3 per minute", WTF_CSRF_ENABLED=False)
    client = app.test_client()
    register(client, "영희")  # 1, and now logged in: still counted by address
    assert client.post("/api/login", json={"username": "영희", "password": "틀림"}).status_code == 401  # 2
    assert {client.get("/login").status_code for _ in range(4)} == {200}  # the page itself is not counted
    assert client.post("/login", data={"username": "영희", "password": "틀림"}).status_code == 400  # 3
    assert_throttled(client.post("/api/login", json={"username": "영희", "password": "비밀번호1234"}))
    assert client.post("/register", data={}).status_code == 429
    other = {"REMOTE_ADDR": "10.9.9.9"}
    assert client.post("/api/login", json={"username": "영희", "password": "비밀번호1234"},
                       environ_base=other).status_code == 200


def test_default_limit_covers_pages_but_not_health_or_static_files(make_app):
    client = make_app(RATELIMIT_DEFAULT="2 per minute").test_client()
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]
    assert "Retry-After" in client.get("/").headers
    assert {client.get("/healthz").status_code for _ in range(4)} == {200}
    assert {client.get("/static/chat.js").status_code for _ in range(4)} == {200}


def test_rate_limits_can_be_switched_off(make_app, monkeypatch):
    monkeypatch.setenv("CHATBOT_RATELIMIT_ENABLED", "0")
    client = make_app(RATELIMIT_CHAT="1 per minute").test_client()
    assert {chat(client).status_code for _ in range(3)} == {200}


def test_apps_in_one_process_keep_their_own_storage_and_switch(make_app):
    first = make_app(RATELIMIT_CHAT="1 per minute").test_client()
    second = make_app(RATELIMIT_CHAT="1 per minute").test_client()
    make_app(RATELIMIT_ENABLED=False)  # a later app with limits off leaves the others on
    assert chat(first).status_code == 200
    assert chat(second).status_code == 200  # memory:// counters are per app
    assert chat(first).status_code == 429


def test_each_app_has_a_limiter_of_its_own_on_its_marked_views(make_app):
    first, second = make_app(), make_app()
    assert first.extensions[LIMITER_KEY] is not second.extensions[LIMITER_KEY]
    from webui import api

    chat_view = first.view_functions["api.chat"]
    assert chat_view is not api.chat and chat_view.__wrapped__ is api.chat  # the app's limiter wraps it
    assert second.view_functions["api.chat"] is not chat_view


def test_a_bad_limit_stops_the_start(make_app):
    with pytest.raises(ValueError, match="RATELIMIT_CHAT"):
        make_app(RATELIMIT_CHAT="thirty a minute")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_redis_outage_falls_back_to_memory_instead_of_500(make_app, caplog):
    uri = f"redis://127.0.0.1:{closed_port()}/0"
    client = make_app(RATELIMIT_STORAGE_URI=uri, RATELIMIT_CHAT="2 per minute").test_client()
    with caplog.at_level(logging.WARNING):
        assert [chat(client).status_code for _ in range(2)] == [200, 200]
        assert_throttled(chat(client))  # still limited, in memory
        assert client.get("/").status_code == 200
    assert "falling back to in-memory" in caplog.text


def redis_or_skip():
    import redis

    try:
        redis.Redis.from_url(REDIS_URI, socket_connect_timeout=0.5).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URI} is needed in CI: {exc}")
        pytest.skip(f"Redis at {REDIS_URI} is not reachable ({exc}); start it to run this test")


def test_two_apps_on_one_redis_share_the_counter(make_app):
    redis_or_skip()
    address = {"REMOTE_ADDR": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"}
    # Two workers (here: two apps in one process, each with its own storage object) on one Redis.
    first = make_app(RATELIMIT_STORAGE_URI=REDIS_URI, RATELIMIT_CHAT="3 per minute").test_client()
    second = make_app(RATELIMIT_STORAGE_URI=REDIS_URI, RATELIMIT_CHAT="3 per minute").test_client()
    assert chat(first, environ_base=address).status_code == 200
    assert chat(second, environ_base=address).status_code == 200
    assert chat(first, environ_base=address).status_code == 200
    assert_throttled(chat(second, environ_base=address))
    assert_throttled(chat(first, environ_base=address))

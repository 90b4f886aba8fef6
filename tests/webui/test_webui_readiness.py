"""``/readyz`` (issue 23): 503 while degraded, while the database does not answer or while a migration is
pending; 200 with what it checked otherwise. ``/healthz`` stays the liveness check."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.webui.conftest import FakeBot
from webui.extensions import db
from webui.readiness import SingleFlight

NOT_READY_CODES = {"model_degraded", "database_unavailable", "migration_pending"}


def closed_port() -> int:
    """A local port nothing listens on (connections to it are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def not_ready(response, code: str) -> dict:
    body = response.get_json()
    assert response.status_code == 503, body
    assert body["error"]["code"] == code and "준비" in body["error"]["message"]
    assert int(response.headers["Retry-After"]) > 0
    return body["checks"]


def test_ready_says_what_it_checked(client):
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "ready"
    assert set(body["checks"]) == {"model", "database", "migrations"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["migrations"]["revision"] == body["checks"]["migrations"]["head"]
    assert body["checks"]["model"]["version"] == client.get("/healthz").get_json()["model"]["version"]


def test_a_degraded_app_is_alive_but_not_ready(make_app, tmp_path):
    client = make_app(BOT=None, MODEL_DIR=str(tmp_path / "no-model")).test_client()
    assert client.get("/healthz").status_code == 200  # liveness: do not restart it, it answers
    checks = not_ready(client.get("/readyz"), "model_degraded")
    assert checks["model"]["degraded"] is True and checks["database"]["ok"] is True


def test_an_unreachable_database_is_503_on_readyz_and_chat_never_500(make_app):
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/nothing"
    app = make_app(SQLALCHEMY_DATABASE_URI=url, AUTO_MIGRATE=False, DATABASE_CONNECT_TIMEOUT=1,
                   DATABASE_POOL_TIMEOUT=1, RATELIMIT_ENABLED=False)
    client = app.test_client()
    started = time.monotonic()
    checks = not_ready(client.get("/readyz"), "database_unavailable")
    assert time.monotonic() - started < 2
    assert checks["database"]["ok"] is False and checks["migrations"]["ok"] is False
    for body in ({"message": "안녕"}, {"message": "안녕", "conversation_id": str(uuid.uuid4())}):
        chat = client.post("/api/chat", json=body)
        assert chat.status_code == 503 and chat.get_json()["error"]["code"] == "database_unavailable"
        assert int(chat.headers["Retry-After"]) > 0


def test_a_pending_migration_is_not_ready(app, client):
    with app.app_context():
        head = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()

        def set_revision(revision: str | None) -> None:
            db.session.execute(text("DELETE FROM alembic_version"))
            if revision is not None:
                db.session.execute(text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": revision})
            db.session.commit()

        set_revision("0002")  # behind this code's newest migration
        checks = not_ready(client.get("/readyz"), "migration_pending")
        assert checks["migrations"]["revision"] == ["0002"] and checks["migrations"]["head"] == [head]
        assert "db upgrade" in checks["migrations"]["error"]
        set_revision(None)  # no schema at all
        not_ready(client.get("/readyz"), "migration_pending")
        set_revision("9999zz")  # ahead: a newer release migrated during a rolling deploy; this code still works
        assert client.get("/readyz").status_code == 200
        set_revision(head)
        assert client.get("/readyz").status_code == 200


def test_a_database_without_schema_is_not_ready(make_app):
    app = make_app(AUTO_MIGRATE=False)
    not_ready(app.test_client().get("/readyz"), "migration_pending")


def test_the_database_check_never_outlasts_its_timeout_and_probes_share_one_run():
    calls = []
    release = threading.Event()

    def slow() -> str:
        calls.append(1)
        release.wait(5)
        return "answered"

    check = SingleFlight(slow)
    started = time.monotonic()
    results = []

    def probe() -> None:
        try:
            results.append(check(0.2))
        except TimeoutError:
            results.append("timeout")

    probes = [threading.Thread(target=probe) for _ in range(5)]
    for thread in probes:
        thread.start()
    for thread in probes:
        thread.join()
    assert results == ["timeout"] * 5 and len(calls) == 1  # one check in flight, whoever asks
    assert time.monotonic() - started < 1.5
    release.set()
    time.sleep(0.05)
    assert check(1.0) == "answered" and len(calls) == 2


def test_readyz_follows_a_real_postgresql_outage_within_two_seconds(postgres_url, tmp_path):
    """The database "stops" (a proxy in front of it closes every connection and refuses new ones) and comes
    back: /readyz turns 503 within 2 s and 200 again after, and chat answers 503 JSON, never 500, between."""
    from tests.webui.test_webui_postgres import CuttableProxy
    from webui import create_app

    server = make_url(postgres_url)
    proxy = CuttableProxy(server.host or "127.0.0.1", server.port or 5432)
    url = server.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "BOT": FakeBot(), "SECRET_KEY": "test",
                      "UPLOAD_FOLDER": str(tmp_path / "uploads"), "RATELIMIT_ENABLED": False,
                      "DATABASE_CONNECT_TIMEOUT": 1, "DATABASE_POOL_TIMEOUT": 1})
    client = app.test_client()
    try:
        assert client.get("/readyz").status_code == 200
        assert client.post("/api/chat", json={"message": "하나"}).status_code == 200
        proxy.cut()
        stopped = time.monotonic()
        while (status := client.get("/readyz").status_code) == 200 and time.monotonic() - stopped < 5:
            time.sleep(0.05)
        assert status == 503 and time.monotonic() - stopped < 2
        chat = client.post("/api/chat", json={"message": "둘"})
        assert chat.status_code == 503 and chat.get_json()["error"]["code"] == "database_unavailable"
        proxy.restore()
        back = time.monotonic()
        while (status := client.get("/readyz").status_code) == 503 and time.monotonic() - back < 5:
            time.sleep(0.05)
        assert status == 200 and time.monotonic() - back < 2
        assert client.post("/api/chat", json={"message": "셋"}).status_code == 200
    finally:
        proxy.cut()
        with app.app_context():
            db.engine.dispose()
        app.extensions["chatbot.readiness"].dispose()


@pytest.mark.parametrize("path", ["/readyz", "/metrics"])
def test_probes_are_never_rate_limited(make_app, path):
    client = make_app(METRICS=True, RATELIMIT_DEFAULT="2 per minute").test_client()
    assert {client.get(path).status_code for _ in range(4)} == {200}

"""The web app on a real PostgreSQL server: chat, history, attachments, concurrent writers, the schema,
and an outage (a TCP proxy between the app and the server, cut and restored) answered with 503 JSON.

Every test skips when no server answers on 127.0.0.1:5432 (``TEST_POSTGRES_URL``), and fails
instead under ``CI=true`` (``postgres_url`` in tests/conftest.py).
"""

from __future__ import annotations

import io
import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from tests.webui.conftest import FakeBot, png_bytes
from webui import create_app
from webui.extensions import db


def same_browser(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another test client carrying ``client``'s session cookie: the same guest, for another thread."""
    name = app.config["SESSION_COOKIE_NAME"]
    other = app.test_client()
    other.set_cookie(name, client.get_cookie(name).value)
    return other


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 in front of the database server. ``cut()`` closes every connection
    and refuses new ones, as a crashed server or a broken network would; ``restore()`` undoes it."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self.restore()

    def restore(self) -> None:
        """Accept connections again (on the same port)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)  # the accept loop looks up now and then to notice a cut
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def cut(self) -> None:
        """Refuse new connections (nothing listens on the port) and break the open ones."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._acceptor is not None:
            self._acceptor.join()  # until then its accept() keeps the closed socket listening
        with self._lock:
            open_sockets, self._sockets = list(self._sockets), set()
        for sock in open_sockets:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by cut()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class CuttingBot(FakeBot):
    """The fake bot, which cuts the database off while it thinks about ``CUT``: the request then fails
    in the middle of its transaction."""

    CUT = "__cut__"

    def __init__(self) -> None:
        super().__init__()
        self.proxy: CuttableProxy | None = None

    def reply(self, text: str, context: dict[str, Any] | None = None, image: Any = None) -> Any:
        if text == self.CUT and self.proxy is not None:
            self.proxy.cut()
        return super().reply(text, context, image)


@pytest.fixture
def make_app(postgres_url: str, tmp_path) -> Iterator[Any]:
    """A factory for apps on the session's PostgreSQL database; their pools are closed afterwards."""
    apps: list[Flask] = []

    def make(bot: Any, url: str = postgres_url, **config: Any) -> Flask:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "BOT": bot, "SECRET_KEY": "test",
                          "UPLOAD_FOLDER": str(tmp_path / "uploads"), "RATELIMIT_ENABLED": False, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_postgres_urls_use_psycopg_3_with_a_bounded_pool(make_app, fake_bot, postgres_url):
    app = make_app(fake_bot, postgres_url.replace("postgresql://", "postgres://", 1))
    with app.app_context():
        assert db.engine.dialect.driver == "psycopg"
        assert db.engine.pool.timeout() == 5  # seconds before a request gives up waiting for a connection
        assert db.session.execute(text("SELECT current_database()")).scalar() == make_url(postgres_url).database


def test_chat_round_trip_and_history(make_app, fake_bot):
    client = make_app(fake_bot).test_client()
    first = client.post("/api/chat", json={"message": "안녕하세요"})
    assert first.status_code == 200, first.get_json()
    conversation_id = first.get_json()["conversation_id"]
    second = client.post("/api/chat", json={"message": "날씨 어때", "conversation_id": conversation_id})
    assert second.get_json()["reply"] == "echo: 날씨 어때"
    assert fake_bot.calls[-1][1]["history"] == [("user", "안녕하세요"), ("bot", "echo: 안녕하세요")]
    detail = client.get(f"/api/conversations/{conversation_id}").get_json()
    assert [(m["role"], m["text"]) for m in detail["messages"]] == [
        ("user", "안녕하세요"), ("bot", "echo: 안녕하세요"), ("user", "날씨 어때"), ("bot", "echo: 날씨 어때")]
    assert detail["title"] == "안녕하세요"
    assert detail["created_at"].endswith("+00:00")  # timestamptz comes back aware, in UTC


def test_attachments_are_stored_and_served(make_app, fake_bot):
    client = make_app(fake_bot).test_client()
    response = client.post("/api/chat", data={"message": "", "image": (io.BytesIO(png_bytes()), "a.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    detail = client.get(f"/api/conversations/{data['conversation_id']}").get_json()
    user, bot = detail["messages"]
    assert user["attachments"][0]["role"] == "upload"
    assert [a["type"] for a in bot["attachments"]] == ["classification", "image"]
    assert bot["attachments"][0]["labels"][0]["label"] == "숫자 7"
    for url in (user["attachments"][0]["url"], user["attachments"][0]["original_url"], bot["attachments"][1]["url"]):
        assert client.get(url).status_code == 200


def test_concurrent_writers_lose_nothing(make_app, fake_bot):
    app = make_app(fake_bot)
    first = app.test_client()
    conversation_id = first.post("/api/chat", json={"message": "시작"}).get_json()["conversation_id"]

    def write(worker: int) -> list[int]:
        client = same_browser(app, first)
        statuses = []
        for i in range(6):
            payload = {"message": f"{worker}-{i}"}
            if i % 2 == 0:  # half into the shared conversation, half into new ones
                payload["conversation_id"] = conversation_id
            statuses.append(client.post("/api/chat", json=payload).status_code)
        return statuses

    with ThreadPoolExecutor(8) as pool:
        statuses = [s for result in pool.map(write, range(8)) for s in result]
    assert statuses == [200] * 48
    messages = first.get(f"/api/conversations/{conversation_id}").get_json()["messages"]
    assert len(messages) == 2 + 8 * 3 * 2
    assert {m["text"] for m in messages if m["role"] == "user"} == {"시작"} | {
        f"{w}-{i}" for w in range(8) for i in range(0, 6, 2)}
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM conversations")).scalar() >= 1 + 8 * 3


@pytest.fixture
def empty_schema_url(postgres_url: str) -> Iterator[str]:
    """The session's database seen through a new, empty schema (its own search_path)."""
    import psycopg
    from psycopg import sql

    schema = f"s_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    yield make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def schema_differences(app: Flask) -> list[Any]:
    """Alembic's comparison of the database's tables with the models (empty when they match)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), db.metadata)


def test_the_schema_that_create_app_makes_on_postgres_matches_the_models(make_app, fake_bot, empty_schema_url):
    app = make_app(fake_bot, empty_schema_url)
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"conversations", "messages", "attachments", "users", "alembic_version"} <= tables
    assert schema_differences(app) == []


def test_the_migrations_build_the_models_schema_on_postgres(make_app, fake_bot, empty_schema_url):
    from flask_migrate import upgrade

    from webui.schema import MIGRATIONS

    app = make_app(fake_bot, empty_schema_url, AUTO_MIGRATE=False, DATABASE_ONLY=True)
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
        upgrade(directory=MIGRATIONS)
    assert schema_differences(app) == []
    # A second start (AUTO_MIGRATE) finds the database up to date and serves from it.
    client = make_app(fake_bot, empty_schema_url).test_client()
    assert client.post("/api/chat", json={"message": "안녕"}).status_code == 200


def test_an_outage_answers_503_json_and_the_app_recovers_by_itself(make_app, postgres_url, caplog):
    server = make_url(postgres_url)
    proxy = CuttableProxy(server.host or "127.0.0.1", server.port or 5432)
    bot = CuttingBot()
    bot.proxy = proxy
    app = make_app(bot, server.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    client = app.test_client()
    acknowledged: list[str] = []
    first = client.post("/api/chat", json={"message": "하나"})
    assert first.status_code == 200
    conversation_id = first.get_json()["conversation_id"]
    acknowledged.append("하나")
    assert client.post("/api/chat", json={"message": "둘", "conversation_id": conversation_id}).status_code == 200
    acknowledged.append("둘")

    caplog.set_level(logging.DEBUG, logger="webui")
    proxy.cut()
    for _ in range(3):
        for response in (client.post("/api/chat", json={"message": "셋", "conversation_id": conversation_id}),
                         client.post("/api/chat", json={"message": "새 대화"}),
                         client.get(f"/api/conversations/{conversation_id}")):
            assert response.status_code == 503
            assert response.get_json()["error"]["code"] == "database_unavailable"
            assert "데이터베이스" in response.get_json()["error"]["message"]
            assert int(response.headers["Retry-After"]) > 0
    assert client.get("/healthz").status_code == 200  # liveness: the process answers, do not restart it
    assert client.get("/readyz").status_code == 503  # readiness: route users elsewhere
    assert client.get("/").status_code == 200  # the page itself needs no database
    warnings = [r for r in caplog.records if r.name == "webui.database" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "unavailable" in warnings[0].getMessage()  # once per outage, no traceback
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("webui.errors")]

    proxy.restore()
    again = client.post("/api/chat", json={"message": "넷", "conversation_id": conversation_id})
    assert again.status_code == 200, again.get_json()
    acknowledged.append("넷")
    assert [r.levelno for r in caplog.records if "reachable again" in r.getMessage()] == [logging.WARNING]

    # Cut in the middle of a request (after its first queries, before its commit): 503, nothing half-written.
    assert client.post("/api/chat", json={"message": CuttingBot.CUT, "conversation_id": conversation_id}
                       ).status_code == 503
    proxy.restore()
    assert client.get("/readyz").status_code == 200
    detail = client.get(f"/api/conversations/{conversation_id}")
    assert detail.status_code == 200
    users = [m["text"] for m in detail.get_json()["messages"] if m["role"] == "user"]
    assert users == acknowledged  # everything acknowledged survived; nothing failed was stored
    proxy.cut()

"""The database under concurrent writers (threads, and processes on one SQLite file), the engine options,
and a SQLite outage (a write lock held too long) answered with 503 JSON."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.webui.test_webui_postgres import same_browser
from webui import create_app, database, settings
from webui.database import postgres_engine_options
from webui.extensions import db
from webui.tables import Conversation, StoredMessage


def test_concurrent_threads_write_without_errors_or_losses(database_uri, fake_bot):
    """Eight request threads at once (a waitress or gthread server): every write succeeds and is kept."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_uri, "BOT": fake_bot, "SECRET_KEY": "test",
                      "RATELIMIT_ENABLED": False})  # one client sending 49 messages a second is not a test of limits
    first = app.test_client()
    conversation_id = first.post("/api/chat", json={"message": "시작"}).get_json()["conversation_id"]

    def write(worker: int) -> list[int]:
        client = same_browser(app, first)  # the conversation belongs to this guest
        return [client.post("/api/chat", json={"message": f"{worker}-{i}", "conversation_id": conversation_id}
                            ).status_code for i in range(6)]

    with ThreadPoolExecutor(8) as pool:
        statuses = [status for result in pool.map(write, range(8)) for status in result]
    assert statuses == [200] * 48
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StoredMessage)) == 2 * (1 + 48)


WRITER = textwrap.dedent("""
    import os, sys, time
    from types import SimpleNamespace
    import webui.api
    from webui import create_app

    class Bot:
        def reply(self, text, context=None, **extra):
            return SimpleNamespace(text="echo " + text, intent="echo", confidence=1.0, fallback=False,
                                   suggestions=[], attachments=[], entities=[])

    url, go, name = sys.argv[1:4]
    client = create_app({"SQLALCHEMY_DATABASE_URI": url, "BOT": Bot(), "SECRET_KEY": "test",
                         "RATELIMIT_ENABLED": False}).test_client()
    print("ready", flush=True)
    while not os.path.exists(go):  # all writers start together
        time.sleep(0.01)
    conversation = None
    for i in range(20):
        payload = {"message": f"{name}-{i}", **({"conversation_id": conversation} if conversation else {})}
        response = client.post("/api/chat", json=payload)
        assert response.status_code == 200, response.get_data(as_text=True)
        conversation = response.get_json()["conversation_id"]
    print("done", flush=True)
""")


def test_worker_processes_write_to_one_sqlite_file_at_once(tmp_path, fake_bot):
    """Three processes (gunicorn workers) writing to one SQLite file: WAL and busy_timeout let each wait its turn."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    create_app({"SQLALCHEMY_DATABASE_URI": url, "DATABASE_ONLY": True})  # tables first, as gunicorn's master does
    go = tmp_path / "go"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, url, str(go), f"p{n}"], text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for n in range(3)]
    try:
        for writer in writers:
            assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
        go.touch()
        results = [writer.communicate(timeout=120) for writer in writers]
    finally:
        for writer in writers:
            writer.kill()
    assert [writer.returncode for writer in writers] == [0, 0, 0], [err for _, err in results]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "BOT": fake_bot})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 3
        texts = db.session.scalars(select(StoredMessage.text).where(StoredMessage.role == "user")).all()
    assert sorted(texts) == sorted(f"p{n}-{i}" for n in range(3) for i in range(20))


def test_a_sqlite_write_lock_held_too_long_is_a_503_until_released(tmp_path, fake_bot):
    path = tmp_path / "locked.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "BOT": fake_bot, "SQLITE_BUSY_TIMEOUT_MS": 100,
                      "SECRET_KEY": "test"})
    client = app.test_client()
    conversation_id = client.post("/api/chat", json={"message": "하나"}).get_json()["conversation_id"]
    other = sqlite3.connect(path, isolation_level=None)  # a backup or a long job in another process
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        started = time.monotonic()
        response = client.post("/api/chat", json={"message": "둘", "conversation_id": conversation_id})
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "database_unavailable"
        assert response.headers["Retry-After"] == "5"
        assert time.monotonic() - started < 3  # the busy timeout, not a hang
        # Readers are not blocked in WAL mode.
        assert client.get(f"/api/conversations/{conversation_id}").status_code == 200
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert client.post("/api/chat", json={"message": "셋", "conversation_id": conversation_id}).status_code == 200
    messages = client.get(f"/api/conversations/{conversation_id}").get_json()["messages"]
    assert [m["text"] for m in messages if m["role"] == "user"] == ["하나", "셋"]


def test_postgres_engine_options_have_bounded_waits_and_can_be_overridden():
    options = postgres_engine_options(settings.defaults())
    assert options["pool_pre_ping"] is True
    assert (options["pool_size"], options["max_overflow"], options["pool_timeout"]) == (5, 5, 5)
    assert options["pool_recycle"] == 1800
    assert options["connect_args"]["connect_timeout"] == 5
    tuned = postgres_engine_options({**settings.defaults(), "DATABASE_POOL_SIZE": 3, "DATABASE_MAX_OVERFLOW": 0,
                                     "SQLALCHEMY_ENGINE_OPTIONS": {
        "pool_timeout": 2, "connect_args": {"connect_timeout": 1, "application_name": "chat"}}})
    assert (tuned["pool_size"], tuned["max_overflow"], tuned["pool_timeout"]) == (3, 0, 2)
    assert tuned["connect_args"]["connect_timeout"] == 1
    assert tuned["connect_args"]["application_name"] == "chat"
    assert tuned["connect_args"]["keepalives"] == 1  # merged, not replaced


@pytest.mark.parametrize("url", ["postgres://u@db.example/chat", "postgresql://u@db.example/chat"])
def test_postgres_urls_get_psycopg_3_and_the_pool_options_without_connecting(url):
    app = Flask(__name__)
    app.config.update(settings.defaults(), SQLALCHEMY_DATABASE_URI=url, DATABASE_POOL_TIMEOUT=2)
    database.init_app(app)
    with app.app_context():
        engine = db.engine
        assert engine.dialect.driver == "psycopg"
        assert engine.url.render_as_string() == "postgresql+psycopg://u@db.example/chat"
        assert (engine.pool.size(), engine.pool.timeout()) == (5, 2)
        assert engine.pool._pre_ping is True


def test_sqlite_apps_keep_their_options_without_pings(app):
    if not database.is_sqlite(app):
        pytest.skip("SQLite only: TEST_DATABASE_URL names another database")
    with app.app_context():
        assert db.engine.pool._pre_ping is False


def test_chat_writes_on_sqlite_wait_for_the_process_write_lock(make_app):
    """A chat request's write goes through the process's SQLite write lock (threads queue on it instead
    of sleeping in SQLite's busy handler); the reply comes once the lock is free."""
    import threading

    from webui.database import WRITE_LOCK_KEY

    app = make_app()
    lock = app.extensions[WRITE_LOCK_KEY]
    done = threading.Event()
    answers = []

    def chat() -> None:
        answers.append(app.test_client().post("/api/chat", json={"message": "안녕"}).status_code)
        done.set()

    with lock:
        thread = threading.Thread(target=chat)
        thread.start()
        assert not done.wait(0.5)  # held up by the lock, not answered
    assert done.wait(10)
    thread.join()
    assert answers == [200]
    assert WRITE_LOCK_KEY not in make_app(SQLITE_WRITE_LOCK=False).extensions

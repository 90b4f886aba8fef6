"""The database: its URL (``DATABASE_URL`` or SQLite in the instance folder), engine options,
connection settings, and the bookkeeping of outages (a database that stops answering).

SQLite (the default) suits one machine. PostgreSQL (``DATABASE_URL=postgresql://...``, driven by
psycopg 3) is for production: several worker processes, or several machines, on one database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine

from webui.extensions import db

logger = logging.getLogger(__name__)

OUTAGE_EXTENSION_KEY = "webui.database_outage"
WRITE_LOCK_KEY = "webui.sqlite_write_lock"

# PostgreSQL engine defaults, each overridable by a config key (or the environment variable of the
# same name) or by SQLALCHEMY_ENGINE_OPTIONS. Every gunicorn worker process has its own pool.
POSTGRES_DEFAULTS: dict[str, int] = {
    # One connection per request thread (GUNICORN_THREADS, 4 by default) plus a spare: a request
    # holds at most one. Mind the server's max_connections: machines x workers x (size + overflow).
    "DATABASE_POOL_SIZE": 5,
    "DATABASE_MAX_OVERFLOW": 5,
    # How long a request waits for a free connection. The default 30 s would hold a user (and a
    # server thread) for half a minute during an outage; a few seconds, then a 503, is kinder.
    "DATABASE_POOL_TIMEOUT": 5,
    # Reopen connections after 30 minutes, before firewalls and balancers drop idle ones silently.
    "DATABASE_POOL_RECYCLE": 1800,
    # libpq's connect timeout: an unreachable host fails in seconds instead of the TCP default (minutes).
    "DATABASE_CONNECT_TIMEOUT": 5,
}
# TCP keepalives: a connection whose server vanished (a cut network, not a clean close) is noticed
# within about a minute instead of the kernel's two hours. libpq connection parameters.
POSTGRES_KEEPALIVES: dict[str, int] = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                                       "keepalives_count": 3}
DEFAULT_RETRY_AFTER = 5  # seconds: the Retry-After of a 503 during an outage
# How long a SQLite writer waits for another's lock before giving up (then: 503, database_unavailable).
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000


def default_database_uri(instance_path: str) -> str:
    """``DATABASE_URL`` from the environment, else a SQLite file in the instance folder."""
    return os.environ.get("DATABASE_URL") or "sqlite:///" + os.path.join(instance_path, "chat.db")


def fix_database_uri(uri: str) -> str:
    """PostgreSQL URLs with the psycopg 3 driver: ``postgres://`` (Heroku style, refused by SQLAlchemy)
    and plain ``postgresql://`` (which SQLAlchemy maps to psycopg2, not installed) become
    ``postgresql+psycopg://``. URLs naming a driver, and other databases, are left alone."""
    for scheme in ("postgres://", "postgresql://"):
        if uri.startswith(scheme):
            return "postgresql+psycopg://" + uri[len(scheme):]
    return uri


def sqlite_pragmas(dbapi_connection: Any, _record: Any, busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS) -> None:
    """WAL journal: readers never block the writer, and a commit appends to the log instead of
    rewriting pages with two fsyncs. ``synchronous=NORMAL`` is the documented setting for WAL: a
    committed message survives a crash of the server process; only a power cut can lose the last
    commits. ``busy_timeout`` lets concurrent writers (threads or worker processes) wait their turn."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def is_sqlite(app: Flask) -> bool:
    """Whether ``app`` stores its data in SQLite."""
    return str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite")


def is_postgres(app: Flask) -> bool:
    """Whether ``app`` stores its data in PostgreSQL."""
    return str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql")


def postgres_engine_options(config: Any) -> dict[str, Any]:
    """The pool and connection options for PostgreSQL, from config keys, the environment, or defaults;
    the app's own SQLALCHEMY_ENGINE_OPTIONS win over all of them (``connect_args`` merged key by key)."""

    def setting(key: str) -> int:
        return config_int(config, key, POSTGRES_DEFAULTS[key])

    options: dict[str, Any] = {
        "pool_pre_ping": True,  # a dead connection (server restarted, network cut) is replaced, not handed out
        "pool_size": setting("DATABASE_POOL_SIZE"),
        "max_overflow": setting("DATABASE_MAX_OVERFLOW"),
        "pool_timeout": setting("DATABASE_POOL_TIMEOUT"),
        "pool_recycle": setting("DATABASE_POOL_RECYCLE"),
    }
    connect_args = {"connect_timeout": setting("DATABASE_CONNECT_TIMEOUT"), **POSTGRES_KEEPALIVES}
    own = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args.update(own.pop("connect_args", None) or {})
    return {**options, **own, "connect_args": connect_args}


def config_int(config: Any, key: str, default: int) -> int:
    """A whole-number setting: the config key, else the environment variable of the same name, else ``default``."""
    value = config.get(key)
    if value is None or value == "":
        value = os.environ.get(key) or default
    return int(value)


class DatabaseOutage:
    """Whether this process currently finds the database unreachable, so that an outage is logged
    once when it starts and once when it ends, rather than with a traceback on every request."""

    def __init__(self, retry_after: int = DEFAULT_RETRY_AFTER) -> None:
        self.retry_after = retry_after
        self.since: float | None = None
        self._lock = threading.Lock()

    def report(self, error: BaseException) -> None:
        """A request failed for want of the database; log it if it starts an outage."""
        with self._lock:
            if self.since is not None:
                return
            self.since = time.monotonic()
        logger.warning("The database is unavailable; answering 503 until it returns: %s", short_error(error))

    def connected(self, *_args: Any) -> None:
        """A connection was handed out alive (pool ``checkout`` event): an outage, if any, is over."""
        if self.since is None:  # the common case, without taking the lock
            return
        with self._lock:
            since, self.since = self.since, None
        if since is not None:
            logger.warning("The database is reachable again after %.1f s", time.monotonic() - since)


def short_error(error: BaseException) -> str:
    """The first line of a database error (SQLAlchemy appends SQL and a link on later lines)."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0] if lines else ''}"


def get_outage(app: Flask) -> DatabaseOutage:
    """The outage bookkeeping of ``app`` (made by ``init_app``)."""
    return app.extensions[OUTAGE_EXTENSION_KEY]


def init_app(app: Flask) -> None:
    """Settle the database URL and engine options, and attach Flask-SQLAlchemy to ``app``."""
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", default_database_uri(app.instance_path))
    app.config["SQLALCHEMY_DATABASE_URI"] = fix_database_uri(app.config["SQLALCHEMY_DATABASE_URI"])
    if is_postgres(app):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = postgres_engine_options(app.config)
    elif is_sqlite(app):
        # A file on this machine cannot drop the connection; pinging it costs a query per request.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
                                                   "pool_pre_ping": False}
    else:
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    if app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + os.path.join(app.instance_path, "chat.db"):
        os.makedirs(app.instance_path, exist_ok=True)
    db.init_app(app)
    outage = DatabaseOutage(config_int(app.config, "DATABASE_RETRY_AFTER", DEFAULT_RETRY_AFTER))
    app.extensions[OUTAGE_EXTENSION_KEY] = outage
    if is_sqlite(app) and app.config.get("SQLITE_WRITE_LOCK", True):
        app.extensions[WRITE_LOCK_KEY] = threading.Lock()
    with app.app_context():
        engine: Engine = db.engine
        if is_sqlite(app):
            busy_timeout_ms = config_int(app.config, "SQLITE_BUSY_TIMEOUT_MS", DEFAULT_SQLITE_BUSY_TIMEOUT_MS)

            def on_connect(dbapi_connection: Any, record: Any) -> None:
                sqlite_pragmas(dbapi_connection, record, busy_timeout_ms)

            event.listen(engine, "connect", on_connect)
        event.listen(engine, "checkout", outage.connected)


def write_lock() -> contextlib.AbstractContextManager[Any]:
    """Around a write transaction on a hot path (each chat message): on SQLite, one at a time in this
    process; elsewhere nothing.

    SQLite lets one writer in at a time. A second thread that finds the write lock taken goes to
    SQLite's busy handler, which sleeps and polls (1, 2, 5, 10... ms), so it waits milliseconds past
    the moment the lock is free; with a few request threads writing, those sleeps were the slowest
    requests. A Python lock wakes the next writer as soon as the first commits. Other processes on
    the same file still meet the busy handler (PostgreSQL has no such limit)."""
    lock = current_app.extensions.get(WRITE_LOCK_KEY)
    return lock if lock is not None else contextlib.nullcontext()

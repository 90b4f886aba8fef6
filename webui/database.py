"""The database: its URL (``SQLALCHEMY_DATABASE_URI``: SQLite in the instance folder unless set), engine options,
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
from collections.abc import Iterator
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from webui.extensions import db

logger = logging.getLogger(__name__)

OUTAGE_EXTENSION_KEY = "webui.database_outage"
WRITE_LOCK_KEY = "webui.sqlite_write_lock"

# PostgreSQL pool settings (webui/settings.py), each overridable by SQLALCHEMY_ENGINE_OPTIONS. Every
# gunicorn worker process has its own pool. The defaults: one connection per request thread
# (GUNICORN_THREADS, 4 by default) plus a spare, and as many again under load, as a request holds at
# most two (the chat path's own, ``request_connection``, and the ORM session's when it loads a signed-in
# user or a token; mind the server's max_connections: machines x workers x (size + overflow)); a request
# waits 5 s for a free one, not SQLAlchemy's 30 s, which would hold a user and a thread for half a minute
# during an outage; connections are reopened after 30 minutes, before firewalls drop idle ones silently; libpq's connect
# timeout makes an unreachable host fail in seconds instead of the TCP default (minutes).
# TCP keepalives: a connection whose server vanished (a cut network, not a clean close) is noticed
# within about a minute instead of the kernel's two hours. libpq connection parameters.
POSTGRES_KEEPALIVES: dict[str, int] = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                                       "keepalives_count": 3}
DEFAULT_RETRY_AFTER = 5  # seconds: the Retry-After of a 503 during an outage (DATABASE_RETRY_AFTER)
# How long a SQLite writer waits for another's lock before giving up (then: 503, database_unavailable).
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000


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
    """The pool and connection options for PostgreSQL, from the ``DATABASE_*`` settings; the app's own
    SQLALCHEMY_ENGINE_OPTIONS win over them (``connect_args`` merged key by key)."""

    def setting(key: str) -> int:
        return int(config[key])

    options: dict[str, Any] = {
        "pool_pre_ping": True,  # a dead connection (server restarted, network cut) is replaced, not handed out
        "pool_size": setting("DATABASE_POOL_SIZE"),
        "max_overflow": setting("DATABASE_MAX_OVERFLOW"),
        "pool_timeout": setting("DATABASE_POOL_TIMEOUT"),
        "pool_recycle": setting("DATABASE_POOL_RECYCLE"),
    }
    connect_args = {"connect_timeout": setting("DATABASE_CONNECT_TIMEOUT"), **POSTGRES_KEEPALIVES}
    own = dict(config["SQLALCHEMY_ENGINE_OPTIONS"] or {})
    connect_args.update(own.pop("connect_args", None) or {})
    return {**options, **own, "connect_args": connect_args}


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
    app.config["SQLALCHEMY_DATABASE_URI"] = fix_database_uri(app.config["SQLALCHEMY_DATABASE_URI"])
    if is_postgres(app):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = postgres_engine_options(app.config)
    elif is_sqlite(app):
        # A file on this machine cannot drop the connection; pinging it costs a query per request.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                                                   "pool_pre_ping": False}
    else:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = app.config["SQLALCHEMY_ENGINE_OPTIONS"] or {"pool_pre_ping": True}
    if app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + os.path.join(app.instance_path, "chat.db"):
        os.makedirs(app.instance_path, exist_ok=True)
    db.init_app(app)
    outage = DatabaseOutage(int(app.config["DATABASE_RETRY_AFTER"]))
    app.extensions[OUTAGE_EXTENSION_KEY] = outage
    if is_sqlite(app) and app.config["SQLITE_WRITE_LOCK"]:
        app.extensions[WRITE_LOCK_KEY] = threading.Lock()
    with app.app_context():
        engine: Engine = db.engine
        if is_sqlite(app):
            busy_timeout_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])

            def on_connect(dbapi_connection: Any, record: Any) -> None:
                sqlite_pragmas(dbapi_connection, record, busy_timeout_ms)

            event.listen(engine, "connect", on_connect)
        event.listen(engine, "checkout", outage.connected)
    app.teardown_appcontext(close_request_connection)


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


# ---------------------------------------------------------------- the chat path's own connection

REQUEST_CONNECTION_KEY = "_webui_request_connection"


def request_connection() -> Connection:
    """The request's Core connection for the chat path: opened (checked out of the pool) on first use,
    closed when the app context ends. It runs outside the ORM session, whose unit of work, identity map
    and transaction bookkeeping cost the chat request more CPU than its statements (docs/benchmarks.md,
    "Issue 19"); write on it inside ``write_transaction``."""
    conn = g.get(REQUEST_CONNECTION_KEY)
    if conn is None:
        conn = db.engine.connect()
        setattr(g, REQUEST_CONNECTION_KEY, conn)
    return conn


def close_request_connection(_exc: BaseException | None = None) -> None:
    """Teardown: give the request's connection back to the pool (rolling back what was not committed)."""
    conn = g.pop(REQUEST_CONNECTION_KEY, None)
    if conn is not None:
        conn.close()


@contextlib.contextmanager
def write_transaction() -> Iterator[Connection]:
    """One transaction on ``request_connection``, under ``write_lock``: committed when the block ends,
    rolled back (and the error raised again) when it raises.

    The transaction is begun explicitly: statements run on the DB-API cursor (``DriverStatement``) do not
    start one that ``Connection.commit`` would see."""
    conn = request_connection()
    with write_lock():
        transaction = conn.get_transaction() or conn.begin()
        try:
            yield conn
            transaction.commit()
        except BaseException:
            transaction.rollback()
            raise


class DriverStatement:
    """A Core statement compiled once per dialect and run on the DB-API cursor of a connection.

    SQLAlchemy compiles it (its SQL text, parameter order, and its column types' bind processors, so the
    values stored are those ``Connection.execute`` would send), and the statement runs without the
    execution context, compiled-cache lookup and result object that ``Connection.execute`` builds around
    each one: on the chat path those cost several times what SQLite takes to run it. SQLAlchemy's
    ``before_cursor_execute`` events and echo logging do not see these statements. Results come back as
    DB-API tuples, without result processors: select only columns that need none (text, numbers)."""

    def __init__(self, statement: Any, columns: tuple[str, ...] | None = None) -> None:
        """``columns``: for an INSERT, the columns given (all of the table's when None)."""
        self.statement = statement
        self.columns = list(columns) if columns else None
        self._compiled: dict[Any, tuple[Any, str, list[str] | None, dict[str, Any]]] = {}

    def _compile(self, dialect: Any) -> tuple[Any, str, list[str] | None, dict[str, Any]]:
        found = self._compiled.get(dialect)
        if found is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=self.columns)
            processors = {name: processor for bind, name in compiled.bind_names.items()
                          if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
            order = list(compiled.positiontup) if dialect.positional else None
            found = self._compiled[dialect] = (compiled, compiled.string, order, processors)
        return found

    def run(self, conn: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Execute with ``params`` (by bind name) on ``conn``'s DB-API connection; the rows it returns."""
        compiled, sql, order, processors = self._compile(conn.dialect)
        values = compiled.construct_params(params)
        for name, processor in processors.items():
            values[name] = processor(values[name])
        dbapi_error = conn.dialect.loaded_dbapi.Error
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, [values[name] for name in order] if order is not None else values)
            return cursor.fetchall() if cursor.description is not None else []
        except dbapi_error as exc:  # as Connection.execute raises it: a SQLAlchemy error, the connection dropped
            gone = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
            if gone:
                conn.invalidate(exc)
            raise DBAPIError.instance(sql, values, exc, dbapi_error, dialect=conn.dialect,
                                      connection_invalidated=gone) from exc
        finally:
            with contextlib.suppress(dbapi_error):  # a dropped connection's cursor may not close
                cursor.close()

"""The database: its URL (``DATABASE_URL`` or SQLite in the instance folder), engine options and
connection settings."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from sqlalchemy import event

from webui.extensions import db


def default_database_uri(instance_path: str) -> str:
    """``DATABASE_URL`` from the environment, else a SQLite file in the instance folder."""
    return os.environ.get("DATABASE_URL") or "sqlite:///" + os.path.join(instance_path, "chat.db")


def fix_database_uri(uri: str) -> str:
    """Heroku-style ``postgres://`` URLs are not accepted by SQLAlchemy 1.4+; rewrite them."""
    if uri.startswith("postgres://"):
        return "postgresql://" + uri[len("postgres://") :]
    return uri


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL journal: readers never block the writer, and a commit appends to the log instead of
    rewriting pages with two fsyncs. ``synchronous=NORMAL`` is the documented setting for WAL: a
    committed message survives a crash of the server process; only a power cut can lose the last
    commits. ``busy_timeout`` lets concurrent writers (threads or worker processes) wait their turn."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def is_sqlite(app: Flask) -> bool:
    return str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite")


def init_app(app: Flask) -> None:
    """Settle the database URL and engine options, and attach Flask-SQLAlchemy to ``app``."""
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", default_database_uri(app.instance_path))
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    app.config["SQLALCHEMY_DATABASE_URI"] = fix_database_uri(app.config["SQLALCHEMY_DATABASE_URI"])
    if is_sqlite(app):
        # A file on this machine cannot drop the connection; pinging it costs a query per request.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}
    if app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + os.path.join(app.instance_path, "chat.db"):
        os.makedirs(app.instance_path, exist_ok=True)
    db.init_app(app)
    if is_sqlite(app):
        with app.app_context():
            event.listen(db.engine, "connect", sqlite_pragmas)

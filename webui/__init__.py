"""The web chat: a Flask app over the chatbot library (``create_app``, flaskr style)."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask
from sqlalchemy import event

from webui.extensions import BOT_EXTENSION_KEY, db, load_bot

logger = logging.getLogger(__name__)

# A chat message with a picture: the 10 MB image limit plus the form's other fields. JSON bodies
# keep their own 64 KB limit (``webui.api.MAX_JSON_BYTES``).
MAX_CONTENT_LENGTH = 10 * 1024 * 1024 + 64 * 1024


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


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` needs ``BOT`` (a bot object) or ``MODEL_DIR`` (loaded now), unless
    ``DATABASE_ONLY`` is set: then only the tables are created."""
    app = Flask(__name__, instance_relative_config=True)
    default_uri = default_database_uri(app.instance_path)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=default_uri,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        HISTORY_MESSAGES=10,
    )
    if config:
        app.config.update(config)
    app.config["SQLALCHEMY_DATABASE_URI"] = fix_database_uri(app.config["SQLALCHEMY_DATABASE_URI"])
    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    if sqlite:
        # A file on this machine cannot drop the connection; pinging it costs a query per request.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}
    if app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + os.path.join(app.instance_path, "chat.db"):
        os.makedirs(app.instance_path, exist_ok=True)
    # Korean stays readable in curl output instead of \uXXXX escapes.
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    # Load the model now rather than on the first request, so a bad MODEL_DIR fails at start.
    # DATABASE_ONLY apps (a multi-process server's master, schema tools) carry no model.
    if not app.config.get("DATABASE_ONLY"):
        bot = app.config.get("BOT")
        if bot is None:
            model_dir = app.config.get("MODEL_DIR")
            if not model_dir:
                raise ValueError("create_app needs MODEL_DIR (a trained model directory) or BOT in its config")
            bot = load_bot(model_dir, app.config.get("VISION_MODEL_DIR"))
        app.extensions[BOT_EXTENSION_KEY] = bot

    db.init_app(app)

    from webui import api, chat, uploads
    from webui.errors import register_error_handlers

    app.register_blueprint(chat.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(uploads.bp)
    register_error_handlers(app)

    with app.app_context():
        from webui import models  # noqa: F401  (the tables must be known before create_all)

        if sqlite:
            event.listen(db.engine, "connect", sqlite_pragmas)

        db.create_all()
    return app

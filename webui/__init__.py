"""The web chat: a Flask app over the chatbot library (``create_app``, flaskr style)."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask

from webui import auth, database, lifecycle, schema, security
from webui.database import default_database_uri, fix_database_uri  # noqa: F401  (public names)

logger = logging.getLogger(__name__)

# A chat message with a picture: the 10 MB image limit plus the form's other fields. JSON bodies
# keep their own 64 KB limit (``webui.api.MAX_JSON_BYTES``).
MAX_CONTENT_LENGTH = 10 * 1024 * 1024 + 64 * 1024


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` needs ``BOT`` (a bot object) or ``MODEL_DIR`` (loaded now), unless
    ``DATABASE_ONLY`` is set: then only the tables are created."""
    # CHATBOT_INSTANCE_PATH: a server of its own (load tests) keeps its files apart from the checkout's.
    app = Flask(__name__, instance_relative_config=True, instance_path=os.environ.get("CHATBOT_INSTANCE_PATH") or None)
    app.config.from_mapping(MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH, HISTORY_MESSAGES=10)
    if config:
        app.config.update(config)
    # Korean stays readable in curl output instead of \uXXXX escapes.
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    security.init_app(app)
    database.init_app(app)
    lifecycle.init_app(app)
    auth.init_app(app)

    from webui import account_api, account_pages, admin_api, api, chat, commands_api, history_api, trainer, uploads
    from webui.errors import register_error_handlers

    app.register_blueprint(chat.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(history_api.bp)
    app.register_blueprint(account_api.bp)
    app.register_blueprint(account_pages.bp)
    app.register_blueprint(uploads.bp)
    app.register_blueprint(admin_api.bp)
    app.register_blueprint(commands_api.bp)
    app.register_blueprint(trainer.bp)
    register_error_handlers(app)
    schema.ensure_schema(app)
    return app

"""The web chat: a Flask app over the chatbot library (``create_app``, flaskr style)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from webui import auth, database, lifecycle, observability, ratelimit, schema, security, settings

logger = logging.getLogger(__name__)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. Settings (``webui/settings.py``): the defaults, then ``CHATBOT_*`` environment
    variables, then ``config``. It needs ``BOT`` (a bot object) or ``MODEL_DIR`` (loaded now), unless
    ``DATABASE_ONLY`` is set: then only the tables are created."""
    app = Flask(__name__, instance_relative_config=True, instance_path=settings.instance_path())
    settings.load(app.config, config, app.instance_path)
    # Korean stays readable in curl output instead of \uXXXX escapes.
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies > 0:  # the proxies' X-Forwarded-For/-Proto/-Host give the client's address, scheme and host
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]

    observability.init_app(app)
    security.init_app(app)
    database.init_app(app)
    lifecycle.init_app(app)
    auth.init_app(app)

    from webui import account_api, account_pages, admin_api, api, chat, commands_api, history_api, trainer, uploads
    from webui.errors import register_error_handlers
    from webui.metrics import init_app as init_metrics  # here, in the worker: prometheus-client reads its mode
    from webui.openapi import bp as openapi_bp
    from webui.readiness import init_app as init_readiness
    from webui.reminders_api import bp as reminders_bp

    app.register_blueprint(chat.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(history_api.bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(account_api.bp)
    app.register_blueprint(account_pages.bp)
    app.register_blueprint(uploads.bp)
    app.register_blueprint(admin_api.bp)
    app.register_blueprint(commands_api.bp)
    app.register_blueprint(trainer.bp)
    init_metrics(app)
    init_readiness(app)
    app.register_blueprint(openapi_bp)
    register_error_handlers(app)
    ratelimit.limit_views(app)
    schema.ensure_schema(app)
    return app

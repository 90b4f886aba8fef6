"""WSGI entry point for servers such as gunicorn: ``gunicorn webui.wsgi:app``.

The model comes from ``CHATBOT_MODEL`` (default ``models/default``); the database from ``DATABASE_URL``.
"""

from __future__ import annotations

import os

from webui import create_app

app = create_app({"MODEL_DIR": os.environ.get("CHATBOT_MODEL", "models/default")})

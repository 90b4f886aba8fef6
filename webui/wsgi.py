"""WSGI entry point for servers such as gunicorn: ``gunicorn webui.wsgi:app``.

The model comes from ``CHATBOT_MODEL`` (default ``models/default``), the ``/image`` model from
``CHATBOT_VISION_MODEL`` (default ``models/vision``; without one, ``/image`` says how to train it), the
database from ``DATABASE_URL``. Settings for gunicorn: ``webui/gunicorn_conf.py``.
"""

from __future__ import annotations

import os

from webui import create_app

app = create_app({
    "MODEL_DIR": os.environ.get("CHATBOT_MODEL") or "models/default",
    "VISION_MODEL_DIR": os.environ.get("CHATBOT_VISION_MODEL") or "models/vision",
})

"""The app for WSGI servers (``gunicorn webui.wsgi:app``), which need a module-level object; it serves
``models/default`` and ``models/vision`` unless ``CHATBOT_MODEL_DIR``/``CHATBOT_VISION_MODEL_DIR`` say otherwise.

Every other setting comes from the environment as in any app (``webui/settings.py``, README's table).
gunicorn's own settings: ``webui/gunicorn_conf.py``.
"""

from __future__ import annotations

from webui import create_app, settings

app = create_app(settings.served_model_dirs())

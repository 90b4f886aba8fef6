"""WSGI entry point for servers such as gunicorn: ``gunicorn webui.wsgi:app`` (settings: ``webui/gunicorn_conf.py``).

Environment:
- ``CHATBOT_MODEL`` (default ``models/default``) and ``CHATBOT_VISION_MODEL`` (default ``models/vision``;
  without one, ``/image`` says how to train it): the models;
- ``DATABASE_URL``: the database (default: SQLite in the instance folder);
- ``UPLOAD_FOLDER``: where pictures and tables sent in the chat are kept (default ``instance/uploads``);
  shared storage when several machines serve one database;
- ``TRUSTED_PROXIES``: how many reverse proxies (a load balancer: 1) stand in front of the app. Their
  ``X-Forwarded-For/-Proto/-Host`` headers then give the client's address (rate limits), the https
  scheme and the public host (the API's origin check). Leave it 0 when clients reach gunicorn directly:
  anyone could forge those headers;
- ``CHATBOT_SCHEMA_READY=1``: set by the gunicorn master once it has created or upgraded the schema
  (``webui/gunicorn_conf.py``); workers then skip that step, so their start needs no database.
"""

from __future__ import annotations

import os

from werkzeug.middleware.proxy_fix import ProxyFix

from webui import create_app

config: dict[str, object] = {
    "MODEL_DIR": os.environ.get("CHATBOT_MODEL") or "models/default",
    "VISION_MODEL_DIR": os.environ.get("CHATBOT_VISION_MODEL") or "models/vision",
}
if os.environ.get("UPLOAD_FOLDER"):
    config["UPLOAD_FOLDER"] = os.environ["UPLOAD_FOLDER"]
if os.environ.get("CHATBOT_SCHEMA_READY") == "1":
    config["AUTO_MIGRATE"] = False

app = create_app(config)

proxies = int(os.environ.get("TRUSTED_PROXIES") or 0)
if proxies > 0:
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]

"""The database schema, managed with Alembic through Flask-Migrate (``webui/migrations/``).

At start (``AUTO_MIGRATE``, on by default; skipped when ``SCHEMA_READY`` says a gunicorn master did it)
the app brings the database to the newest revision:
- an empty database gets every table from the models and is stamped with the newest revision
  (Alembic's documented recipe; the tests check that the migrations build the same schema);
- a database under Alembic is upgraded;
- a database made before migrations existed (tables but no ``alembic_version``) is stamped with the
  first revision, which is that schema, and upgraded from there.

A gunicorn master does this once before forking workers (``webui/gunicorn_conf.py``); with several
machines, run ``flask --app webui.manage db upgrade`` once per deploy and set ``CHATBOT_AUTO_MIGRATE=0``.
Changing a model: ``flask --app webui.manage db migrate -m "what changed"``, then review the script.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask_migrate import Migrate, stamp, upgrade
from sqlalchemy import inspect

from webui.extensions import db

logger = logging.getLogger(__name__)

MIGRATIONS = str(Path(__file__).with_name("migrations"))
BASELINE = "0001"  # the schema before accounts (conversations, messages, attachments)
migrate = Migrate(directory=MIGRATIONS, render_as_batch=True)  # batch mode: SQLite cannot ALTER most things


def ensure_schema(app: Flask) -> None:
    """Attach Flask-Migrate, and bring the database to the newest revision unless ``AUTO_MIGRATE`` is off
    or ``SCHEMA_READY`` is set."""
    with app.app_context():
        import webui.tables  # noqa: F401  (the tables must be known to the metadata)

        migrate.init_app(app, db)
        if not app.config["AUTO_MIGRATE"] or app.config["SCHEMA_READY"]:
            return
        tables = set(inspect(db.engine).get_table_names())
        if "alembic_version" in tables:
            upgrade(directory=MIGRATIONS)
        elif "conversations" in tables:
            logger.info("Database made before migrations: stamping revision %s, then upgrading", BASELINE)
            stamp(directory=MIGRATIONS, revision=BASELINE)
            upgrade(directory=MIGRATIONS)
        else:
            db.create_all()
            stamp(directory=MIGRATIONS, revision="head")

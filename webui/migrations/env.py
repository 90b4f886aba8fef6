"""Alembic's entry point, run by Flask-Migrate inside the app: the app's engine and models' metadata.

No ``logging.config.fileConfig`` here: the app (or the CLI) owns the logging set-up, and fileConfig
would silence every logger made before it."""

from __future__ import annotations

from alembic import context
from flask import current_app

db = current_app.extensions["migrate"].db
target_metadata = db.metadata
options = current_app.extensions["migrate"].configure_args  # render_as_batch for SQLite's ALTER TABLE


def run_offline() -> None:
    """``--sql`` mode: print the SQL instead of running it."""
    url = db.engine.url.render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, **options)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on the app's engine, in one transaction."""
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table by copying it and dropping the old one; with foreign keys on
            # (the app's connections turn them on), that DROP would cascade and delete every message.
            # The pragma is ignored inside a transaction, so it is set before one starts.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(connection=connection, target_metadata=target_metadata, **options)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

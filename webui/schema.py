"""Creating and upgrading the database schema."""

from __future__ import annotations

from flask import Flask

from webui.extensions import db


def ensure_schema(app: Flask) -> None:
    """Make the database's tables match the models."""
    with app.app_context():
        from webui import models  # noqa: F401  (the tables must be known before create_all)

        db.create_all()

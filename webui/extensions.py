"""Unbound Flask extensions (flaskr style): the database, bound to an app by ``webui.database.init_app``.

The bot the app serves is not an extension: ``webui.lifecycle`` holds it."""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for the web app's tables."""


db = SQLAlchemy(model_class=Base)

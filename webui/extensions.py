"""Unbound Flask extensions and the bot that the app serves (its holder is attached in ``create_app``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import current_app, g
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

logger = logging.getLogger(__name__)

HOLDER_KEY = "chatbot.model"  # app.extensions key of the webui.lifecycle.ModelHolder


class Base(DeclarativeBase):
    """Declarative base for the web app's tables."""


db = SQLAlchemy(model_class=Base)


def load_bot(model_dir: str | Path, vision_model: str | Path | None = None) -> Any:
    """Load a trained model directory with the library's ``Bot.load``, with the ``/image`` model when given;
    ``chatbot.model_dir.ModelNotFound`` when there is none."""
    # Imported here so that the web app (and its tests) import without the library.
    from chatbot.bot import Bot
    from chatbot.model_dir import ModelDir

    path = ModelDir(model_dir).require().path

    logger.info("Loading the chatbot model from %s", path)
    return Bot.load(path, vision_model)


def get_bot() -> Any:
    """The bot serving the current request: the holder's current one, remembered for the request so
    that a model swapped in meanwhile never changes the bot under a reply in flight."""
    bot = g.get("chatbot_bot")
    if bot is None:
        bot = g.chatbot_bot = get_holder().current()
    return bot


def get_holder() -> Any:
    """The current app's ``webui.lifecycle.ModelHolder``."""
    return current_app.extensions[HOLDER_KEY]

"""The model the app serves: loaded at start."""

from __future__ import annotations

from flask import Flask

from webui.extensions import BOT_EXTENSION_KEY, load_bot


def init_app(app: Flask) -> None:
    """Attach the bot: ``BOT`` from the config, else loaded from ``MODEL_DIR`` now (so a bad
    directory fails at start). ``DATABASE_ONLY`` apps (a multi-process server's master, schema
    tools) carry no model."""
    if app.config.get("DATABASE_ONLY"):
        return
    bot = app.config.get("BOT")
    if bot is None:
        model_dir = app.config.get("MODEL_DIR")
        if not model_dir:
            raise ValueError("create_app needs MODEL_DIR (a trained model directory) or BOT in its config")
        bot = load_bot(model_dir, app.config.get("VISION_MODEL_DIR"))
    app.extensions[BOT_EXTENSION_KEY] = bot

"""The app for schema tools, ``flask --app webui.manage db upgrade`` (or ``migrate``, ``current``, ``history``...):
it loads no model and migrates nothing by itself, so it runs where no model exists and before the schema is right."""

from __future__ import annotations

from webui import create_app

app = create_app({"DATABASE_ONLY": True, "AUTO_MIGRATE": False})

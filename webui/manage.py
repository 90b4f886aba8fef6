"""An app for schema tools, with no model and no automatic migration:
``flask --app webui.manage db upgrade`` (or ``migrate``, ``current``, ``history``...)."""

from __future__ import annotations

from webui import create_app

app = create_app({"DATABASE_ONLY": True, "AUTO_MIGRATE": False})

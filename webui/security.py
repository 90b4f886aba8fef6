"""Security settings of the web app."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Attach the security settings to ``app``."""

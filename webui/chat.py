"""The chat page. It renders no user text on the server: chat.js fetches and draws everything."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("chat", __name__)


@bp.get("/")
def index() -> str:
    """The single-page chat UI."""
    return render_template("index.html")

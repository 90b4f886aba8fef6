"""The chat page. The server renders only the header's account area (Jinja escapes the username);
chat.js fetches and draws the conversation."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from webui.account_pages import PostForm

bp = Blueprint("chat", __name__)


@bp.get("/")
def index() -> str:
    """The single-page chat UI."""
    # Only a logged-in visitor gets a logout form: a CSRF token for a guest would write a session cookie.
    return render_template("index.html", logout_form=PostForm() if current_user.is_authenticated else None)

"""``GET /api/commands``: the chat commands for the page's ``/`` menu, from the library's registry.

An endpoint rather than a list written into the page: the registry stays the one source of truth for
``/help``, the menu and any other client (a command added to ``chatbot.commands`` shows up without
touching a template), the page's HTML stays the same for every visitor, and the browser caches the list.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from chatbot.commands import list_commands

bp = Blueprint("commands_api", __name__)

CACHE_SECONDS = 300  # the list changes only when the server is upgraded


@bp.get("/api/commands")
def commands() -> Response:
    """``{"commands": [{"name", "usage", "description"}, ...]}``, sorted by name; names have no slash.
    ---
    get:
      summary: 채팅 명령 목록 (이름 순, 5분 동안 캐시해요)
      security: []
      responses:
        200: {description: "명령 목록", json: CommandList}
    """
    listed = [{"name": c.name, "usage": c.usage, "description": c.description} for c in list_commands()]
    response = jsonify({"commands": listed})
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    return response

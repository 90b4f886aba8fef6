"""Steps the browser tests share: wait for the bot's reply, send a message, log in through the page."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

BOT_ROWS = ".row-bot:not(.typing)"


def bot_rows(page: Any) -> int:
    """How many bot messages are shown now (the page opens with a greeting)."""
    page.wait_for_selector(BOT_ROWS)
    return page.locator(BOT_ROWS).count()


def wait_for_reply(page: Any, before: int) -> Any:
    """The first bot message after the ``before`` already shown, once the typing indicator is gone."""
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length > n && !document.querySelector('.row.typing')",
        arg=[BOT_ROWS, before])
    return page.locator(BOT_ROWS).nth(before)


def send(page: Any, text: str) -> Any:
    """Type ``text`` into the composer, press Enter, and return the bot's reply row."""
    before = bot_rows(page)
    page.fill("#input", text)
    page.press("#input", "Enter")
    return wait_for_reply(page, before)


def log_in(page: Any, base_url: str, username: str, password: str) -> None:
    """Log in through the login page's form and land back on the chat."""
    page.goto(base_url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(base_url + "/")
    page.wait_for_selector(BOT_ROWS)


def chat_posts(page: Any) -> list[str]:
    """The messages the page posts to /api/chat from now on (text of each JSON or form request)."""
    sent: list[str] = []

    def record(request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/api/chat"):
            body = request.post_data or ""
            try:
                sent.append(json.loads(body).get("message", ""))
            except ValueError:
                sent.append(body)  # multipart (a picture): the raw body

    page.on("request", record)
    return sent


def screenshot(page: Any, name: str) -> None:
    """Save a screenshot under E2E_SCREENSHOT_DIR when it is set (``make screenshots`` fills docs/)."""
    folder = os.environ.get("E2E_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name))

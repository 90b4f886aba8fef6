"""Steps the browser tests share: wait for the bot's reply, send a message, log in through the page."""

from __future__ import annotations

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

"""``/help``: what the bot can talk about and which commands it knows."""

from __future__ import annotations

from typing import Any

from chatbot.commands.registry import command, registered
from chatbot.reply import Reply


@command("help", "할 수 있는 일과 명령어 목록을 보여 줘요")
def help_command(args: str, bot: Any, context: dict[str, Any]) -> Reply:
    """List the bot's topics (from the model) and the registered commands.

    ``run_command`` registers the built-in commands before it calls a handler, so the list is complete."""
    topics = bot.capabilities() if bot is not None else []
    lines = ["제가 할 수 있는 일이에요 😊"]
    if topics:
        lines.append("• 대화 주제: " + ", ".join(topics))
    lines.append("• 명령어:")
    lines += [f"  {c.usage} — {c.description}" for c in registered()]
    return Reply(text="\n".join(lines), intent="help", confidence=1.0, source="command")

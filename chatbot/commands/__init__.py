"""Chat commands (``/help``, ``/image``, ``/forecast``) by name.

A command is a function ``(args: str, bot, context: dict) -> Reply`` registered with a short
Korean description (``chatbot.commands.registry.command``), which ``/help`` lists.
"""

from __future__ import annotations

from typing import Any

from chatbot.commands.registry import COMMANDS, Command, command, registered
from chatbot.reply import Reply

__all__ = ["COMMANDS", "Command", "command", "list_commands", "register_builtin_commands", "run_command"]


def register_builtin_commands() -> None:
    """Import the built-in command modules, whose decorators fill ``COMMANDS``.

    Lazily, so that importing the package registers nothing until a command is listed or run.
    """
    from chatbot.commands import forecast_command, help_command, image_command  # noqa: F401  (registers them)


def list_commands() -> list[Command]:
    """Every registered command, sorted by name: what ``/help`` and the web page's ``/`` menu show.

    Registers the built-in ones first, so the list is complete even before any message was routed.
    """
    register_builtin_commands()
    return registered()


def run_command(text: str, bot: Any, context: dict[str, Any]) -> Reply:
    """Dispatch ``/name args`` to its handler; an unknown name gets a helpful reply."""
    register_builtin_commands()
    name, _, args = text[1:].partition(" ")
    found = COMMANDS.get(name.lower())
    if found is None:
        known = ", ".join(f"/{c}" for c in sorted(COMMANDS))
        return Reply(
            text=f"'/{name}' 은(는) 모르는 명령어예요. 사용할 수 있는 명령어: {known}",
            intent="command_unknown", confidence=1.0, source="command", suggestions=["/help"],
        )
    return found.handler(args.strip(), bot, context)

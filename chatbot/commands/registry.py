"""The chat-command registry: ``@command`` adds a handler under ``/name``, ``registered()`` lists them.

The command modules import this module, never the package: the package's ``__init__`` imports them
(to register the built-in ones), so importing it back would make a loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chatbot.reply import Reply


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    usage: str
    handler: Callable[[str, Any, dict], Reply]


COMMANDS: dict[str, Command] = {}


def command(name: str, description: str, usage: str = "") -> Callable:
    """Register a chat command under ``/name``."""

    def decorate(handler: Callable[[str, Any, dict], Reply]) -> Callable:
        COMMANDS[name] = Command(name, description, usage or f"/{name}", handler)
        return handler

    return decorate


def registered() -> list[Command]:
    """The commands registered so far, sorted by name."""
    return sorted(COMMANDS.values(), key=lambda c: c.name)

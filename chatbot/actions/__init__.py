"""Actions: what the bot does when an intent's form is complete (date questions, reminders, weather...).

An action is a function ``(call: ActionCall) -> ActionResult`` registered by name with ``@action``
(``chatbot.actions.registry``), the way chat commands are; a corpus intent names it (``action: weather``).
A trainer's own action lives in any module that is imported before the bot replies (``CHATBOT_ACTIONS``,
a comma-separated list of modules, or an import in their own code); README "Your own action".
"""

from __future__ import annotations

import importlib
import os

from chatbot.actions.registry import ACTIONS, Action, ActionCall, ActionResult, action, run_action

__all__ = ["ACTIONS", "Action", "ActionCall", "ActionModuleError", "ActionResult",
           "action", "register_builtin_actions", "find_action", "registered_actions",
           "run_action"]

BUILTIN = ("chatbot.actions.date_actions", "chatbot.actions.reminder_actions", "chatbot.actions.weather_action",
           "chatbot.actions.tool_actions", "chatbot.actions.recall_action")


class ActionModuleError(ImportError):
    """A module named in ``CHATBOT_ACTIONS`` cannot be imported (the message names it and the fix)."""


def register_builtin_actions() -> None:
    """Import the built-in action modules and those named in ``CHATBOT_ACTIONS`` (their decorators register)."""
    for module in BUILTIN:
        importlib.import_module(module)
    for module in [m.strip() for m in os.environ.get("CHATBOT_ACTIONS", "").split(",") if m.strip()]:
        try:
            importlib.import_module(module)
        except Exception as exc:  # a typo or a broken module: say which, at load time, not in a user's reply
            raise ActionModuleError(f"CHATBOT_ACTIONS names {module!r}, which cannot be imported "
                                    f"({type(exc).__name__}: {exc}); check the module path and PYTHONPATH") from exc


def registered_actions() -> set[str]:
    """The names of every registered action, the built-in ones included."""
    register_builtin_actions()
    return set(ACTIONS)


def find_action(name: str) -> Action | None:
    register_builtin_actions()
    return ACTIONS.get(name)

"""The action registry: ``@action`` adds a function under a name that a corpus intent can name.

An action answers an intent whose form is complete. It receives an ``ActionCall`` (the intent, the filled
slots, the dialogue state, the clock and the services the host offers) and returns an ``ActionResult``:
a ``Reply`` plus the state it wants to keep, or a question to ask again with a reason (a value that cannot
be used, such as a reminder in the past). ``run_action`` runs it with a time limit; an exception or a
timeout becomes a polite Korean reply, logged, never an error for the user.

The action modules import this module, never the package (whose ``__init__`` imports them).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chatbot.dialogue.state import DialogueState
from chatbot.reply import Reply

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0  # seconds an action may take before the user gets a polite reply instead
FAILED_TEXT = "죄송해요, 요청을 처리하다가 문제가 생겼어요. 잠시 뒤에 다시 말씀해 주세요 🙏"
TIMEOUT_TEXT = "죄송해요, 답을 준비하는 데 시간이 너무 오래 걸려요. 잠시 뒤에 다시 말씀해 주세요 🙏"


@dataclass
class ActionCall:
    """What an action gets: ``slots`` are ``{name: {"type", "text", "value"}}``; ``now`` is aware, in the bot's
    timezone; ``services`` are what the host provides (``reminders``: a ``ReminderBook``; ``weather``: the
    provider's settings); ``bot`` runs chat commands (``/forecast``); ``context`` is the message's context."""

    intent: str
    slots: dict[str, dict[str, Any]]
    state: DialogueState
    now: datetime
    text: str = ""
    services: dict[str, Any] = field(default_factory=dict)
    bot: Any = None
    context: dict[str, Any] = field(default_factory=dict)

    def value(self, slot: str) -> Any:
        """A slot's normalised value, or None when it is empty."""
        item = self.slots.get(slot)
        return item.get("value") if item else None


@dataclass
class ActionResult:
    """An action's answer: the reply, and ``ask``/``reason`` to ask for a slot again instead of finishing.

    The state changes it may ask for: ``keep_slots`` (whether the form's slots stay in the state for
    follow-ups; they do unless told) and ``slots`` (values to keep instead of or besides them, as
    ``{name: {"type", "text", "value"}}``: a weather action may keep the place it settled on)."""

    reply: Reply
    ask: str | None = None
    reason: str = ""
    keep_slots: bool = True
    slots: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    handler: Callable[[ActionCall], ActionResult]
    # Seconds this action may take when it needs more than the host's ``action_timeout`` (a forecast
    # fits a model: seconds on a busy machine); the larger of the two applies. None: the host's.
    timeout: float | None = None


ACTIONS: dict[str, Action] = {}
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def action(name: str, description: str = "", timeout: float | None = None) -> Callable:
    """Register ``handler(call: ActionCall) -> ActionResult`` under ``name`` (``timeout``: see ``Action``)."""

    def decorate(handler: Callable[[ActionCall], ActionResult]) -> Callable:
        ACTIONS[name] = Action(name, description, handler, timeout)
        return handler

    return decorate


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:  # made on first use, not at import
            _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="chatbot-action")
        return _pool


def run_action(found: Action, call: ActionCall, timeout: float = DEFAULT_TIMEOUT) -> ActionResult:
    """Run ``found`` within ``timeout`` seconds (or its own, when larger); a failure or a timeout is logged
    and answered politely."""
    timeout = max(timeout, found.timeout or 0.0)
    future = _executor().submit(found.handler, call)
    try:
        result = future.result(timeout=timeout)
    except FutureTimeout:
        logger.warning("action %r took longer than %.1f s; answered with an apology", found.name, timeout)
        return ActionResult(Reply(TIMEOUT_TEXT, intent=call.intent, source=f"action:{found.name}"), keep_slots=False)
    except Exception:
        logger.exception("action %r failed", found.name)
        return ActionResult(Reply(FAILED_TEXT, intent=call.intent, source=f"action:{found.name}"), keep_slots=False)
    if not isinstance(result, ActionResult):
        logger.error("action %r returned %r, not an ActionResult", found.name, type(result).__name__)
        return ActionResult(Reply(FAILED_TEXT, intent=call.intent, source=f"action:{found.name}"), keep_slots=False)
    return result

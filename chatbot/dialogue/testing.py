"""Run conversation test files (``tests/dialogues/*.yaml``, ``chatbot.dialogue.dialogue_files``) against a bot.

Each person of a conversation has their own dialogue state and ``MemoryReminderBook``. The state goes
through JSON between turns, as the web layer stores it; ``restart: true`` loads a fresh bot from the
model directory before a turn and keeps the states and the reminder books (as a database would).
``run_conversation`` gives a ``TurnResult`` per turn (intent, entities, slots and reply each right,
wrong or not checked) and whether the whole conversation passed; ``failure_lines`` prints them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from chatbot.actions.reminders import MemoryReminderBook
from chatbot.dialogue.dialogue_files import Conversation, DialogueFileError, Turn, load_dialogues

__all__ = ["ConversationResult", "DialogueFileError", "TurnResult", "failure_lines", "load_dialogues",
           "run_conversation", "run_dialogues"]
FALLBACK = "fallback"
CHECKS = ("intent", "entities", "slots", "reply")


@dataclass
class TurnResult:
    """What happened at one turn: the bot's answer and, per check, True (right), False (wrong) or None
    (the turn states no expectation of that kind)."""

    index: int
    user: str
    person: str
    where: str
    reply: str = ""
    intent: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    entities: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, bool | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


@dataclass
class ConversationResult:
    """A conversation's turns, run; it passes when every turn does."""

    conversation: Conversation
    turns: list[TurnResult]

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.turns)

    @property
    def failed_turns(self) -> list[TurnResult]:
        return [t for t in self.turns if not t.passed]


def _load_bot(model_dir: Any) -> Any:
    from chatbot.bot import Bot

    if model_dir is None:
        raise ValueError("restart: true needs a bot loaded from a model directory")
    return Bot.load(model_dir)


def run_conversation(conversation: Conversation, bot: Any, reload: Callable[[], Any] | None = None) -> (
        ConversationResult):
    """Play ``conversation`` against ``bot``; ``reload`` makes the bot of a ``restart`` (default: ``Bot.load``
    of ``bot.model_dir``)."""
    reload = reload or (lambda: _load_bot(getattr(bot, "model_dir", None)))
    states: dict[str, str] = {}  # person -> the dialogue state as JSON text
    books: dict[str, MemoryReminderBook] = {}
    results = []
    for index, turn in enumerate(conversation.turns, 1):
        if turn.restart:
            bot = reload()
        book = books.setdefault(turn.person, MemoryReminderBook())
        state = json.loads(states[turn.person]) if turn.person in states else None
        result = TurnResult(index, turn.user, turn.person, f"{conversation.file}:{turn.line}")
        context = {"now": turn.now or conversation.now, "services": {"reminders": book}}
        try:
            reply = bot.reply(turn.user, context, state=state)
        except Exception as exc:  # noqa: BLE001 - a crash is this turn's failure, not the run's
            result.problems.append(f"the bot raised {type(exc).__name__}: {exc}")
            results.append(result)
            continue
        try:
            states[turn.person] = json.dumps(reply.state, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            result.problems.append(f"the dialogue state is not JSON: {exc}")
        result.reply, result.intent = reply.text, reply.intent
        result.slots, result.entities = dict(reply.slots or {}), list(reply.entities or [])
        check_turn(turn, reply, result)
        results.append(result)
    return ConversationResult(conversation, results)


def run_dialogues(conversations: Sequence[Conversation], bot: Any,
                  reload: Callable[[], Any] | None = None) -> list[ConversationResult]:
    """Every conversation, each from a fresh state, against ``bot``."""
    return [run_conversation(c, bot, reload) for c in conversations]


# -- the checks ---------------------------------------------------------------------------------------


def check_turn(turn: Turn, reply: Any, result: TurnResult) -> None:
    """Fill ``result.checks`` and ``result.problems`` from ``turn``'s expectations and the bot's ``reply``."""
    found: dict[str, list[str] | None] = {
        "intent": intent_problems(turn.intent, reply) if turn.intent is not None else None,
        "entities": entity_problems(turn.entities, reply.entities or []) if turn.entities is not None else None,
        "slots": slot_problems(turn.slots, reply.slots or {}) if turn.slots is not None else None,
        "reply": reply_problems(turn, reply.text) if turn.checks_reply else None,
    }
    for name in CHECKS:
        problems = found[name]
        result.checks[name] = None if problems is None else not problems
        result.problems += problems or []


def intent_problems(want: str, reply: Any) -> list[str]:
    got = f"got {reply.intent} (confidence {reply.confidence:.2f}{', fallback' if reply.fallback else ''})"
    if want == FALLBACK:
        return [] if reply.fallback else [f"intent: expected a fallback, {got}"]
    return [] if reply.intent == want and not reply.fallback else [f"intent: expected {want}, {got}"]


def describe(entities: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"{e.get('type')}: {e.get('text')!r}" for e in entities) or "none"


def _start(value: Any) -> str:
    return str(value.get("start", "")) if isinstance(value, dict) else ""


def value_problem(want: Any, got: Any) -> str | None:
    """Why ``got`` (a slot's or entity's value) does not match ``want``, or None when it does.

    ``want`` as a mapping is a subset check: ``date`` is the day a time starts (YYYY-MM-DD), ``time`` its
    hour and minute (HH:MM), ``start``/``end`` match as prefixes, other keys exactly. A scalar ``want``
    equals the value (or, for a mapping such as a quantity, its ``value``)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{got!r} is not a structured value"
        for key, expected in want.items():
            if key == "date":
                actual = _start(got)[:10]
            elif key == "time":
                actual = _start(got)[11:16]
            else:
                actual = str(got.get(key, ""))
            ok = actual.startswith(str(expected)) if key in ("start", "end") else actual == str(expected)
            if not ok:
                return f"{key} is {actual or 'missing'!r}, not {str(expected)!r}"
        return None
    value = got.get("value") if isinstance(got, dict) and "value" in got else got
    return None if str(value) == str(want) else f"{value!r}, not {want!r}"


def entity_problems(expected: list[dict[str, Any]], found: Sequence[dict[str, Any]]) -> list[str]:
    """Each expected entity must be found (by type and text; ``value``/``date`` then checked); ``[]`` means
    none at all; other entities are allowed."""
    if not expected:
        return [f"entities: expected none, found {describe(found)}"] if found else []
    problems = []
    for want in expected:
        same = [e for e in found if e.get("type") == want["type"] and e.get("text") == want["text"]]
        if not same:
            problems.append(f"entities: missing {want['type']}: {want['text']!r}; found {describe(found)}")
            continue
        reasons = [_entity_value_problem(want, e.get("value")) for e in same]
        if all(reasons):
            problems.append(f"entities: {want['type']}: {want['text']!r}: {reasons[0]}")
    return problems


def _entity_value_problem(want: dict[str, Any], value: Any) -> str | None:
    if "date" in want and (why := value_problem({"date": want["date"]}, value)) is not None:
        return why
    return value_problem(want["value"], value) if "value" in want else None


def slot_problems(expected: dict[str, Any], slots: dict[str, Any]) -> list[str]:
    """Each named slot must hold its value (``null``: be empty); ``{}`` means no slot is filled; slots not
    named are not checked."""
    filled = {k: v for k, v in slots.items() if v not in (None, "")}
    if not expected:
        return [f"slots: expected none, found {json.dumps(filled, ensure_ascii=False)}"] if filled else []
    problems = []
    for name, want in expected.items():
        if want is None:
            if name in filled:
                problems.append(f"slots: {name} should be empty, is {filled[name]!r}")
        elif name not in filled:
            problems.append(f"slots: {name} is empty, expected {want!r}")
        elif (why := value_problem(want, filled[name])) is not None:
            problems.append(f"slots: {name}: {why}")
    return problems


def reply_problems(turn: Turn, text: str) -> list[str]:
    problems = [f"reply: lacks {part!r}" for part in turn.reply_contains if part not in text]
    problems += [f"reply: does not match /{p}/" for p in turn.reply_matches if not re.search(p, text)]
    problems += [f"reply: should not say {part!r}" for part in turn.reply_excludes if part in text]
    return problems


# -- printing -----------------------------------------------------------------------------------------


def failure_lines(results: Sequence[ConversationResult]) -> list[str]:
    """Readable lines for every failed conversation: where, what the user said, the reply, what was wrong.
    A conversation marked ``xfail`` that fails is a known failure; one that passes is reported too."""
    lines = []
    for result in results:
        conversation = result.conversation
        if result.passed:
            if conversation.xfail:
                lines.append(f"XPASS {conversation.id} ({conversation.file}:{conversation.line}): marked xfail "
                             f"({conversation.xfail}) but passes now; remove the mark")
            continue
        label = "XFAIL" if conversation.xfail else "FAIL"
        note = f" [known: {conversation.xfail}]" if conversation.xfail else ""
        lines.append(f"{label} {conversation.id} ({conversation.file}:{conversation.line}){note}")
        for turn in result.failed_turns:
            lines.append(f"  turn {turn.index} at {turn.where} (person {turn.person}): {turn.user}")
            lines.append(f"    bot [{turn.intent}]: {turn.reply}")
            lines += [f"    - {p}" for p in turn.problems]
    return lines


def unexpected(results: Sequence[ConversationResult]) -> list[ConversationResult]:
    """Failures not marked ``xfail``, and ``xfail`` conversations that pass: what makes a run fail."""
    return [r for r in results if r.passed == bool(r.conversation.xfail)]

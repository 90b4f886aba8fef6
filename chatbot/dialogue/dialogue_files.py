"""Conversation test files (``tests/dialogues/*.yaml``): reading and checking them, with file:line errors.

The format is documented in ``tests/dialogues/README.md``; in short::

    now: 2026-12-07T10:00:00+09:00        # the fixed clock (ISO datetime; without an offset: Asia/Seoul)
    conversations:
      - name: 알림: 내용과 시간을 차례로 묻는다
        turns:
          - user: 알림 설정해 줘
            intent: reminder_set
            reply_contains: 무엇을
          - user: 모레 아침 9시
            person: b                      # another person: their own state and reminders
            restart: true                  # reload the bot from the model directory first
            entities: [{type: time, text: 모레 아침 9시, date: 2026-12-09}]
            slots: {when: {date: 2026-12-09, time: "09:00"}, what: null}
            reply_matches: "12월 9일 .*오전 9시"

``load_dialogues`` reads files and folders of them into ``Conversation`` objects, or raises
``DialogueFileError`` naming every problem as ``file:line: message``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

TIMEZONE = "Asia/Seoul"
DEFAULT_PERSON = "a"
FILE_KEYS = {"now", "conversations"}
CONVERSATION_KEYS = {"name", "now", "turns", "xfail"}
TURN_KEYS = {"user", "person", "restart", "now", "intent", "entities", "slots", "reply_contains", "reply_matches",
             "reply_excludes"}
ENTITY_KEYS = {"type", "text", "value", "date"}
TEXT_LISTS = ("reply_contains", "reply_matches", "reply_excludes")


class DialogueFileError(ValueError):
    """A conversation file that cannot be used: ``problems`` are ``file:line: message`` lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("bad conversation file(s):\n  " + "\n  ".join(problems))


class _Mapping(dict):
    """A YAML mapping that remembers the line it starts on."""

    line = 0


class _Loader(yaml.SafeLoader):
    """A safe loader whose mappings are ``_Mapping`` objects with their line numbers."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Mapping:
    mapping = _Mapping(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class Turn:
    """One user line and what the bot must do with it (an expectation left as None is not checked)."""

    user: str
    line: int = 0
    person: str = DEFAULT_PERSON
    restart: bool = False
    now: datetime | None = None
    intent: str | None = None
    entities: list[dict[str, Any]] | None = None
    slots: dict[str, Any] | None = None
    reply_contains: list[str] = field(default_factory=list)
    reply_matches: list[str] = field(default_factory=list)
    reply_excludes: list[str] = field(default_factory=list)

    @property
    def checks_reply(self) -> bool:
        return bool(self.reply_contains or self.reply_matches or self.reply_excludes)


@dataclass
class Conversation:
    """A named list of turns from ``file`` (starting at ``line``), against a fixed clock."""

    name: str
    turns: list[Turn]
    now: datetime
    file: str = ""
    line: int = 0
    xfail: str | None = None  # a known bug: the conversation is expected to fail, for this reason

    @property
    def id(self) -> str:
        """``<file stem>::<name>``, the pytest id."""
        return f"{Path(self.file).stem}::{self.name}"


def as_datetime(value: Any) -> datetime:
    """A ``now`` setting as an aware datetime (naive means Asia/Seoul); ValueError when it is not one."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value.strip())
    else:
        raise ValueError(f"{value!r} is not an ISO datetime")
    return moment.replace(tzinfo=ZoneInfo(TIMEZONE)) if moment.tzinfo is None else moment


def dialogue_files(paths: list[str | Path]) -> list[Path]:
    """The ``*.yaml``/``*.yml`` files of ``paths`` (folders are searched, not recursively), sorted."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such conversation file or folder")
    return found


def load_dialogues(paths: list[str | Path]) -> list[Conversation]:
    """Every conversation in ``paths``; ``DialogueFileError`` lists all the problems of bad files."""
    conversations: list[Conversation] = []
    problems: list[str] = []
    for path in dialogue_files(paths):
        found, bad = load_file(path)
        conversations += found
        problems += bad
    if problems:
        raise DialogueFileError(problems)
    return conversations


def load_file(path: Path) -> tuple[list[Conversation], list[str]]:
    """One file's conversations and its problems (``file:line: message``)."""
    where = str(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        return [], [f"{where}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}"]
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{where}:0: cannot read: {exc}"]
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list):
        return [], [f"{where}:1: a conversation file is a mapping with `now` and a list `conversations`"]
    problems = [f"{where}:{getattr(data, 'line', 1)}: unknown key {k!r}; a file has {sorted(FILE_KEYS)}"
                for k in sorted(set(data) - FILE_KEYS)]
    file_now = _now(data, None, where, problems)
    conversations, names = [], set()
    for item in data["conversations"]:
        line = getattr(item, "line", 0)
        conversation = _conversation(item, file_now, where, problems)
        if conversation is None:
            continue
        if conversation.name in names:
            problems.append(f"{where}:{line}: conversation name {conversation.name!r} is used twice in this file")
        names.add(conversation.name)
        conversations.append(conversation)
    return conversations, problems


def _now(item: dict, inherited: datetime | None, where: str, problems: list[str]) -> datetime | None:
    if "now" not in item:
        return inherited
    try:
        return as_datetime(item["now"])
    except (TypeError, ValueError):
        problems.append(f"{where}:{getattr(item, 'line', 0)}: now {item['now']!r} is not an ISO datetime "
                        "such as 2026-12-07T10:00:00+09:00")
        return inherited


def _conversation(item: Any, file_now: datetime | None, where: str, problems: list[str]) -> Conversation | None:
    line = getattr(item, "line", 0)
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
        problems.append(f"{where}:{line}: a conversation needs a `name` (text) and `turns`")
        return None
    extra = set(item) - CONVERSATION_KEYS
    if extra:
        problems.append(f"{where}:{line}: unknown key(s) {sorted(extra)}; a conversation has "
                        f"{sorted(CONVERSATION_KEYS)}")
    now = _now(item, file_now, where, problems)
    if now is None:
        problems.append(f"{where}:{line}: no `now`: give one for the file or for this conversation")
        now = datetime.now(ZoneInfo(TIMEZONE))
    turns = item.get("turns")
    if not isinstance(turns, list) or not turns:
        problems.append(f"{where}:{line}: conversation {item['name']!r} needs a non-empty list `turns`")
        return None
    parsed = [t for t in (_turn(raw, where, problems) for raw in turns) if t is not None]
    xfail = item.get("xfail")
    if xfail is not None and not (isinstance(xfail, str) and xfail.strip()):
        problems.append(f"{where}:{line}: xfail must be the reason, as text")
    return Conversation(item["name"].strip(), parsed, now, where, line, xfail if isinstance(xfail, str) else None)


def _turn(raw: Any, where: str, problems: list[str]) -> Turn | None:
    line = getattr(raw, "line", 0)
    if not isinstance(raw, dict) or not isinstance(raw.get("user"), str) or not raw["user"].strip():
        problems.append(f"{where}:{line}: a turn needs `user`, the line the user types")
        return None
    bad = len(problems)
    at = f"{where}:{line}"
    problems += [f"{at}: unknown key {k!r}; a turn has {sorted(TURN_KEYS)}" for k in sorted(set(raw) - TURN_KEYS)]
    if "person" in raw and not (isinstance(raw["person"], str) and raw["person"].strip()):
        problems.append(f"{at}: person must be a name such as a or b")
    if not isinstance(raw.get("restart", False), bool):
        problems.append(f"{at}: restart must be true or false")
    if "intent" in raw and not (isinstance(raw["intent"], str) and raw["intent"].strip()):
        problems.append(f"{at}: intent must be an intent name (or fallback)")
    entities = raw.get("entities")
    if entities is not None:
        if not isinstance(entities, list):
            problems.append(f"{at}: entities must be a list of {{type, text}} (value or date optional)")
        else:
            for entity in entities:
                if not isinstance(entity, dict) or not {"type", "text"} <= set(entity) or set(entity) - ENTITY_KEYS:
                    problems.append(f"{at}: an entity needs type and text (value or date optional), not {entity!r}")
                elif "date" in entity and not _is_date(entity["date"]):
                    problems.append(f"{at}: date {entity['date']!r} is not YYYY-MM-DD")
    slots = raw.get("slots")
    if slots is not None and not isinstance(slots, dict):
        problems.append(f"{at}: slots must be a mapping of slot name to value (or to {{date, time, ...}})")
    elif slots:
        for name, want in slots.items():
            if isinstance(want, dict) and "date" in want and not _is_date(want["date"]):
                problems.append(f"{at}: slot {name}: date {want['date']!r} is not YYYY-MM-DD")
    texts = {}
    for key in TEXT_LISTS:
        value = raw.get(key, [])
        value = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (str, int, float, date)) and not isinstance(v, bool) and str(v) for v in value):
            problems.append(f"{at}: {key} must be text or a list of texts")
            value = []
        texts[key] = [v if isinstance(v, str) else str(v) for v in value]  # 18, 2027-01-02: as written
    for pattern in texts["reply_matches"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(f"{at}: reply_matches {pattern!r} is not a regular expression: {exc}")
    now = _now(raw, None, where, problems)
    if len(problems) > bad:
        return None
    return Turn(raw["user"], line, str(raw.get("person", DEFAULT_PERSON)).strip(), bool(raw.get("restart", False)),
                now, raw.get("intent"), entities, dict(slots) if slots is not None else None, **texts)


def _is_date(value: Any) -> bool:
    if isinstance(value, date) and not isinstance(value, datetime):
        return True
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return True

"""Entity markup inside corpus sentences (Rasa's shape): ``[부산](region) 내일 날씨 어때``.

What is markup, exactly:

- ``[text](type)`` marks ``text`` as an entity of ``type``; ``[서울시](region:서울)`` also says that
  ``서울시`` is a synonym whose canonical value is ``서울``. The ``]`` must be followed at once by ``(``.
- A type name is ASCII: a letter, then letters, digits or ``_`` (``food``, ``region``, ``DT``).
- Square brackets must pair up and do not nest. A pair not followed by ``(`` is plain text
  (``[공지] 안녕`` stays as it is); round brackets elsewhere are plain text (``(웃음)``, ``좋아요 :)``).
- ``\\[``, ``\\]``, ``\\(``, ``\\)`` and ``\\\\`` stand for the character itself (``\\[공지\\](중요)`` is plain
  text); a backslash before any other character is kept as it is.

Errors (``MarkupError``, with the column): a ``[`` never closed, a ``]`` without ``[``, a ``[`` inside
brackets, ``[text](`` without its ``)``, an empty text or type, a type name that is not one, an empty
value after ``type:``, entity text that starts or ends with a space.
"""

from __future__ import annotations

import re

from chatbot.message import Entity

TYPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
ESCAPABLE = "[]()\\"
TEXT_SPECIAL, VALUE_SPECIAL = "[]\\", ")\\"  # what render_markup escapes in text, and in a value
MARKUP_SOURCE = "markup"  # Entity.source of a gold annotation written as markup


class MarkupError(ValueError):
    """A sentence's markup is malformed; ``column`` is 1-based in the sentence as written."""

    def __init__(self, message: str, column: int):
        super().__init__(f"{message} (column {column})")
        self.column = column


def _type_and_value(inside: str, column: int) -> tuple[str, str | None]:
    """``type`` or ``type:value`` from between the parentheses."""
    type_, colon, value = inside.partition(":")
    type_ = type_.strip()
    if not type_:
        raise MarkupError("entity markup without a type: write [text](type)", column)
    if not TYPE_NAME.fullmatch(type_):
        raise MarkupError(f"bad entity type name {type_!r}: use ASCII letters, digits and _, starting "
                          r"with a letter (write \[ or \( for a literal bracket)", column)
    if colon and not value.strip():
        raise MarkupError(f"empty value after '{type_}:': write [text]({type_}:value)", column)
    return type_, (value.strip() if colon else None)


def _parenthesised(text: str, start: int) -> tuple[str, int]:
    """What stands between ``text[start - 1]`` ("(") and the first ")" not escaped, unescaped; and that ")"."""
    inside: list[str] = []
    i = start
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in ESCAPABLE:
            inside.append(text[i + 1])
            i += 2
            continue
        if text[i] == ")":
            return "".join(inside), i
        inside.append(text[i])
        i += 1
    raise MarkupError("entity markup '[text](' is not closed with ')'", start)


def parse_markup(text: str) -> tuple[str, list[Entity]]:
    """``text`` without its markup, and the entities marked in it (offsets into the plain text).

    ``value`` is the synonym's canonical value (``[서울시](region:서울)``) or None. Raises MarkupError."""
    plain: list[str] = []
    entities: list[Entity] = []
    open_at = -1  # index in ``text`` of the open "[", -1 when none
    open_plain = 0  # length of ``plain`` when it opened
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in ESCAPABLE:
            plain.append(text[i + 1])
            i += 2
            continue
        if char == "[":
            if open_at >= 0:
                raise MarkupError(r"'[' inside brackets: brackets do not nest (write \[ for a literal one)", i + 1)
            open_at, open_plain = i, len(plain)
            plain.append(char)
        elif char == "]":
            if open_at < 0:
                raise MarkupError(r"']' without '[' before it (write \] for a literal one)", i + 1)
            if i + 1 < n and text[i + 1] == "(":
                inside, close = _parenthesised(text, i + 2)
                type_, value = _type_and_value(inside, i + 2)
                surface = "".join(plain[open_plain + 1:])
                if not surface.strip():
                    raise MarkupError("empty entity text: write [text](type)", open_at + 1)
                if surface != surface.strip():
                    raise MarkupError("entity text starts or ends with a space: put the space outside [ ]",
                                      open_at + 1)
                del plain[open_plain:]
                start = len("".join(plain))
                plain.append(surface)
                entities.append(Entity(type_, surface, start, start + len(surface), value, MARKUP_SOURCE))
                open_at = -1
                i = close + 1
                continue
            plain.append(char)
            open_at = -1
        else:
            plain.append(char)
        i += 1
    if open_at >= 0:
        raise MarkupError(r"'[' is never closed (write \[ for a literal bracket)", open_at + 1)
    return "".join(plain), entities


def _escape(text: str, special: str) -> str:
    return "".join("\\" + c if c in special else c for c in text)


def render_markup(text: str, entities: list[Entity]) -> str:
    """The inverse of ``parse_markup``: ``text`` with ``entities`` (offsets into it) written as markup.

    A value other than the entity's own text is written as a synonym (``[서울시](region:서울)``).
    ``parse_markup(render_markup(t, es))`` gives ``t`` and ``es`` back; entities must not overlap."""
    out: list[str] = []
    at = 0
    for entity in sorted(entities, key=lambda e: e.start):
        if entity.start < at:
            raise ValueError(f"overlapping entities cannot be written as markup: {entity}")
        surface = text[entity.start:entity.end]
        target = entity.type
        if entity.value is not None and entity.value != surface:
            target += ":" + _escape(str(entity.value), VALUE_SPECIAL)
        out += [_escape(text[at:entity.start], TEXT_SPECIAL), f"[{_escape(surface, TEXT_SPECIAL)}]({target})"]
        at = entity.end
    out.append(_escape(text[at:], TEXT_SPECIAL))
    return "".join(out)

"""The input boundary of a chat message: NFC, stripped, and checked once, wherever it arrives from.

``check_message`` is called by ``route_message`` (so by every bot's ``reply``) and by the web API,
which needs the checked text before the bot runs (to store it, and to answer 4xx with a fake or
degraded bot alike). Its result is a ``CheckedMessage``; checking one again returns it unchanged,
so a message that the API checked is not normalised a second time in ``Bot.reply``.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from chatbot.errors import InputError, InputTypeError

MAX_MESSAGE_CHARS = 1000


class CheckedMessage(str):
    """Message text that ``check_message`` accepted (NFC, stripped, within the limit)."""

    __slots__ = ()


def check_message(text: Any, allow_empty: bool = False) -> CheckedMessage:
    """``text`` in NFC and stripped, or an InputError with the code and Korean message the API shows.

    ``allow_empty``: a picture or a file came with the message, so the text may be missing or empty.
    The length limit applies to the text as sent (in NFC), before repeats are squashed, so nothing
    unbounded reaches the pipeline."""
    if isinstance(text, CheckedMessage) and (text or allow_empty):
        return text
    if text is None:
        if allow_empty:
            return CheckedMessage("")
        raise InputTypeError("missing_message", "메시지(message)가 없습니다.", detail="message is missing (None)")
    if not isinstance(text, str):
        raise InputTypeError("invalid_type", "메시지(message)는 문자열이어야 합니다.",
                             detail=f"message must be a string, not {type(text).__name__}")
    # NFC first: text typed on macOS arrives decomposed and would count two or three times longer.
    message = unicodedata.normalize("NFC", text).strip()
    if not message and not allow_empty:
        raise empty_message()
    if len(message) > MAX_MESSAGE_CHARS:
        korean = f"메시지가 너무 깁니다. {MAX_MESSAGE_CHARS:,}자 이하로 입력해 주세요. (현재 {len(message):,}자)"
        raise InputError("message_too_long", korean,
                         detail=f"message is longer than {MAX_MESSAGE_CHARS} characters ({len(message)}); shorten it")
    if "\x00" in message or not _encodable(message):
        raise InputError("invalid_message", "메시지에 사용할 수 없는 문자가 들어 있습니다.",
                         detail="message holds a NUL or a lone surrogate, which cannot be stored")
    return CheckedMessage(message)


def empty_message() -> InputError:
    """The error for a message with nothing in it (also one of only invisible characters, once normalised)."""
    return InputError("empty_message", "메시지가 비어 있습니다. 내용을 입력해 주세요.", detail="message is empty")


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from "\ud800" escapes cannot be stored
        return False
    return True

"""What every bot does before its own answer: check a message, and run it as a chat command when it is one.

Shared by ``chatbot.bot.Bot`` (a trained pipeline) and ``chatbot.degraded.RuleBasedBot`` (keyword
rules while no model loads), so both treat pictures, tables, ``/commands`` and forecast requests alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chatbot.commands import run_command
from chatbot.message_input import MAX_MESSAGE_CHARS, check_message, empty_message
from chatbot.nlp.normalize import normalize
from chatbot.reply import Reply

__all__ = ["MAX_MESSAGE_CHARS", "route_message"]


def route_message(bot: Any, text: str, context: dict[str, Any] | None = None, image: Any = None,
                  table: dict[str, Any] | None = None,
                  normalizer: Callable[[str], str] = normalize) -> tuple[Reply | None, str, dict[str, Any]]:
    """Validate ``text`` and answer it with a command when it is one; returns the command's reply (None
    when the bot must answer itself), the normalised text and a copy of ``context``.

    ``image``, a picture sent with the message (a PIL image, or the ``DecodedImage`` that
    ``chatbot.vision.images.load_image`` makes of uploaded bytes), goes to ``/image`` whatever the
    text says; the text may then be empty. ``table``, a CSV file (``{"data": bytes, "name": filename}``),
    goes to ``/forecast`` the same way, and so does a plain message that asks for a forecast of the
    numbers in it. A message that cannot be answered raises ``chatbot.errors.InputError`` (also a
    TypeError when ``text`` is not a string). ``normalizer`` is the bot's own (a pipeline's normalizer
    stage with its parameters), so the text is normalised once, here, for commands and pipeline alike."""
    text = check_message(text, allow_empty=image is not None or table is not None)
    context = dict(context or {})
    normalized = normalizer(text)
    if image is not None:
        context["image"] = getattr(image, "image", image)
        return run_command("/image " + normalized, bot, context), normalized, context
    if table is not None:
        context["table"] = table
        return run_command("/forecast " + normalized.removeprefix("/forecast"), bot, context), normalized, context
    if not normalized:  # only invisible characters (zero-width spaces) were sent
        raise empty_message()
    if normalized.startswith("/"):
        return run_command(normalized, bot, context), normalized, context
    from chatbot.timeseries.parse import looks_like_forecast  # cheap, but imported only when needed

    if looks_like_forecast(normalized):
        return run_command("/forecast " + normalized, bot, context), normalized, context
    return None, normalized, context

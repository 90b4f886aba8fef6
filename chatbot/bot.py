"""The one object serving code needs: ``Bot.load(model_dir).reply(text, context)``."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import sklearn

from chatbot.commands.routing import route_message
from chatbot.dialogue.state import DialogueState
from chatbot.dialogue.turn import take_turn
from chatbot.entities import to_original
from chatbot.message import Message
from chatbot.message_input import MAX_MESSAGE_CHARS, check_message
from chatbot.nlp.normalize import normalize
from chatbot.pipeline import Pipeline
from chatbot.reply import Reply

logger = logging.getLogger(__name__)
__all__ = ["MAX_MESSAGE_CHARS", "Bot", "Reply"]


class Bot:
    """A trained pipeline plus the chat commands, ready to reply."""

    def __init__(self, pipeline: Pipeline, model_dir: Path | None = None, vision: Any = None,
                 services: dict[str, Any] | None = None):
        self.pipeline = pipeline
        self.model_dir = model_dir
        self.vision = vision  # an ImageClassifier for /image, or None
        # What actions may use (chatbot.actions): "weather" (the provider's settings), "action_timeout"...
        self.services: dict[str, Any] = dict(services or {})
        # Tokenizer backends are not all documented as thread-safe; replies are ~ms, so serialise.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: str | Path, vision_model: str | Path | None = None) -> Bot:
        """Load a model directory written by ``chatbot train``, and the image model of ``/image``
        (a directory written by ``chatbot train-vision``) when one is given and exists."""
        model_dir = Path(model_dir)
        from chatbot.actions import register_builtin_actions

        register_builtin_actions()  # a trainer's CHATBOT_ACTIONS module that fails to import fails here, named
        bot = cls(Pipeline.load(model_dir), model_dir, load_vision(vision_model))
        # Tokenizers load their dictionaries on first use (seconds for Kiwi): pay that here,
        # not in the first user's reply.
        bot.pipeline.process(Message(text="안녕하세요"))
        return bot

    def normalize(self, text: str) -> str:
        """``text`` as this model's normalizer stage makes it (its ``max_repeat``), or with the defaults."""
        step = self.pipeline.find("normalizer")
        return normalize(text, step.params["max_repeat"]) if step is not None else normalize(text)

    @property
    def meta(self) -> dict[str, Any]:
        return self.pipeline.meta

    def reply(self, text: str, context: dict[str, Any] | None = None, image: Any = None,
              table: dict[str, Any] | None = None, state: dict[str, Any] | None = None) -> Reply:
        """Answer one user message. ``context`` carries conversation state (history, user name).

        ``image``, a picture sent with the message (a PIL image, or the ``DecodedImage`` that
        ``chatbot.vision.images.load_image`` makes of uploaded bytes), goes to ``/image``
        whatever the text says; the text may then be empty. ``table``, a CSV file sent with the
        message (``{"data": bytes, "name": filename}``), goes to ``/forecast`` the same way, and
        so does a plain message that asks for a forecast of the numbers in it. A message that cannot be
        answered (empty, too long, not text) raises ``chatbot.errors.InputError``.

        ``state`` is the conversation's dialogue state as the previous reply handed it back
        (``Reply.state``; None for a new conversation): the reply carries the new one, which the caller
        stores and passes with the next message (``chatbot.dialogue``). ``context["now"]`` fixes the clock,
        ``context["services"]`` adds services for actions (``reminders``: the person's ``ReminderBook``)."""
        dialogue = DialogueState.from_dict(state)
        command_reply, normalized, context = route_message(self, text, context, image, table, self.normalize)
        if command_reply is not None:
            dialogue.add_turn("user", text or "")
            dialogue.add_turn("bot", command_reply.text, command_reply.intent)
            dialogue.pending = None  # a command is a new subject
            return replace(command_reply, state=dialogue.to_dict())
        context["state"] = dialogue
        # The pipeline's own components built these inputs, so scikit-learn's per-call parameter
        # and finiteness checks (a third of a reply's time) are skipped while serving.
        with self._lock, sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            message = self.pipeline.process(Message(text=text, normalized=normalized, context=context))
        reply = take_turn(self, message, dialogue, check_message(text))
        if message.entities:
            reply.entities = [e.to_dict() for e in to_original(message.entities, check_message(text), normalized)]
        return reply

    def capabilities(self) -> list[str]:
        """Short Korean descriptions of what the bot can talk about, for help and fallback."""
        return list(self.pipeline.meta.get("capabilities", []))


def load_vision(model_dir: str | Path | None) -> Any:
    """The image model in ``model_dir``, or None (logged) when none is given or trained there yet."""
    if model_dir is None:
        return None
    from chatbot.vision.classifier import ImageClassifier, VisionModelNotFound

    try:
        return ImageClassifier.load(model_dir)
    except VisionModelNotFound as exc:
        logger.warning("/image is unavailable: %s", exc)
        return None

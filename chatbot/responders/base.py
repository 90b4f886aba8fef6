"""The responder contract, and the polite fallback reply that every responder shares."""

from __future__ import annotations

import random
from typing import Any

from chatbot.components import Component
from chatbot.message import Message, TrainingData
from chatbot.responders.templates import render

FALLBACK_TEXT = (
    "죄송해요, 무슨 말씀인지 잘 이해하지 못했어요 🙏 저는 {topics} 같은 이야기를 할 수 있어요. "
    "다르게 말씀해 주시거나 /help 를 입력해 보세요."
)


class Responder(Component):
    """A pipeline's last stage: writes ``message.reply``.

    Subclasses implement ``respond(message, context) -> str`` and may set
    ``message.reply_source``. When the fallback detector flagged the message, the shared
    ``fallback_reply`` answers instead, with suggestions of what the bot can do.
    """

    defaults = {"bot_name": "한결", "timezone": "Asia/Seoul", "seed": None, "suggestions": 3}

    def fit(self, data: TrainingData) -> Responder:
        self.responses_ = {k: list(v) for k, v in data.responses.items() if v}
        self.descriptions_ = dict(data.descriptions)
        examples: dict[str, str] = {}
        for m in data.messages:
            if m.gold_intent in self.descriptions_ and m.gold_intent not in examples:
                examples[m.gold_intent] = m.normalized or m.text
        self.examples_ = examples
        return self

    @property
    def rng(self) -> random.Random:
        if not hasattr(self, "_rng"):
            self._rng = random.Random(self.params["seed"])
        return self._rng

    def render(self, template: str, message: Message) -> str:
        return render(template, message.normalized or message.text, self.params["bot_name"], self.params["timezone"])

    def respond(self, message: Message, context: dict[str, Any]) -> str:
        """Return the reply text for an in-domain message."""
        raise NotImplementedError

    def fallback_reply(self, message: Message, context: dict[str, Any]) -> str:
        """A polite 'I did not understand' with a few things the bot can talk about."""
        intents = sorted(self.examples_)
        picks = self.rng.sample(intents, min(self.params["suggestions"], len(intents)))
        context["suggestions"] = [self.examples_[i] for i in picks] + ["/help"]
        topics = ", ".join(f"'{self.descriptions_[i]}'" for i in picks) or "간단한 대화"
        message.reply_source = "fallback"
        return FALLBACK_TEXT.format(topics=topics)

    def process(self, message: Message) -> Message:
        if message.fallback:
            message.reply = self.fallback_reply(message, message.context)
        else:
            message.reply = self.respond(message, message.context)
        return message

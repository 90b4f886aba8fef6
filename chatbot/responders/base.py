"""The responder contract, and the polite fallback reply that every responder shares."""

from __future__ import annotations

import random
import re
from typing import Any

import numpy as np

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

    provides = ("reply",)  # a fallback detector before it is optional: without one nothing falls back
    # response_overlap: the character n-gram cosine an intent response needs with the message to be
    # preferred over the others (0 turns the preference off: always a random response).
    defaults = {"bot_name": "한결", "timezone": "Asia/Seoul", "seed": None, "suggestions": 3,
                "response_overlap": 0.1}

    def fit(self, data: TrainingData) -> Responder:
        self.responses_ = {k: list(v) for k, v in data.responses.items() if v}
        self.response_vectors_ = ResponseVectors(self.responses_) if self.responses_ else None
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

    def intent_response(self, message: Message) -> str:
        """One of the predicted intent's responses, rendered: at random, or among those sharing words with the message.

        An intent's responses often cover different cases ("music_movie" has a reply about films and
        one about songs): a response whose character n-grams match the message (cosine at least
        ``response_overlap``) is preferred, at random among those within half of the best match;
        with no match every response stays in the draw."""
        responses = self.responses_[message.intent]
        vectors = getattr(self, "response_vectors_", None)  # models saved before it existed have none
        if vectors is not None and self.params.get("response_overlap", 0) > 0:
            scores = vectors.similarities(message.intent, message.normalized or message.text)
            best = float(scores.max()) if len(scores) else 0.0
            if best >= self.params["response_overlap"]:
                responses = [r for r, s in zip(responses, scores, strict=True) if s >= best / 2]
        return self.render(self.rng.choice(responses), message)

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


class ResponseVectors:
    """Character 2-3-gram TF-IDF vectors of every intent response (template fields left out).

    Weighted over all the corpus's responses, so the endings every reply shares (요, 세요) count
    for little and topic words (영화, 시험) for much."""

    def __init__(self, responses: dict[str, list[str]]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True)
        texts = [_plain(r) for rs in responses.values() for r in rs]
        matrix = self.vectorizer.fit_transform(texts)
        self.rows: dict[str, np.ndarray] = {}  # dense: a few responses an intent, indexed by a message's columns
        start = 0
        for intent, rs in responses.items():
            self.rows[intent] = matrix[start:start + len(rs)].toarray()
            start += len(rs)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "_fast"}  # rebuilt after loading

    def similarities(self, intent: str, text: str) -> np.ndarray:
        """Cosine of ``text`` to each response of ``intent`` (TF-IDF rows are L2-normalised)."""
        from chatbot.nlp.features import FastTfidf

        rows = self.rows.get(intent)
        if rows is None:
            return np.zeros(0)
        if getattr(self, "_fast", None) is None:
            self._fast = FastTfidf(self.vectorizer)
        columns, values = self._fast.row(text)
        return rows[:, columns] @ values


def _plain(template: str) -> str:
    return re.sub(r"\{[a-z_]+\}", " ", template)

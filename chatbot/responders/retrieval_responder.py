"""Retrieval: answer with the reply of the closest training question, or an intent-level response."""

from __future__ import annotations

from typing import Any

import numpy as np

from chatbot.message import Message, TrainingData
from chatbot.nlp.features import stack_features
from chatbot.responders.base import Responder


class RetrievalResponder(Responder):
    """Nearest-question retrieval over the featurizer's vectors (cosine).

    The nearest training question's own answer is used when it has one and either belongs to
    the predicted intent or is at least ``min_similarity`` close; otherwise one of the predicted
    intent's responses is chosen at random (templates filled in).
    """

    name = "retrieval_responder"
    requires = ("features",)  # the predicted intent helps, when there is one
    defaults = {**Responder.defaults, "min_similarity": 0.5, "ood_label": "OOD"}

    def fit(self, data: TrainingData) -> RetrievalResponder:
        super().fit(data)
        rows = [m for m in data.messages if m.gold_intent != self.params["ood_label"]]
        if not rows:
            raise ValueError("the retrieval responder needs at least one in-domain training message")
        self.questions_ = stack_features(rows)
        self.answers_ = [m.gold_answer or None for m in rows]
        self.intents_ = [m.gold_intent for m in rows]
        return self

    def absorb(self, messages: list[Message]) -> int:
        """Add processed held-out messages to the index without refitting; returns how many were added.

        Training calls this when it keeps the validation fit (a pipeline with a network is not
        refitted), so the validation split's questions and answers still reach the index."""
        rows = [m for m in messages if m.gold_intent and m.gold_intent != self.params["ood_label"]
                and m.features is not None]
        if rows:
            import scipy.sparse as sp

            self.questions_ = sp.vstack([self.questions_, stack_features(rows)], format="csr")
            self.answers_ += [m.gold_answer or None for m in rows]
            self.intents_ += [m.gold_intent for m in rows]
        return len(rows)

    def nearest(self, message: Message) -> tuple[int, float]:
        """Index and cosine similarity of the closest training question."""
        # A dense copy of the message's row: the same sums, in the same order, as the sparse product,
        # which cost most of a reply's retrieval time in building sparse matrices.
        features = message.features
        if getattr(features, "format", None) == "csr" and features.shape[0] == 1:
            vector = np.zeros(features.shape[1])
            vector[features.indices] = features.data
            sims = self.questions_ @ vector
        else:
            sims = (self.questions_ @ features.T).toarray().ravel()
        best = int(np.argmax(sims))
        return best, float(sims[best])

    def respond(self, message: Message, context: dict[str, Any]) -> str:
        best, similarity = self.nearest(message)
        answer = self.answers_[best]
        same_intent = self.intents_[best] == message.intent
        context["retrieval_similarity"] = round(similarity, 4)
        if answer and (same_intent or similarity >= self.params["min_similarity"]):
            message.reply_source = "retrieval:answer"
            return self.render(answer, message)
        if self.responses_.get(message.intent):
            message.reply_source = "retrieval:intent"
            return self.intent_response(message)
        if answer:
            message.reply_source = "retrieval:answer"
            return self.render(answer, message)
        message.reply_source = "retrieval:none"
        return "음, 뭐라고 답해야 할지 모르겠어요. 조금 더 이야기해 주실래요?"

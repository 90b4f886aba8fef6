"""Fallback detection that works without out-of-domain training data.

Three signals, each with a threshold:
- **novelty**: the cosine similarity between a message and its nearest training example.
  Out-of-domain text shares few lemma and character n-grams with anything the bot was
  trained on, so its nearest neighbour is far;
- **unknown words**: the share of its content lemmas (nouns, verbs, adjectives, adverbs,
  foreign words) never seen in training;
- **confidence**: the classifier's calibrated probability of its top intent.

A message falls back when any of them crosses its threshold, or when the classifier itself
predicts the ``OOD`` class (it learns one when the corpus has rows labelled ``OOD``). ``fit`` sets the novelty threshold
from leave-one-out nearest-neighbour similarities of the training data itself. ``tune``, called
by training with held-out messages, sets both thresholds so that ``target_kept`` of held-out
in-domain messages are kept while as many as possible of the rest are caught: rows labelled
``OOD`` where a corpus has them, otherwise the in-domain messages the classifier got wrong.
"""

from __future__ import annotations

import numpy as np

from chatbot.components import Component
from chatbot.message import Message, TrainingData
from chatbot.nlp.features import stack_features
from chatbot.nlp.pos import coarse_pos

CONTENT = {"NOUN", "VERB", "ADJ", "ADV", "LATIN", "FOREIGN", "ROOT"}

_OFF = 1.01  # an unknown-word threshold that never fires
_QUANTILES = (0.0, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1, 0.15)


class FallbackDetector(Component):
    """Sets ``message.fallback`` (and ``fallback_reason``) from novelty and confidence."""

    name = "fallback_detector"
    defaults = {
        "min_similarity": "auto",
        "min_confidence": "auto",
        "max_unknown": "auto",
        "target_kept": 0.98,
        "ood_label": "OOD",
        "max_reference": 50_000,
        "seed": 0,
    }

    def fit(self, data: TrainingData) -> FallbackDetector:
        p = self.params
        messages = [m for m in data.messages if m.gold_intent and m.gold_intent != p["ood_label"]]
        rng = np.random.default_rng(p["seed"])
        if len(messages) > p["max_reference"]:
            keep = rng.choice(len(messages), p["max_reference"], replace=False)
            messages = [messages[i] for i in sorted(keep)]
        self.reference_ = stack_features(messages)
        self.vocabulary_ = {lemma for m in messages for lemma in content_lemmas(m)}
        self.min_similarity_ = self._fixed("min_similarity")
        if self.min_similarity_ is None:
            sample = rng.choice(len(messages), min(len(messages), 2000), replace=False)
            loo = self._nearest(self.reference_[sample], exclude=sample)
            self.min_similarity_ = float(np.quantile(loo, (1 - p["target_kept"]) / 2))
        self.min_confidence_ = self._fixed("min_confidence") or 0.0
        self.max_unknown_ = self._fixed("max_unknown")
        if self.max_unknown_ is None:
            self.max_unknown_ = 1.0  # "every content word is new" until tune() says otherwise
        return self

    def unknown_ratio(self, message: Message) -> float:
        """Share of the message's content lemmas that training never saw (0 when it has none)."""
        lemmas = content_lemmas(message)
        return sum(lemma not in self.vocabulary_ for lemma in lemmas) / len(lemmas) if lemmas else 0.0

    def _fixed(self, key: str) -> float | None:
        value = self.params[key]
        return None if value in (None, "auto") else float(value)

    def _nearest(self, rows, exclude=None) -> np.ndarray:
        """Cosine similarity of each row to its nearest reference example (rows are unit vectors)."""
        best = np.empty(rows.shape[0])
        for lo in range(0, rows.shape[0], 512):
            sims = (rows[lo:lo + 512] @ self.reference_.T).toarray()
            if exclude is not None:
                sims[np.arange(sims.shape[0]), exclude[lo:lo + 512]] = -1.0
            best[lo:lo + 512] = sims.max(axis=1)
        return best

    def tune(self, messages: list[Message]) -> dict[str, float]:
        """Choose the thresholds on held-out messages processed up to this stage."""
        sims = self._nearest(stack_features(messages))
        conf = np.array([m.confidence for m in messages])
        unknown = np.array([self.unknown_ratio(m) for m in messages])
        ood = np.array([m.gold_intent == self.params["ood_label"] for m in messages])
        wrong = np.array([m.intent != m.gold_intent for m in messages]) & ~ood
        right = ~ood & ~wrong
        predicted_ood = np.array([m.intent == self.params["ood_label"] for m in messages])
        current = {"min_similarity": self.min_similarity_, "min_confidence": self.min_confidence_,
                   "max_unknown": self.max_unknown_}
        if not right.any():
            return current
        target, best_score = self.params["target_kept"], (-1, 0.0)
        for s in sorted({0.0, *np.quantile(sims[~ood], _QUANTILES)}):
            for c in sorted({0.0, *np.quantile(conf[~ood], _QUANTILES)}):
                for u in sorted({_OFF, 1.0, *np.quantile(unknown[~ood], [1 - q for q in _QUANTILES])}):
                    caught = (sims < s) | (conf < c) | (unknown >= u) | predicted_ood
                    kept = 1.0 - caught[right].mean()
                    score = (int(caught[ood | wrong].sum()), -kept)  # catch most, then use the budget
                    if kept >= target and score > best_score:
                        best_score = score
                        current = {"min_similarity": float(s), "min_confidence": float(c), "max_unknown": float(u)}
        self.min_similarity_, self.min_confidence_, self.max_unknown_ = current.values()
        return current

    def process_batch(self, messages: list[Message]) -> list[Message]:
        if not messages:
            return messages
        sims = self._nearest(stack_features(messages))
        for message, sim in zip(messages, sims, strict=True):
            message.context["similarity"] = round(float(sim), 4)
            reasons = ["ood_intent"] if message.intent == self.params["ood_label"] else []
            if sim < self.min_similarity_:
                reasons.append("novel")
            if message.confidence < self.min_confidence_:
                reasons.append("low_confidence")
            if self.unknown_ratio(message) >= self.max_unknown_:
                reasons.append("unknown_words")
            message.fallback, message.fallback_reason = bool(reasons), "+".join(reasons)
        return messages

    def process(self, message: Message) -> Message:
        return self.process_batch([message])[0]


def content_lemmas(message: Message) -> list[str]:
    """Lemmas of the content words of a processed message."""
    return [(t.lemma or t.form).lower() for t in message.tokens if coarse_pos(t.pos) in CONTENT]

"""Fallback detection that works without out-of-domain training data.

Two signals, each with a threshold:
- **novelty**: the cosine similarity between a message and its nearest training example.
  Out-of-domain text shares few lemma and character n-grams with anything the bot was
  trained on, so its nearest neighbour is far;
- **confidence**: the classifier's calibrated probability of its top intent.

A message falls back when either is below its threshold. ``fit`` sets the novelty threshold
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

_QUANTILES = (0.0, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1, 0.15)


class FallbackDetector(Component):
    """Sets ``message.fallback`` (and ``fallback_reason``) from novelty and confidence."""

    name = "fallback_detector"
    defaults = {
        "min_similarity": "auto",
        "min_confidence": "auto",
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
        self.min_similarity_ = self._fixed("min_similarity")
        if self.min_similarity_ is None:
            sample = rng.choice(len(messages), min(len(messages), 2000), replace=False)
            loo = self._nearest(self.reference_[sample], exclude=sample)
            self.min_similarity_ = float(np.quantile(loo, (1 - p["target_kept"]) / 2))
        self.min_confidence_ = self._fixed("min_confidence") or 0.0
        return self

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
        """Choose both thresholds on held-out messages processed up to this stage."""
        sims = self._nearest(stack_features(messages))
        conf = np.array([m.confidence for m in messages])
        ood = np.array([m.gold_intent == self.params["ood_label"] for m in messages])
        wrong = np.array([m.intent != m.gold_intent for m in messages]) & ~ood
        right = ~ood & ~wrong
        if not right.any():
            return {"min_similarity": self.min_similarity_, "min_confidence": self.min_confidence_}
        target = self.params["target_kept"]
        sim_grid = sorted({0.0, *np.quantile(sims[~ood], _QUANTILES)})
        conf_grid = sorted({0.0, *np.quantile(conf[~ood], _QUANTILES)})
        best, best_score = (0.0, 0.0), (-1, 0.0)
        for s in sim_grid:
            for c in conf_grid:
                caught = (sims < s) | (conf < c)
                kept = 1.0 - caught[right].mean()
                if kept < target:
                    continue
                score = (int(caught[ood | wrong].sum()), -kept)  # catch most, then use the budget
                if score > best_score:
                    best, best_score = (float(s), float(c)), score
        self.min_similarity_, self.min_confidence_ = best
        return {"min_similarity": best[0], "min_confidence": best[1]}

    def process_batch(self, messages: list[Message]) -> list[Message]:
        if not messages:
            return messages
        sims = self._nearest(stack_features(messages))
        for message, sim in zip(messages, sims, strict=True):
            message.context["similarity"] = round(float(sim), 4)
            reasons = []
            if sim < self.min_similarity_:
                reasons.append("novel")
            if message.confidence < self.min_confidence_:
                reasons.append("low_confidence")
            message.fallback, message.fallback_reason = bool(reasons), "+".join(reasons)
        return messages

    def process(self, message: Message) -> Message:
        return self.process_batch([message])[0]

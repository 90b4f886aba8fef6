"""Fallback detection that works without out-of-domain training data.

Four signals, each with a threshold; a message falls back when any of them says "novel":
- **similarity**: cosine similarity to the nearest training example. Out-of-domain text shares
  few lemma and character n-grams with anything the bot was trained on;
- **margin**: the classifier's top decision score (max-logit), a stronger out-of-domain score
  than the calibrated probability, which softmax flattens;
- **unknown words**: the share of content lemmas (nouns, verbs, adjectives, adverbs, foreign
  words) never seen in training;
- **unseen bigrams**: the share of lemma bigrams never seen in training (known words in
  combinations the domain does not use).
It also falls back when the classifier predicts the ``OOD`` class, which it learns when a corpus
has rows labelled ``OOD``.

Thresholds come from held-out messages (``tune``, called by training). With no ``OOD`` rows,
the signals share the false-rejection budget ``1 - target_kept`` of held-out in-domain messages:
the ratio signals take an even share, then the similarity and margin thresholds rise together
until all the signals reject the whole budget (``_budget``). With ``OOD`` rows, a grid search
keeps ``target_kept`` of correctly classified in-domain messages and catches the most ``OOD`` and
misclassified ones. Before tuning, ``fit`` sets the similarity threshold from leave-one-out
nearest-neighbour similarities of the training data itself.
"""

from __future__ import annotations

import itertools

import numpy as np

from chatbot.components import Component
from chatbot.message import Message, TrainingData
from chatbot.nlp.features import stack_features
from chatbot.nlp.pos import coarse_pos

CONTENT = {"NOUN", "VERB", "ADJ", "ADV", "LATIN", "FOREIGN", "ROOT"}
OFF = 1.01  # a ratio threshold that never fires
RATIO_STEPS = (0.34, 0.5, 0.67, 0.8, 1.0)
_QUANTILES = (0.0, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1)
SIGNALS = ("min_similarity", "min_margin", "max_unknown", "max_unseen_bigrams")


def content_lemmas(message: Message) -> list[str]:
    """Lemmas of the content words of a processed message."""
    return [(t.lemma or t.form).lower() for t in message.tokens if coarse_pos(t.pos) in CONTENT]


def lemma_bigrams(message: Message) -> list[tuple[str, str]]:
    lemmas = [(t.lemma or t.form).lower() for t in message.tokens]
    return list(zip(lemmas, lemmas[1:], strict=False))


def _ratio(items: list, known: set) -> float:
    return sum(x not in known for x in items) / len(items) if items else 0.0


class FallbackDetector(Component):
    """Sets ``message.fallback`` (and ``fallback_reason``) from novelty signals."""

    name = "fallback_detector"
    defaults = {
        "min_similarity": "auto",
        "min_margin": "auto",
        "max_unknown": "auto",
        "max_unseen_bigrams": "auto",
        "min_confidence": 0.0,
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
            messages = [messages[i] for i in sorted(rng.choice(len(messages), p["max_reference"], replace=False))]
        self.reference_ = stack_features(messages)
        self.vocabulary_ = {lemma for m in messages for lemma in content_lemmas(m)}
        self.bigrams_ = {b for m in messages for b in lemma_bigrams(m)}
        fixed = {k: self._fixed(k) for k in SIGNALS}
        if fixed["min_similarity"] is None:
            sample = rng.choice(len(messages), min(len(messages), 2000), replace=False)
            loo = self._nearest(self.reference_[sample], exclude=sample)
            fixed["min_similarity"] = float(np.quantile(loo, (1 - p["target_kept"]) / len(SIGNALS)))
        defaults = {"min_margin": -np.inf, "max_unknown": OFF, "max_unseen_bigrams": OFF}
        self.thresholds_ = {k: v if v is not None else defaults[k] for k, v in fixed.items()}
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

    def signals(self, messages: list[Message]) -> dict[str, np.ndarray]:
        """Each signal's value per message, keyed by its threshold's name."""
        return {
            "min_similarity": self._nearest(stack_features(messages)),
            "min_margin": np.array([m.context.get("margin", m.confidence) for m in messages]),
            "max_unknown": np.array([_ratio(content_lemmas(m), self.vocabulary_) for m in messages]),
            "max_unseen_bigrams": np.array([_ratio(lemma_bigrams(m), self.bigrams_) for m in messages]),
        }

    @staticmethod
    def _flags(values: dict[str, np.ndarray], thresholds: dict[str, float]) -> dict[str, np.ndarray]:
        return {
            "novel": values["min_similarity"] < thresholds["min_similarity"],
            "low_margin": values["min_margin"] < thresholds["min_margin"],
            "unknown_words": values["max_unknown"] >= thresholds["max_unknown"],
            "unseen_bigrams": values["max_unseen_bigrams"] >= thresholds["max_unseen_bigrams"],
        }

    def tune(self, messages: list[Message]) -> dict[str, float]:
        """Choose the thresholds on held-out messages processed up to this stage."""
        values = self.signals(messages)
        ood = np.array([m.gold_intent == self.params["ood_label"] for m in messages])
        wrong = np.array([m.intent != m.gold_intent for m in messages]) & ~ood
        right = ~ood & ~wrong
        if right.any():
            auto = [k for k in SIGNALS if self._fixed(k) is None]
            search = self._grid if ood.any() else self._budget
            self.thresholds_.update(search(values, auto, ~ood, right, ood | wrong))
        return {k: float(v) for k, v in self.thresholds_.items()}

    def _candidates(self, key: str, values: np.ndarray) -> list[float]:
        if key.startswith("max_"):
            return [OFF, *RATIO_STEPS]
        return sorted({-np.inf, *np.quantile(values, _QUANTILES)})

    def _budget(self, values, auto, in_domain, right, catch) -> dict[str, float]:
        """No OOD rows: the signals share the false-rejection budget of held-out in-domain rows.

        Each ratio signal first takes the lowest step that rejects no more than an even share.
        Those steps are coarse and usually reject much less than their share, and the signals
        overlap, so an even split alone leaves budget unused. The similarity and margin
        thresholds are then raised together, to a common quantile of their in-domain values,
        until the union of all the signals rejects the whole budget and no more."""
        budget = 1 - self.params["target_kept"]
        share = budget / max(1, len(auto))
        chosen = {}
        for key in (k for k in auto if k.startswith("max_")):
            v = values[key][in_domain]
            chosen[key] = next((s for s in RATIO_STEPS if np.mean(v >= s) <= share), OFF)
        continuous = [k for k in auto if k.startswith("min_")]
        if not continuous:
            return chosen

        def at(q: float) -> dict[str, float]:
            return {k: float(np.quantile(values[k][in_domain], q, method="lower")) for k in continuous}

        def rejected(q: float) -> float:
            thresholds = {**self.thresholds_, **chosen, **at(q)}
            flags = self._flags({k: v[in_domain] for k, v in values.items()}, thresholds)
            return float(np.logical_or.reduce(list(flags.values())).mean())

        low, high = 0.0, budget  # one signal alone at quantile q rejects at most q
        if rejected(low) > budget:  # the ratio signals already spent it: fall back to even shares
            return {**chosen, **at(share)}
        for _ in range(30):
            mid = (low + high) / 2
            low, high = (mid, high) if rejected(mid) <= budget else (low, mid)
        return {**chosen, **at(low)}

    def _grid(self, values, auto, in_domain, right, catch) -> dict[str, float]:
        """OOD rows present: keep target_kept of correct in-domain rows, catch the most of the rest."""
        grids = [self._candidates(k, values[k][in_domain]) for k in auto]
        best, best_score = {}, (-1, 0.0)
        for combo in itertools.product(*grids):
            thresholds = {**self.thresholds_, **dict(zip(auto, combo, strict=True))}
            caught = np.logical_or.reduce(list(self._flags(values, thresholds).values()))
            kept = 1.0 - caught[right].mean()
            score = (int(caught[catch].sum()), -kept)  # catch most, then use the budget
            if kept >= self.params["target_kept"] and score > best_score:
                best, best_score = dict(zip(auto, combo, strict=True)), score
        return best

    def process_batch(self, messages: list[Message]) -> list[Message]:
        if not messages:
            return messages
        values = self.signals(messages)
        flags = self._flags(values, self.thresholds_)
        for i, message in enumerate(messages):
            message.context["similarity"] = round(float(values["min_similarity"][i]), 4)
            reasons = ["ood_intent"] if message.intent == self.params["ood_label"] else []
            reasons += [name for name, flag in flags.items() if flag[i]]
            if message.confidence < self.params["min_confidence"]:
                reasons.append("low_confidence")
            message.fallback, message.fallback_reason = bool(reasons), "+".join(reasons)
        return messages

    def process(self, message: Message) -> Message:
        return self.process_batch([message])[0]

"""Retrieval: answer with the reply of the closest training question, or an intent-level response."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse as sp

from chatbot.message import Message, TrainingData
from chatbot.nlp.features import TfidfFeaturizer, stack_features
from chatbot.responders import matching as mt
from chatbot.responders.base import Responder

log = logging.getLogger(__name__)

# A batch's similarities are computed a chunk of messages at a time, one sparse product each, with at
# most this many cells (chunk x training questions, float64) in the dense result: 32 MB.
CHUNK_CELLS = 4_000_000


class RetrievalResponder(Responder):
    """Nearest-question retrieval (cosine), over the pipeline's features or a featurisation of its own.

    The nearest training question's own answer is used when it has one and either belongs to
    the predicted intent or is at least ``min_similarity`` close; otherwise one of the predicted
    intent's responses is chosen at random (templates filled in).

    ``matching`` says how questions are compared: ``"shared"`` uses ``message.features`` (the
    pipeline's featurizer, chosen for intent classification; what models saved before the
    parameter existed do); a dict is the parameters of a ``TfidfFeaturizer`` the responder fits on
    its own rows; ``"auto"`` chooses between the shared features and a few such featurizers by answer
    accuracy on held-out question/answer pairs (``chatbot.responders.matching``), and is the shared
    features when the corpus has too few pairs. The table of scores is ``matching_scores_``, and
    ``tune`` pins the choice, so that training's refit on all the rows does not choose again.
    """

    name = "retrieval_responder"
    requires = ("features",)  # the predicted intent helps, when there is one
    defaults = {**Responder.defaults, "min_similarity": 0.5, "ood_label": "OOD", "matching": mt.AUTO}

    def needs(self) -> tuple[str, ...]:
        matching = self.params["matching"]
        if isinstance(matching, dict):  # its own featurizer reads what a TfidfFeaturizer reads
            return TfidfFeaturizer(**matching).needs()
        return self.requires

    def fit(self, data: TrainingData) -> RetrievalResponder:
        super().fit(data)
        rows = [m for m in data.messages if m.gold_intent != self.params["ood_label"]]
        if not rows:
            raise ValueError("the retrieval responder needs at least one in-domain training message")
        matching = self.params["matching"]
        self.matching_scores_: dict[str, Any] = {}
        if matching == mt.AUTO:
            matching = self._choose(data, rows)
        elif matching == mt.SHARED or isinstance(matching, dict):
            # Given by the config, or pinned by ``tune`` after the validation fit chose it (whose table
            # of scores is on that fit's responder).
            self.matching_scores_ = {"chosen": mt.describe(matching), "reason": "given (matching parameter)"}
        else:
            raise ValueError(f"{self.name}: matching must be 'shared', 'auto' or TfidfFeaturizer parameters, "
                             f"not {matching!r}")
        self.matching_ = matching
        self.matcher_ = self._fit_matcher(matching, data, rows)
        self.questions_ = self._vectors(rows)
        self.answers_ = [m.gold_answer or None for m in rows]
        self.intents_ = [m.gold_intent for m in rows]
        return self

    @staticmethod
    def _fit_matcher(matching: Any, data: TrainingData, rows: list[Message]) -> TfidfFeaturizer | None:
        if matching == mt.SHARED:
            return None
        return TfidfFeaturizer(**matching).fit(data.with_messages(rows))

    def _choose(self, data: TrainingData, rows: list[Message]) -> Any:
        """The "auto" choice: every candidate scored by answer accuracy on a seeded share of the pairs."""
        pairs = [i for i, m in enumerate(rows) if m.gold_answer]
        seed = self.params["seed"] if self.params["seed"] is not None else 0
        held = [pairs[i] for i in mt.held_out_pairs(len(pairs), seed)]
        if not held:
            self.matching_scores_ = {"chosen": mt.SHARED, "pairs": len(pairs),
                                     "reason": f"{len(pairs)} question/answer pairs: too few to hold out "
                                               f"{mt.MIN_HELD_OUT} (auto is the shared features)"}
            return mt.SHARED
        held_set = set(held)
        rest = [m for i, m in enumerate(rows) if i not in held_set]
        index = [m for m in rest if m.gold_answer]  # the answers a held-out question can retrieve
        queries = [rows[i] for i in held]
        gold = [m.gold_answer or "" for m in queries]

        def retrieve(matching: Any) -> list[str]:
            matcher = self._fit_matcher(matching, data, rest)
            best, _ = nearest_rows(self._vectors(queries, matcher), transposed(self._vectors(index, matcher)))
            return [index[i].gold_answer or "" for i in best]

        chosen, summary = mt.choose(retrieve, gold)
        self.matching_scores_ = {"chosen": summary["chosen"], "pairs": len(pairs), "held_out": len(held),
                                 "seed": seed, **{k: v for k, v in summary.items() if k != "chosen"}}
        log.info("retrieval matching on %d held-out pairs: %s chosen %s", len(held), summary["chosen"],
                 {k: v for k, v in summary.items() if k != "chosen"})
        return chosen

    def tune(self, messages: list[Message]) -> dict[str, Any]:
        """Pin the matching chosen (as the classifier pins its model): a refit on all the data keeps it."""
        matching: Any = getattr(self, "matching_", mt.SHARED)
        return {"matching": dict(matching) if isinstance(matching, dict) else matching}

    def _vectors(self, messages: list[Message], matcher: TfidfFeaturizer | None | bool = False) -> sp.csr_matrix:
        """The matching's rows for messages: the shared features, or the responder's own featurizer's."""
        if matcher is False:
            matcher = getattr(self, "matcher_", None)  # models saved before ``matching`` have none: shared
        if matcher is None:
            return stack_features(messages)
        assert isinstance(matcher, TfidfFeaturizer)
        if len(messages) == 1:
            return matcher.transform_one(messages[0])
        return matcher.transform(messages)

    def absorb(self, messages: list[Message]) -> int:
        """Add processed held-out messages to the index without refitting; returns how many were added.

        Training calls this when it keeps the validation fit (a pipeline with a network is not
        refitted), so the validation split's questions and answers still reach the index. With a
        featurizer of its own, the responder vectorises them itself (its vocabulary stays as fitted)."""
        own = getattr(self, "matcher_", None) is not None
        rows = [m for m in messages if m.gold_intent and m.gold_intent != self.params["ood_label"]
                and (own or m.features is not None)]
        if rows:
            self.questions_ = sp.vstack([self.questions_, self._vectors(rows)], format="csr")
            self.answers_ += [m.gold_answer or None for m in rows]
            self.intents_ += [m.gold_intent for m in rows]
        return len(rows)

    def nearest(self, message: Message) -> tuple[int, float]:
        """Index and cosine similarity of the closest training question."""
        # A dense copy of the message's row: the same sums, in the same order, as the sparse product,
        # which cost most of a reply's retrieval time in building sparse matrices.
        features = self._vectors([message])
        if getattr(features, "format", None) == "csr" and features.shape[0] == 1:
            vector = np.zeros(features.shape[1])
            vector[features.indices] = features.data
            sims = self.questions_ @ vector
        else:
            sims = (self.questions_ @ features.T).toarray().ravel()
        best = int(np.argmax(sims))
        return best, float(sims[best])

    def nearest_batch(self, messages: list[Message]) -> tuple[np.ndarray, np.ndarray]:
        """``nearest`` of many messages: their rows at once, one sparse product per chunk of them."""
        if len(messages) == 1:
            best, similarity = self.nearest(messages[0])
            return np.array([best]), np.array([similarity])
        return nearest_rows(self._vectors(messages), self._questions_t())

    def _questions_t(self) -> sp.csr_matrix:
        """The index transposed (CSR), made once per index (not saved)."""
        cached = getattr(self, "_questions_t_cache", None)
        if cached is None or cached[0] is not self.questions_:
            self._questions_t_cache = (self.questions_, transposed(self.questions_))
        return self._questions_t_cache[1]

    def respond(self, message: Message, context: dict[str, Any]) -> str:
        return self._reply(message, context, *self.nearest(message))

    def _reply(self, message: Message, context: dict[str, Any], best: int | None, similarity: float) -> str:
        """The reply given the nearest question (``best``; None: not looked up, the corpus has no answers)."""
        answer = self.answers_[best] if best is not None else None
        same_intent = best is not None and self.intents_[best] == message.intent
        if best is not None:
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

    def process_batch(self, messages: list[Message]) -> list[Message]:
        """Every answered message's nearest question in one go, then the replies in order (the same
        replies, random draws included, as ``process`` one message at a time)."""
        answering = [m for m in messages if not m.fallback]
        found: dict[int, tuple[int | None, float]] = {}
        if any(self.answers_):  # an intent-only corpus (3i4K) has no stored answer to look up: no search
            if len(answering) < 2:
                return [self.process(m) for m in messages]
            best, sims = self.nearest_batch(answering)
            found = {id(m): (int(b), float(s)) for m, b, s in zip(answering, best, sims, strict=True)}
        for message in messages:
            if message.fallback:
                message.reply = self.fallback_reply(message, message.context)
            else:
                message.reply = self._reply(message, message.context, *found.get(id(message), (None, 0.0)))
        return messages

    def learned_state(self) -> dict[str, Any]:
        state = super().learned_state()
        if state.get("matcher_") is not None:  # its fitted vectorizers, without the caches built when serving
            state["matcher_"] = portable(state["matcher_"])
        return state

    def __getstate__(self) -> dict[str, Any]:
        """Pickled inside another component's state (the hybrid responder's): no caches."""
        state = {k: v for k, v in vars(self).items() if k != "_questions_t_cache"}
        if state.get("matcher_") is not None:
            state["matcher_"] = portable(state["matcher_"])
        return state


def portable(featurizer: TfidfFeaturizer) -> TfidfFeaturizer:
    """A copy of a fitted featurizer with its learned state only (the serving caches are rebuilt on use)."""
    copy = TfidfFeaturizer(**featurizer.params)
    vars(copy).update(featurizer.learned_state())
    return copy


def transposed(matrix: sp.csr_matrix) -> sp.csr_matrix:
    return matrix.T.tocsr()


def nearest_rows(rows: sp.csr_matrix, index_t: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the column of ``rows @ index_t`` with the highest value (the first on a tie) and
    that value: a chunk of rows per sparse product, densified for the argmax."""
    n = rows.shape[0]
    best, sims = np.zeros(n, dtype=np.int64), np.zeros(n)
    chunk = max(1, CHUNK_CELLS // max(1, index_t.shape[1]))
    for lo in range(0, n, chunk):
        block = (rows[lo:lo + chunk] @ index_t).toarray()
        top = block.argmax(axis=1)
        best[lo:lo + chunk] = top
        sims[lo:lo + chunk] = block[np.arange(block.shape[0]), top]
    return best, sims

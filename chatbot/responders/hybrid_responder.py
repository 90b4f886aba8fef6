"""Hybrid responder: retrieval when the nearest training question is close enough, seq2seq otherwise.

Retrieval gives exact, human-written answers to questions the corpus already covers; the seq2seq
network answers the rest instead of a wrong canned reply. The cut-off is the cosine similarity of
the nearest training question (``min_similarity``). Training sets it on the held-out split
(``tune``): every candidate threshold is scored by the corpus BLEU-4 of the mixed replies, and the
best one is kept (references: a row's own answer, else its intent's responses). The table of
candidates and the choice are written to ``hybrid.json`` in the component's directory, and each
reply says which side answered (``reply_source`` and ``context["responder"]``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from chatbot.message import Message, TrainingData
from chatbot.responders.retrieval_responder import RetrievalResponder
from chatbot.responders.seq2seq_responder import Seq2SeqResponder

TUNING = "hybrid.json"
_QUANTILES = np.linspace(0.0, 1.0, 21)
MIN_TUNING_ROWS = 3


class HybridResponder(Seq2SeqResponder):
    name = "hybrid_responder"
    requires = ("features",)  # its retrieval side
    defaults = {
        **Seq2SeqResponder.defaults,
        "min_similarity": 0.5,  # replaced by the tuned value when training has a validation split
        "retrieval_min_similarity": 0.5,  # the retrieval side's own answer-versus-intent rule
    }

    def fit(self, data: TrainingData) -> HybridResponder:
        super().fit(data)
        shared = {k: self.params[k] for k in ("bot_name", "timezone", "seed", "suggestions", "ood_label")}
        self.retrieval_ = RetrievalResponder(**shared, min_similarity=self.params["retrieval_min_similarity"])
        self.retrieval_.fit(data)
        self.tuning_ = {"min_similarity": self.params["min_similarity"], "tuned": False}
        return self

    def similarities(self, messages: list[Message]) -> np.ndarray:
        """Cosine similarity of each message's nearest training question."""
        return np.array([self.retrieval_.nearest(m)[1] for m in messages])

    def tune(self, messages: list[Message]) -> dict[str, float]:
        """Pick the similarity cut-off that maximises BLEU-4 of the mixed replies on held-out pairs."""
        from chatbot.evaluation import bleu4, morphemes

        references = {id(m): self.references(m) for m in messages}
        rows = [m for m in messages if references[id(m)] and m.gold_intent != self.params["ood_label"]]
        if len(rows) < MIN_TUNING_ROWS:
            self.tuning_["reason"] = f"{len(rows)} held-out rows with a reference answer; {MIN_TUNING_ROWS} needed"
            return {}
        sims = self.similarities(rows)
        retrieved = [self.retrieval_.respond(m, {}) for m in rows]
        generated = self.generate([m.normalized or m.text for m in rows])
        flat = morphemes([r for m in rows for r in references[id(m)]])
        gold, start = [], 0
        for m in rows:
            gold.append(flat[start:start + len(references[id(m)])])
            start += len(references[id(m)])
        hyp_retrieved, hyp_generated = morphemes(retrieved), morphemes(generated)
        candidates = sorted({0.0, 1.01, *np.round(np.quantile(sims, _QUANTILES), 4)})
        table = []
        for threshold in candidates:
            mixed = [r if s >= threshold else g for r, g, s in zip(hyp_retrieved, hyp_generated, sims, strict=True)]
            table.append({"threshold": float(threshold), "bleu4": round(bleu4(gold, mixed), 3),
                          "retrieval_share": round(float(np.mean(sims >= threshold)), 4)})
        # The highest BLEU; among equals the lowest threshold, which prefers human-written answers.
        best = max(table, key=lambda row: (row["bleu4"], -row["threshold"]))
        self.params["min_similarity"] = best["threshold"]
        self.tuning_ = {"min_similarity": best["threshold"], "tuned": True, "validation_pairs": len(rows),
                        "validation_bleu4": best["bleu4"], "retrieval_share": best["retrieval_share"],
                        "retrieval_only_bleu4": table[0]["bleu4"], "seq2seq_only_bleu4": table[-1]["bleu4"],
                        "candidates": table}
        return {"min_similarity": best["threshold"]}

    def absorb(self, messages: list[Message]) -> int:
        """Held-out pairs join the retrieval index after tuning (the network is not retrained)."""
        return self.retrieval_.absorb(messages)

    def references(self, message: Message) -> list[str]:
        """A held-out row's reference replies: its own answer, else its intent's plain responses."""
        if message.gold_answer:
            return [message.gold_answer]
        return [r for r in self.responses_.get(message.gold_intent, []) if "{" not in r]

    def respond(self, message: Message, context: dict[str, Any]) -> str:
        return self._respond_many([message])[0]

    def process_batch(self, messages: list[Message]) -> list[Message]:
        answering = [m for m in messages if not m.fallback]
        for message, reply in zip(answering, self._respond_many(answering), strict=True):
            message.reply = reply
        for message in messages:
            if message.fallback:
                message.reply = self.fallback_reply(message, message.context)
        return messages

    def process(self, message: Message) -> Message:
        return self.process_batch([message])[0]

    def _respond_many(self, messages: list[Message]) -> list[str]:
        """Retrieval for close questions; one batched seq2seq call for the rest."""
        if not messages:
            return []
        sims = self.similarities(messages)
        replies: list[str | None] = [None] * len(messages)
        generative = []
        for i, (message, similarity) in enumerate(zip(messages, sims, strict=True)):
            message.context["retrieval_similarity"] = round(float(similarity), 4)
            if similarity >= self.params["min_similarity"]:
                message.context["responder"] = "retrieval"
                replies[i] = self.retrieval_.respond(message, message.context)
            else:
                message.context["responder"] = "seq2seq"
                generative.append(i)
        if generative:
            texts = self.generate([messages[i].normalized or messages[i].text for i in generative])
            for i, text in zip(generative, texts, strict=True):
                replies[i] = self._generated_reply(messages[i], text)
        return replies

    def save(self, directory: Path) -> None:
        super().save(directory)
        (directory / TUNING).write_text(json.dumps(self.tuning_, ensure_ascii=False, indent=2), encoding="utf-8")

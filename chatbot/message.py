"""The objects that flow through the pipeline: tokens, messages and training data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Token:
    """One morpheme (or word, for word-level backends) with offsets into the normalized text."""

    form: str
    pos: str
    start: int
    end: int
    lemma: str = ""
    stopword: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "pos": self.pos,
            "lemma": self.lemma or self.form,
            "start": self.start,
            "end": self.end,
            "stopword": self.stopword,
        }


@dataclass
class Message:
    """A user utterance and everything the pipeline learns about it.

    Gold labels (``intent``/``answer`` from a corpus) live in ``gold_intent``/``gold_answer``;
    predictions in ``intent``/``confidence``/``fallback``/``reply``.
    """

    text: str
    gold_intent: str | None = None
    gold_answer: str | None = None
    source: str | None = None  # "file:line" of the corpus row, for error messages
    normalized: str = ""
    tokens: list[Token] = field(default_factory=list)
    features: Any = None  # scipy sparse row (1, n_features)
    embedding: Any = None  # dense numpy vector, from an embedder component
    intent: str | None = None
    confidence: float = 0.0
    ranking: list[tuple[str, float]] = field(default_factory=list)
    fallback: bool = False
    fallback_reason: str = ""
    reply: str | None = None
    reply_source: str = ""
    context: dict[str, Any] = field(default_factory=dict)

    def lemmas(self, keep_stopwords: bool = True) -> list[str]:
        return [t.lemma or t.form for t in self.tokens if keep_stopwords or not t.stopword]


@dataclass
class TrainingData:
    """A loaded corpus: messages with gold labels plus intent-level responses and descriptions."""

    messages: list[Message]
    responses: dict[str, list[str]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)

    @property
    def intents(self) -> list[str]:
        return sorted({m.gold_intent for m in self.messages if m.gold_intent})

    def in_domain(self, ood_label: str = "OOD") -> TrainingData:
        """The same data without the rows labelled as out-of-domain."""
        return TrainingData(
            [m for m in self.messages if m.gold_intent != ood_label], self.responses, self.descriptions
        )

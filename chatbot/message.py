"""The objects that flow through the pipeline: tokens, messages and training data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
class Entity:
    """What a message is about: a typed span of its text, with a normalised ``value``.

    ``start``/``end`` are character offsets. On a ``Message`` inside the pipeline they point into
    ``message.normalized``; on gold annotations (``Message.gold_entities``) into ``message.text``; in a
    ``Reply`` and in evaluation output into the text as the user sent it (``chatbot.entities.to_original``).
    ``value`` is JSON-ready: an ISO-datetime ``{start, end, grain}`` for a time, a number for a number,
    the canonical form for a synonym, else the text. ``source`` names the extractor that found it."""

    type: str
    text: str
    start: int
    end: int
    value: Any = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "text": self.text, "start": self.start, "end": self.end,
                "value": self.text if self.value is None else self.value, "source": self.source}


@dataclass
class Message:
    """A user utterance and everything the pipeline learns about it.

    Gold labels (``intent``/``answer``/entities from a corpus) live in ``gold_intent``/``gold_answer``/
    ``gold_entities``; predictions in ``intent``/``confidence``/``fallback``/``reply``/``entities``.
    A corpus row with entity annotations and no intent has ``gold_intent`` None.
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
    gold_entities: list[Entity] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    dialogue: Any = None  # a chatbot.dialogue.policy.Decision, from the dialogue_policy stage

    def lemmas(self, keep_stopwords: bool = True) -> list[str]:
        return [t.lemma or t.form for t in self.tokens if keep_stopwords or not t.stopword]


@dataclass
class TrainingData:
    """A loaded corpus: messages with gold labels plus intent-level responses and descriptions, and
    the lookup tables declared for entity types: ``lookups[type][surface form] = canonical value``
    (a value maps to itself; a synonym to the value it stands for)."""

    messages: list[Message]
    responses: dict[str, list[str]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    lookups: dict[str, dict[str, str]] = field(default_factory=dict)
    # Intents' conversation side: ``{intent: {"slots": [slot dicts], "action": name or None}}``
    # (chatbot.dialogue.domain), for the intents that declare slots or an action.
    dialogue: dict[str, dict[str, Any]] = field(default_factory=dict)

    def with_messages(self, messages: list[Message]) -> TrainingData:
        """The same corpus (responses, tables, slots...) with other messages."""
        return replace(self, messages=messages)

    @property
    def intents(self) -> list[str]:
        return sorted({m.gold_intent for m in self.messages if m.gold_intent})

    def in_domain(self, ood_label: str = "OOD") -> TrainingData:
        """The same data without the rows labelled as out-of-domain."""
        return self.with_messages([m for m in self.messages if m.gold_intent != ood_label])

    def with_intents(self) -> TrainingData:
        """The same data without the rows that carry entity annotations only (no intent)."""
        return self.with_messages([m for m in self.messages if m.gold_intent])

    @property
    def entity_types(self) -> list[str]:
        return sorted({e.type for m in self.messages for e in m.gold_entities} | set(self.lookups))

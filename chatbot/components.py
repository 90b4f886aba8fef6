"""The component contract every pipeline stage follows (scikit-learn's and Rasa's idea).

- ``__init__(**params)`` only stores parameters (unknown names are rejected at once);
- ``fit(data) -> self`` learns state, kept in attributes whose names end in ``_``;
- ``process(message) -> message`` and ``process_batch(messages)`` annotate messages;
- ``save(dir)`` / ``load(dir, params)`` persist the learned state next to the pipeline config;
- ``requires`` / ``provides`` name what a stage reads from a message and what it writes
  (``CAPABILITIES``), so that ``Pipeline.from_config`` rejects stages in the wrong order
  (``registry.check_order``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Self

import joblib

from chatbot.message import Message, TrainingData

# What stages write on a message, by the names ``requires``/``provides`` use.
CAPABILITIES = {
    "normalized": "message.normalized, the normalised text",
    "tokens": "message.tokens, morphemes with POS tags and offsets",
    "lemmas": "Token.lemma, dictionary forms",
    "stopwords": "Token.stopword",
    "features": "message.features, a sparse feature row",
    "embedding": "message.embedding, a dense unit vector",
    "intent": "message.intent with confidence and ranking",
    "fallback": "message.fallback and fallback_reason, out-of-domain detection",
    "reply": "message.reply and reply_source",
    "entities": "message.entities, typed spans with normalised values (chatbot.entities)",
    "dialogue": "message.dialogue, what the dialogue policy decided (ask, act, follow up, respond)",
}


class Component:
    """Base class of pipeline stages."""

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    # What an earlier stage must have written for this one to work (not what merely helps: a stage
    # that reads ``lemma or form`` works without a lemmatizer), and what this one writes. A user's
    # ``module:Class`` that declares nothing requires nothing and provides nothing.
    requires: ClassVar[tuple[str, ...]] = ()
    provides: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise ValueError(
                f"{self.name}: unknown parameter(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(self.defaults)) or 'none'}"
            )
        self.params = {**self.defaults, **params}

    def needs(self) -> tuple[str, ...]:
        """What this stage needs from earlier ones: ``requires``, plus what its parameters add."""
        return self.requires

    def fit(self, data: TrainingData) -> Component:
        """Learn from the training data (already processed by the stages before this one)."""
        return self

    def process(self, message: Message) -> Message:
        """Annotate one message."""
        return message

    def process_batch(self, messages: list[Message]) -> list[Message]:
        """Annotate many messages; stages with a vectorised path override this."""
        return [self.process(m) for m in messages]

    def learned_state(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def save(self, directory: Path) -> None:
        """Write the learned state into ``directory``."""
        state = self.learned_state()
        if state:
            directory.mkdir(parents=True, exist_ok=True)
            joblib.dump(state, directory / "state.joblib")

    @classmethod
    def load(cls, directory: Path, params: dict[str, Any]) -> Self:
        """Rebuild a fitted component from its parameters and saved state."""
        component = cls(**params)
        state_file = directory / "state.joblib"
        if state_file.exists():
            vars(component).update(joblib.load(state_file))
        return component

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params})"

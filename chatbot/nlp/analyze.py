"""``analyze``: what the NLP stages make of one text (used by ``python -m chatbot analyze``)."""

from __future__ import annotations

from typing import Any

from chatbot.message import Message
from chatbot.nlp.components import Lemmatizer, MorphTokenizer, Normalizer, StopwordFilter


def analyze(text: str, tokenizer: str = "kiwi") -> dict[str, Any]:
    """Normalised text and its tokens with POS, lemma, offsets and stopword flag."""
    message = Message(text=text)
    for stage in (Normalizer(), MorphTokenizer(backend=tokenizer), Lemmatizer(), StopwordFilter()):
        message = stage.process(message)
    return {"normalized": message.normalized, "tokens": [t.to_dict() for t in message.tokens]}

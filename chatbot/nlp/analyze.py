"""``analyze``: what the NLP stages make of one text (used by ``python -m chatbot analyze``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chatbot.entities import EntityExtractor, to_original
from chatbot.message import Message
from chatbot.nlp.components import Lemmatizer, MorphTokenizer, Normalizer, StopwordFilter

# Extractors ``analyze`` runs when given neither ``extractors`` nor a model: registered names of
# rule-based extractors, which work without training.
DEFAULT_EXTRACTORS: tuple[str, ...] = ("time_extractor", "number_extractor")


def analyze(text: str, tokenizer: str = "kiwi", extractors: Sequence[str] | None = None,
            model: str | Path | None = None) -> dict[str, Any]:
    """Normalised text and its tokens with POS, lemma, offsets (into ``normalized``) and stopword flag,
    and the entities found, with offsets into ``text`` as given.

    Entities come from the trained ``model``'s pipeline when one is given, else from ``extractors``
    (registered names or ``module:Class`` of extractors that need no training; ``DEFAULT_EXTRACTORS``
    when None), run on the tokens shown here."""
    from chatbot.registry import create

    message = Message(text=text)
    for stage in (Normalizer(), MorphTokenizer(backend=tokenizer), Lemmatizer(), StopwordFilter()):
        message = stage.process(message)
    if model is not None:
        from chatbot.pipeline import Pipeline

        found = Pipeline.load(model).process(Message(text=text))
        entities, normalized = found.entities, found.normalized
    else:
        for name in DEFAULT_EXTRACTORS if extractors is None else extractors:
            extractor = create(name)
            if not isinstance(extractor, EntityExtractor):
                raise ValueError(f"{name!r} is not an entity extractor")
            message = extractor.process(message)
        entities, normalized = message.entities, message.normalized
    return {"text": text, "normalized": message.normalized, "tokens": [t.to_dict() for t in message.tokens],
            "entities": [e.to_dict() for e in to_original(entities, text, normalized)]}


def analysis_lines(result: dict[str, Any]) -> list[str]:
    """The human-readable form of ``analyze``'s result: the normalized text, the morphemes, the entities."""
    lines = [f"normalized: {result['normalized']}",
             "tokens: " + " ".join(f"{t['form']}/{t['pos']}" for t in result["tokens"])]
    lines.append(f"entities: {len(result['entities'])}" if result["entities"] else "entities: none")
    for e in result["entities"]:
        lines.append(f"  {e['type']}\t{e['text']}\t[{e['start']}:{e['end']}]\tvalue={e['value']}\t({e['source']})")
    return lines

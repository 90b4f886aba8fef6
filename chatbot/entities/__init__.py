"""Entity extraction: what a message is about (dates and times, numbers, places, the corpus's own types).

Every extractor is a pipeline component (``EntityExtractor``) that provides ``entities``: it finds typed
spans in ``message.normalized`` and adds them with ``add_entities``, which applies the one overlap rule:

    **Overlapping spans: the longer one wins; of two spans of the same length, the one found first
    wins: by an earlier stage of the pipeline, or, within one stage, earlier in the text.**

So a time expression "오후 3시" beats the number "3" inside it, "3일 뒤" beats "3일", and a stage listed
earlier (a lookup table with its canonical values) beats a later one (a trained tagger) on the same
span. Spans that do not overlap are all kept, whatever their types.

Offsets: inside the pipeline, entities point into ``message.normalized``; ``to_original`` moves them
into the text as the user sent it (as ``check_message`` keeps it: NFC, trimmed), which is what
``Bot.reply`` returns and ``evaluate`` writes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import ClassVar

from chatbot.components import Component
from chatbot.message import Entity, Message
from chatbot.nlp.normalize import align

__all__ = ["Entity", "EntityExtractor", "add_entities", "entity_annotated", "gold_in_normalized",
           "resolve_overlaps", "to_original",
           "training_rows"]


def _overlaps(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


def resolve_overlaps(entities: list[Entity]) -> list[Entity]:
    """Apply the overlap rule to ``entities`` given in the order they were found; returns them by start."""
    ranked = sorted(enumerate(entities), key=lambda pair: (-(pair[1].end - pair[1].start), pair[0]))
    kept: list[Entity] = []
    for _, entity in ranked:
        if entity.end > entity.start and not any(_overlaps(entity, other) for other in kept):
            kept.append(entity)
    return sorted(kept, key=lambda e: (e.start, e.end))


def add_entities(message: Message, found: list[Entity]) -> Message:
    """Add ``found`` to what earlier stages found on ``message``, by the overlap rule."""
    if found:
        message.entities = resolve_overlaps(message.entities + found)
    return message


def to_original(entities: list[Entity], original: str, normalized: str) -> list[Entity]:
    """``entities`` with offsets into ``normalized`` moved into ``original`` (their ``text`` read from it)."""
    if not entities:  # most replies: no walk over the text
        return []
    if original == normalized:
        return [Entity(e.type, original[e.start:e.end], e.start, e.end, e.value, e.source) for e in entities]
    positions = align(original, normalized)
    moved = []
    for e in entities:
        start, end = positions[e.start], positions[max(e.end - 1, e.start)] + 1
        moved.append(Entity(e.type, original[start:end], start, end, e.value, e.source))
    return moved


def entity_annotated(messages: Sequence[Message]) -> list[Message]:
    """The messages that say which entities they hold: those from a corpus file that annotates entities.

    A row without annotations in such a file means "no entity here": a trained tagger learns from it
    that nothing is to be found there, and evaluation counts a prediction on it as a false positive.
    Rows of an intent-only file say nothing about entities and are left out of both. A message
    without a ``source`` counts when it carries gold entities itself."""
    files = {_source_file(m.source) for m in messages if m.gold_entities and m.source}
    return [m for m in messages if m.gold_entities or (m.source and _source_file(m.source) in files)]


def _source_file(source: str | None) -> str:
    return (source or "").rpartition(":")[0] or (source or "")



def gold_in_normalized(message: Message) -> list[Entity]:
    """``message.gold_entities`` (offsets into ``message.text``) moved into ``message.normalized``.

    ``align`` says where each normalised character came from; an entity keeps the normalised characters
    whose origin lies inside it. An entity whose characters were all dropped by normalisation is lost."""
    text, normalized = message.text, message.normalized
    if text == normalized:
        return list(message.gold_entities)
    origins = align(text, normalized)[:-1]
    moved = []
    for entity in message.gold_entities:
        inside = [i for i, origin in enumerate(origins) if entity.start <= origin < entity.end]
        if inside:
            start, end = inside[0], inside[-1] + 1
            moved.append(Entity(entity.type, normalized[start:end], start, end, entity.value, entity.source))
    return moved


def training_rows(messages: Sequence[Message], ignore_types: Collection[str] = ()) -> list[Message]:
    """What a trained tagger learns from: ``entity_annotated`` rows, without the gold entities of
    ``ignore_types`` (types another stage finds, such as times and numbers: a tagger that learns them too
    only adds its own mistakes, whose longer spans would win over the right ones). Messages built in code,
    none of them with a ``source``, all count: there is no file to tell marked rows from unmarked ones."""
    rows = entity_annotated(messages) if any(m.source for m in messages) else list(messages)
    ignored = set(ignore_types)
    if not ignored:
        return rows
    return [replace(m, gold_entities=[e for e in m.gold_entities if e.type not in ignored]) for m in rows]


class EntityExtractor(Component):
    """Base class of entity extractors: ``extract(message)`` returns spans of ``message.normalized``,
    ``process`` adds them by the overlap rule. ``types()`` names what it can find (for reports)."""

    requires: ClassVar[tuple[str, ...]] = ("normalized",)
    provides: ClassVar[tuple[str, ...]] = ("entities",)

    def extract(self, message: Message) -> list[Entity]:
        raise NotImplementedError

    def types(self) -> list[str]:
        return []

    def process(self, message: Message) -> Message:
        return add_entities(message, self.extract(message))


class BatchEntityExtractor(EntityExtractor):
    """An extractor that finds entities for many messages at once (a network or a tagger run in batches):
    subclasses implement ``_extract_batch(messages)``; one message is a batch of one."""

    def _extract_batch(self, messages: list[Message]) -> list[list[Entity]]:
        raise NotImplementedError

    def extract(self, message: Message) -> list[Entity]:
        return self._extract_batch([message])[0]

    def process_batch(self, messages: list[Message]) -> list[Message]:
        for message, found in zip(messages, self._extract_batch(messages), strict=True):
            add_entities(message, found)
        return messages

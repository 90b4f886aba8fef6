"""BIO tags over units of text (characters, morphemes or words, each a ``(start, end)`` span), and back.

The trained taggers (``crf_entity_extractor``, ``bilstm_crf_entity_extractor``) label units; these two
functions are the only place where entity spans become tags and tags become spans again.
"""

from __future__ import annotations

from collections.abc import Sequence

from chatbot.message import Entity

OUTSIDE = "O"


def spans_to_tags(units: Sequence[tuple[int, int]], entities: Sequence[Entity]) -> list[str]:
    """``B-type``/``I-type``/``O`` per unit: a unit belongs to an entity when it starts inside it.

    A unit that starts inside an entity but ends after it (an entity boundary inside a morpheme)
    is tagged with the entity all the same, so the span read back may be a little longer."""
    tags = [OUTSIDE] * len(units)
    for entity in sorted(entities, key=lambda e: e.start):
        inside = [i for i, (start, _) in enumerate(units) if entity.start <= start < entity.end]
        if not inside and entity.end > entity.start:  # the entity starts and ends inside one unit
            inside = [i for i, (start, end) in enumerate(units) if start < entity.end and entity.start < end][:1]
        for n, i in enumerate(inside):
            if tags[i] == OUTSIDE:
                tags[i] = ("B-" if n == 0 else "I-") + entity.type
    return tags


def to_bioes(tags: Sequence[str]) -> list[str]:
    """BIO tags rewritten as BIOES: a one-unit span is ``S-``, a span's last unit ``E-`` (a tagger learns
    where spans end as well as where they start; ``tags_to_spans`` reads both schemes)."""
    out: list[str] = []
    for i, tag in enumerate(tags):
        prefix, _, type_ = tag.partition("-")
        if not type_:
            out.append(tag)
            continue
        continues = i + 1 < len(tags) and tags[i + 1] == f"I-{type_}"
        if prefix == "B":
            out.append(("B-" if continues else "S-") + type_)
        else:
            out.append(("I-" if continues else "E-") + type_)
    return out


def tags_to_spans(units: Sequence[tuple[int, int]], tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """``(type, start, end)`` for each run of ``B-``/``I-`` tags of one type (an ``I-`` after ``O`` or
    after another type starts a new span, as seqeval reads it); ``S-``/``E-`` of BIOES read the same way."""
    spans: list[tuple[str, int, int]] = []
    current: list | None = None
    for (start, end), tag in zip(units, tags, strict=True):
        prefix, _, type_ = tag.partition("-")
        if tag == OUTSIDE or not type_:
            current = None
            continue
        if prefix in ("B", "S") or current is None or current[0] != type_:
            current = [type_, start, end]
            spans.append(current)  # type: ignore[arg-type]
        else:
            current[2] = end
        if prefix in ("S", "E"):
            current = None
    return [(t, s, e) for t, s, e in spans]

"""Entities found by table: the corpus's lookup tables and synonyms (``TrainingData.lookups``).

Matching is on morphemes, so particles and endings do not block it: "서울에" gives 서울 and
"서울시에서" gives 서울시 (value 서울). A match covers whole morphemes: 서울 is not found inside the one
morpheme 서울대, nor 서울 inside 서울시 (list 서울시 as a synonym of 서울 for that). An entry matches a run
of consecutive morphemes when it equals either their forms joined or the text they cover, spaces
ignored: "서울 특별시" and "서울특별시" both match 서울 + 특별시, and "김치찌개" matches 김치 + 찌개 when
the tokenizer splits it. Of the entries that start at one morpheme, the longest wins; the text is read
left to right, one dictionary look-up per morpheme and per extension of the run.
"""

from __future__ import annotations

from typing import ClassVar

from chatbot.entities import EntityExtractor
from chatbot.message import Entity, Message, TrainingData
from chatbot.nlp.normalize import normalize


def _fold(text: str) -> str:
    return "".join(text.casefold().split())


def lookup_key(text: str) -> str:
    """The form entries and text are compared in: normalised (as messages are), case-folded, no spaces."""
    return _fold(normalize(text))


class LookupExtractor(EntityExtractor):
    """Finds the surface forms of ``data.lookups`` on morphemes; the value is the canonical form.

    A surface form listed under two types is found as the type declared first."""

    name = "lookup_extractor"
    requires: ClassVar[tuple[str, ...]] = ("normalized", "tokens")

    def fit(self, data: TrainingData) -> LookupExtractor:
        self.tables_ = {type_: dict(table) for type_, table in data.lookups.items()}
        self.index_: dict[str, tuple[str, str]] = {}
        for type_, table in self.tables_.items():
            for surface, value in table.items():
                key = lookup_key(surface)
                if key:
                    self.index_.setdefault(key, (type_, value))
        # Every prefix of a key, so that a run of morphemes stops growing as soon as no entry can match.
        self.prefixes_ = {key[:n] for key in self.index_ for n in range(1, len(key) + 1)}
        return self

    def types(self) -> list[str]:
        return sorted(getattr(self, "tables_", {}))

    def extract(self, message: Message) -> list[Entity]:
        index: dict[str, tuple[str, str]] = getattr(self, "index_", {})
        prefixes: set[str] = getattr(self, "prefixes_", set())
        tokens, text = message.tokens, message.normalized
        found: list[Entity] = []
        free_from = 0  # the first token not inside an earlier match
        for i, first in enumerate(tokens):
            if i < free_from:
                continue
            forms, best, end = "", None, first.end
            for j in range(i, len(tokens)):
                forms += _fold(tokens[j].form)
                end = max(end, tokens[j].end)
                surface = _fold(text[first.start:end])
                hit = index.get(forms) or index.get(surface)
                if hit is not None:
                    best = (j, end, hit)
                if forms not in prefixes and surface not in prefixes:
                    break
            if best is not None:
                j, end, (type_, value) = best
                found.append(Entity(type_, text[first.start:end], first.start, end, value, self.name))
                free_from = j + 1
        return found

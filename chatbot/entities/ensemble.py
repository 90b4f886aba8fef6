"""Two trained taggers voting: the CRF and the BiLSTM-CRF, combined through their tag probabilities.

Each tagger gives, for every non-space character of ``message.normalized``, the probability of each BIO tag
(the CRF's BIOES folded: S counts as B, E as I; both from forward-backward, so they are marginals, not
scores). Their weighted mean is decoded with a Viterbi pass that allows only valid BIO sequences (``I-x``
after ``B-x`` or ``I-x``), maximising the summed log-probabilities; the weight is the CRF's share. On
KLUE-NER it gained 0.001-0.009 over the CRF on two inner splits and nothing on the reported one (0.805
against 0.807, docs/benchmarks.md), so it is an option, not the default.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar, Self

from chatbot.entities import BatchEntityExtractor
from chatbot.entities.bilstm_crf import BiLstmCrfEntityExtractor
from chatbot.entities.crf import CrfEntityExtractor, units
from chatbot.entities.tagging import OUTSIDE, tags_to_spans
from chatbot.message import Entity, Message, TrainingData

PARTS = ("crf", "bilstm")  # sub-folders of the saved component
FLOOR = 1e-9  # probabilities below it count as it (log of zero)


def bio_labels(types: list[str]) -> list[str]:
    """``O`` then ``B-x``, ``I-x`` for each type."""
    return [OUTSIDE, *(f"{prefix}-{t}" for t in types for prefix in "BI")]


def viterbi_bio(probabilities: list[list[float]], labels: list[str]) -> list[str]:
    """The valid BIO sequence with the largest summed log-probability (rows: positions, columns: ``labels``)."""
    if not probabilities:
        return []
    inside_of = [label[2:] if label.startswith("I-") else None for label in labels]
    # for each label, the labels that may precede it (all, but I-x only after B-x or I-x)
    before = [[i for i, previous in enumerate(labels) if type_ is None
               or (previous != OUTSIDE and previous[2:] == type_)] for type_ in inside_of]
    logs = [[math.log(max(p, FLOOR)) for p in row] for row in probabilities]
    score = [logs[0][j] if inside_of[j] is None else -math.inf for j in range(len(labels))]
    back: list[list[int]] = []
    for row in logs[1:]:
        origins = [max(before[j], key=score.__getitem__) for j in range(len(labels))]
        back.append(origins)
        score = [score[origin] + value for origin, value in zip(origins, row, strict=True)]
    path = [max(range(len(labels)), key=lambda j: score[j])]
    for best_from in reversed(back):
        path.append(best_from[path[-1]])
    return [labels[j] for j in reversed(path)]


class CrfBiLstmEntityExtractor(BatchEntityExtractor):
    """Entities where the CRF and the BiLSTM-CRF agree most: their tag probabilities averaged, then decoded."""

    name = "crf_bilstm_entity_extractor"
    requires: ClassVar[tuple[str, ...]] = ("normalized", "tokens")
    defaults: ClassVar[dict[str, Any]] = {
        "weight": 0.5,  # the CRF's share of the mean
        "crf": {},  # crf_entity_extractor's parameters
        "bilstm": {},  # bilstm_crf_entity_extractor's parameters
        "ignore_types": [],  # passed to both
        "device": "auto",  # the network's (its own "device" in ``bilstm`` wins)
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if not 0.0 <= float(self.params["weight"]) <= 1.0:
            raise ValueError(f"{self.name}: weight must be between 0 and 1, not {self.params['weight']!r}")
        ignore = {"ignore_types": self.params["ignore_types"]}
        self._crf = CrfEntityExtractor(**{**ignore, **self.params["crf"]})
        self._bilstm = BiLstmCrfEntityExtractor(**{**ignore, "device": self.params["device"], **self.params["bilstm"]})

    def fit(self, data: TrainingData) -> CrfBiLstmEntityExtractor:
        self._crf.fit(data)
        self._bilstm.fit(data)
        return self

    def types(self) -> list[str]:
        return sorted(set(self._crf.types()) | set(self._bilstm.types()))

    def _crf_probabilities(self, message: Message, labels: list[str]) -> list[list[float]]:
        """The CRF's BIO marginals per unit (BIOES folded)."""
        tagger = self._crf.tagger
        n = len(units(message))
        rows = [[0.0] * len(labels) for _ in range(n)]
        tagger.set(self._crf.features(message))
        column = {label: labels.index(label) for label in labels}
        for label in tagger.labels():
            prefix, _, type_ = label.partition("-")
            folded = OUTSIDE if label == OUTSIDE else ("B-" if prefix in ("B", "S") else "I-") + type_
            j = column.get(folded)
            if j is not None:
                for i in range(n):
                    rows[i][j] += tagger.marginal(label, i)
        return rows

    def _bilstm_probabilities(self, message: Message, marginals: Any, labels: list[str]) -> list[list[float]]:
        """The network's BIO marginals at the non-space characters."""
        column = [labels.index(tag) if tag in labels else None for tag in self._bilstm.tags_]
        rows = []
        for start, _ in units(message):
            row = [0.0] * len(labels)
            for k, j in enumerate(column):
                if j is not None:
                    row[j] += float(marginals[start][k])
            rows.append(row)
        return rows

    def _extract_batch(self, messages: list[Message]) -> list[list[Entity]]:
        has_crf = self._crf.tagger is not None
        has_bilstm = getattr(self._bilstm, "model_", None) is not None
        if not (has_crf and has_bilstm):
            return [self._fallback(m, has_crf, has_bilstm) for m in messages]
        labels = bio_labels(self.types())
        weight = float(self.params["weight"])
        network = self._bilstm.marginals(messages)
        found: list[list[Entity]] = []
        for message, marginals in zip(messages, network, strict=True):
            spans = units(message)
            if not spans:
                found.append([])
                continue
            a = self._crf_probabilities(message, labels)
            b = self._bilstm_probabilities(message, marginals, labels)
            mean = [[weight * x + (1 - weight) * y for x, y in zip(ra, rb, strict=True)]
                    for ra, rb in zip(a, b, strict=True)]
            found.append(self._entities(message, spans, viterbi_bio(mean, labels)))
        return found

    def _fallback(self, message: Message, has_crf: bool, has_bilstm: bool) -> list[Entity]:
        """Only one tagger learnt something (or none): its entities alone."""
        found = self._crf.extract(message) if has_crf else self._bilstm.extract(message) if has_bilstm else []
        return [Entity(e.type, e.text, e.start, e.end, e.value, self.name) for e in found]

    def _entities(self, message: Message, spans: list[tuple[int, int]], tags: list[str]) -> list[Entity]:
        lookups = {**self._bilstm.lookups_, **self._crf.lookups_}
        found = []
        for type_, start, end in tags_to_spans(spans, tags):
            text = message.normalized[start:end]
            found.append(Entity(type_, text, start, end, lookups.get(type_, {}).get(text), self.name))
        return found

    def learned_state(self) -> dict[str, Any]:
        return {}

    def save(self, directory: Path) -> None:
        """The two taggers, each in its own sub-folder."""
        directory.mkdir(parents=True, exist_ok=True)
        self._crf.save(directory / PARTS[0])
        self._bilstm.save(directory / PARTS[1])

    @classmethod
    def load(cls, directory: Path, params: dict[str, Any]) -> Self:
        component = cls(**params)
        component._crf = CrfEntityExtractor.load(directory / PARTS[0], component._crf.params)
        component._bilstm = BiLstmCrfEntityExtractor.load(directory / PARTS[1], component._bilstm.params)
        return component

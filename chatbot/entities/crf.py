"""A CRF entity tagger (python-crfsuite) over the characters of the normalised text, with morpheme features.

Units are the non-space characters of ``message.normalized``: KLUE-NER's spans are character spans that
sometimes end inside a morpheme ("서울시" tagged "서울"), and Kochat's whitespace tokens are runs of
characters too, so one unit serves both. What the morpheme analyser knows is added to each character
as features (the Kiwi morpheme covering it, its POS, where the character sits in it and in its eojeol,
the neighbouring morphemes and words). Gold spans reach the normalised text through
``chatbot.entities.gold_in_normalized``, as the BiLSTM-CRF's do.
"""

from __future__ import annotations

import tempfile
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

from chatbot.entities import EntityExtractor, gold_in_normalized, training_rows
from chatbot.entities.kiwi_vectors import MorphemeVectors
from chatbot.entities.tagging import spans_to_tags, tags_to_spans, to_bioes
from chatbot.message import Entity, Message, Token, TrainingData

MODEL_FILE = "crf.model"
PAD = "<pad>"


def units(message: Message) -> list[tuple[int, int]]:
    """The tagged units: one ``(start, end)`` per non-space character of ``message.normalized``."""
    return [(i, i + 1) for i, char in enumerate(message.normalized) if not char.isspace()]


def char_type(char: str) -> str:
    """A coarse class of a character: Hangul syllable or jamo, digit, Latin, Hanja, punctuation, other."""
    code = ord(char)
    if 0xAC00 <= code <= 0xD7A3:
        return "H"
    if 0x3131 <= code <= 0x318E or 0x1100 <= code <= 0x11FF:
        return "J"
    if char.isdigit():
        return "D"
    if char.isascii() and char.isalpha():
        return "L"
    if 0x4E00 <= code <= 0x9FFF:
        return "C"
    category = unicodedata.category(char)
    return "P" if category.startswith("P") else "S" if category.startswith("S") else "O"


def morpheme_of_chars(message: Message) -> list[int]:
    """For each character of the normalised text, the index of the first morpheme covering it (-1: none)."""
    owner = [-1] * len(message.normalized)
    for index, token in enumerate(message.tokens):
        for i in range(max(token.start, 0), min(token.end, len(owner))):
            if owner[i] < 0:
                owner[i] = index
    return owner


def _words(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    """Whitespace words as spans, and for each character the index of its word (-1 for a space)."""
    spans: list[tuple[int, int]] = []
    word_of = [-1] * len(text)
    start = None
    for i, char in enumerate([*text, " "]):
        if char.isspace():
            if start is not None:
                spans.append((start, i))
                for j in range(start, i):
                    word_of[j] = len(spans) - 1
                start = None
        elif start is None:
            start = i
    return spans, word_of


def _position(i: int, start: int, end: int) -> str:
    """Where character ``i`` sits in ``[start, end)``: S(ingle), B(egin), E(nd) or I(nside)."""
    if end - start == 1:
        return "S"
    return "B" if i == start else "E" if i == end - 1 else "I"


def gazetteer_marks(text: str, gazetteer: Mapping[str, Collection[str]], max_length: int = 12) -> dict[int, list[str]]:
    """For each character of ``text`` inside a known entity string, ``g<type>=<B|I|E|S>`` marks."""
    marks: dict[int, list[str]] = {}
    for i in range(len(text)):
        for length in range(1, min(max_length, len(text) - i) + 1):
            types = gazetteer.get(text[i:i + length])
            if types:
                for j in range(i, i + length):
                    place = _position(j, i, i + length)
                    marks.setdefault(j, []).extend(f"g{type_}={place}" for type_ in types)
    return marks


def build_gazetteer(entities: Iterable[Entity], min_length: int = 2) -> dict[str, list[str]]:
    """Entity strings (at least ``min_length`` characters) and the types they were seen with."""
    gazetteer: dict[str, set[str]] = {}
    for entity in entities:
        if len(entity.text) >= min_length:
            gazetteer.setdefault(entity.text, set()).add(entity.type)
    return {text: sorted(types) for text, types in gazetteer.items()}


# Optional features of the whole eojeol, added to each of its characters: its POS sequence ("NNP+JKB"),
# its trailing particles and endings ("에서/JKB"), its character classes with runs collapsed ("HD"), the
# last one and two characters, first character and length of its stem (learnt name endings: …시, …은행),
# the character's distance to the eojeol's and the stem's ends, and the neighbouring eojeols' tail, stem
# ending and POS sequence.
EOJEOL_GROUPS = ("posseq", "tail", "shape", "stemsuf", "dist", "next")


def _shape(text: str) -> str:
    """The character classes of ``text`` with runs collapsed ("삼성전자2" -> "HD")."""
    out: list[str] = []
    for char in text:
        kind = char_type(char)
        if not out or out[-1] != kind:
            out.append(kind)
    return "".join(out)


def unit_features(message: Message, window: int = 2, morph_window: int = 2, word_window: int = 2,
                  gazetteer: Mapping[str, Collection[str]] | None = None,
                  eojeol: Collection[str] = (), vectors: MorphemeVectors | None = None,
                  neighbour_levels: Collection[int] = ()) -> list[list[str]]:
    """Features of each unit of ``units(message)``, as ``name=value`` strings (crfsuite's input form).

    Per character: itself and its class; characters, bigrams and a trigram within ``window``
    (spaces visible, so word boundaries show); the morpheme covering it (form, POS, form/POS, where the
    character sits in it), and the forms and POS of ``morph_window`` morphemes on either side; its eojeol
    (form, its stem without particles and endings, where the character sits in it, its last morpheme's POS)
    and ``word_window`` words either side; with a ``gazetteer`` (entity string -> types), where the
    character sits in each known entity string that covers it; the ``eojeol`` groups of EOJEOL_GROUPS; with
    ``vectors``, the Kiwi word clusters of its morpheme at each of their levels, and at ``neighbour_levels``
    those of the morphemes either side."""
    text = message.normalized
    n = len(text)
    tokens: list[Token] = message.tokens
    owner = morpheme_of_chars(message)
    words, word_of = _words(text)

    reach = max(window, 2) + 1
    padded = [PAD] * reach + ["_" if c.isspace() else c for c in text] + [PAD] * reach
    types = [PAD] * reach + [char_type(c) for c in padded[reach:reach + n]] + [PAD] * reach

    def char_at(i: int) -> str:
        return padded[i + reach]

    def morph(k: int) -> tuple[str, str]:
        if 0 <= k < len(tokens):
            return tokens[k].form, tokens[k].pos
        return PAD, PAD

    def word(k: int) -> str:
        return text[words[k][0]:words[k][1]] if 0 <= k < len(words) else PAD

    word_last_pos: list[str] = []
    word_stem_end: list[int] = []  # where the eojeol's stem ends: before its trailing particles and endings
    word_extra: list[list[str]] = []  # features of the whole eojeol, the same for each of its characters
    for start, end in words:
        inside = [t for t in tokens if start <= t.start < end]
        word_last_pos.append(inside[-1].pos if inside else PAD)
        extra = [f"wps={'+'.join(t.pos for t in inside)}"] if "posseq" in eojeol else []
        tail: list[Token] = []
        while len(inside) > 1 and inside[-1].pos.startswith(("J", "E")):
            tail.insert(0, inside.pop())
        stem_end = min(max(inside[-1].end, start + 1), end) if inside else end
        word_stem_end.append(stem_end)
        stem = text[start:stem_end]
        if "tail" in eojeol:
            extra.append(f"wtail={'+'.join(f'{t.form}/{t.pos}' for t in tail) or '-'}")
        if "shape" in eojeol:
            extra.append(f"wshape={_shape(text[start:end])}")
        if "stemsuf" in eojeol:
            extra += [f"ss1={stem[-1:]}", f"ss2={stem[-2:]}", f"sp1={stem[:1]}", f"slen={min(len(stem), 6)}"]
        word_extra.append(extra)

    marks = gazetteer_marks(text, gazetteer) if gazetteer else {}
    rows = vectors.rows(tokens) if vectors is not None else []
    features: list[list[str]] = []
    for start, _ in units(message):
        i = start
        c = text[i]
        f = ["b", f"c={c}", f"t={types[i + reach]}",
             f"c-1c={char_at(i - 1)}{c}", f"cc+1={c}{char_at(i + 1)}", f"c-1cc+1={char_at(i - 1)}{c}{char_at(i + 1)}"]
        for d in range(1, window + 1):
            f += [f"c-{d}={char_at(i - d)}", f"c+{d}={char_at(i + d)}",
                  f"t-{d}={types[i - d + reach]}", f"t+{d}={types[i + d + reach]}"]
        if window >= 2:
            f += [f"c-2c-1={char_at(i - 2)}{char_at(i - 1)}", f"c+1c+2={char_at(i + 1)}{char_at(i + 2)}"]
        k = owner[i]
        if k >= 0:
            token = tokens[k]
            form, pos = token.form, token.pos
            f += [f"m={form}", f"p={pos}", f"mp={form}/{pos}", f"mpos={_position(i, token.start, token.end)}",
                  f"mpos_p={_position(i, token.start, token.end)}/{pos}"]
            for d in range(1, morph_window + 1):
                (bf, bp), (af, ap) = morph(k - d), morph(k + d)
                f += [f"m-{d}={bf}", f"p-{d}={bp}", f"m+{d}={af}", f"p+{d}={ap}"]
            f += [f"p-1p={morph(k - 1)[1]}/{pos}", f"pp+1={pos}/{morph(k + 1)[1]}",
                  f"m-1m={morph(k - 1)[0]}/{form}", f"mm+1={form}/{morph(k + 1)[0]}",
                  f"mpre={text[token.start:i + 1]}"]
        else:
            f.append("m=<none>")
        if vectors is not None:
            f += vectors.cluster_features(rows, k, list(neighbour_levels))
        w = word_of[i]
        if w >= 0:
            ws, we = words[w]
            stem_end = word_stem_end[w]
            in_stem = _position(i, ws, stem_end) if i < stem_end else "X"
            f += [f"w={word(w)}", f"wpos={_position(i, ws, we)}", f"wlastp={word_last_pos[w]}",
                  f"wpre={text[ws:i + 1]}", f"wsuf={text[i:we]}", f"stem={text[ws:stem_end]}", f"spos={in_stem}"]
            for d in range(1, word_window + 1):
                f += [f"w-{d}={word(w - d)}", f"w+{d}={word(w + d)}"]
            f += word_extra[w]
            if "dist" in eojeol:
                to_stem_end = min(stem_end - 1 - i, 4) if i < stem_end else "X"
                f += [f"wd={min(i - ws, 4)}/{min(we - 1 - i, 4)}", f"sd={to_stem_end}"]
            if "next" in eojeol:
                for d in (-1, 1):
                    near = word_extra[w + d] if 0 <= w + d < len(words) else []
                    f += [f"{d}{x}" for x in near if x.startswith(("wtail", "ss2", "wps"))] or [f"{d}w=none"]
        if gazetteer is not None:
            f += marks.get(i, ["g=none"])
        features.append(f)
    return features


class CrfEntityExtractor(EntityExtractor):
    """Entities found by a linear-chain CRF over characters (BIO tags), trained on ``gold_entities``.

    With no annotated message in the training data it learns nothing and finds nothing, so a pipeline can
    always include it. A found span's ``value`` is its canonical form when the corpus has a lookup table
    for the type and the text is in it (a tagged "서울시" becomes 서울), else None (the text)."""

    name = "crf_entity_extractor"
    requires: ClassVar[tuple[str, ...]] = ("normalized", "tokens")
    defaults: ClassVar[dict[str, Any]] = {
        "c1": 0.05,  # L1 weight: drops most of the many sparse features
        "c2": 0.01,  # L2 weight
        "max_iterations": 150,
        "window": 2,  # characters either side
        "morph_window": 2,  # morphemes either side
        "word_window": 2,  # whitespace words either side
        "min_freq": 1,  # features seen fewer times are dropped
        # Known entity strings as features: those of the training data (in training, each fold of the data
        # sees only the other folds', so that the tagger does not learn to trust them blindly) and the lookup
        # tables' surface forms. 0.805 against 0.792 without on KLUE-NER.
        "gazetteer": True,
        "gazetteer_min_length": 2,  # 1 (single characters too) scored 0.803
        "gazetteer_folds": 2,
        # Types this tagger does not learn because another stage finds them (the default config: time,
        # number, quantity). Rows of an annotated file without entities still teach it where none are.
        "ignore_types": [],
        # Groups of whole-eojeol features (EOJEOL_GROUPS). None of them moved the inner KLUE-NER split
        # beyond its noise (docs/benchmarks.md), so none is on by default.
        "eojeol": [],
        "scheme": "BIOES",  # or BIO; BIOES scored 0.790 against BIO's 0.782 on KLUE-NER (benchmarks/entities.py)
        # Knowledge from Kiwi's own language model (chatbot.entities.kiwi_vectors): k-means clusters of its
        # morpheme vectors at these levels (k) as features of each character's morpheme, the clusters at
        # ``kiwi_neighbour_clusters`` levels (each one of ``kiwi_clusters``) of the morphemes either side,
        # and the first ``kiwi_dims`` principal components as real-valued features. KLUE-NER: 0.8187 against
        # 0.8067 (128,512 / 32 / 16, with eojeol=tail,stemsuf); off by default: about 40 s more training,
        # twice the tagging time and an ~11 MB larger model (docs/benchmarks.md).
        "kiwi_clusters": [],
        "kiwi_neighbour_clusters": [],
        "kiwi_dims": 0,
        "kiwi_neighbour_dims": 0,  # the first components of the morphemes either side too (at most kiwi_dims)
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["scheme"] not in ("BIO", "BIOES"):
            raise ValueError(f"crf_entity_extractor: scheme must be BIO or BIOES, not {self.params['scheme']!r}")
        if isinstance(self.params["eojeol"], str):  # "tail,stemsuf", as a command line gives it
            self.params["eojeol"] = [g.strip() for g in self.params["eojeol"].split(",") if g.strip()]
        for key in ("kiwi_clusters", "kiwi_neighbour_clusters"):
            if isinstance(self.params[key], (str, int)):  # "128,512" or 512, as a command line gives it
                self.params[key] = [int(k) for k in str(self.params[key]).split(",") if k.strip()]
        missing = sorted(set(self.params["kiwi_neighbour_clusters"]) - set(self.params["kiwi_clusters"]))
        if missing:
            raise ValueError(f"crf_entity_extractor: kiwi_neighbour_clusters {missing} are not in kiwi_clusters")
        unknown = sorted(set(self.params["eojeol"]) - set(EOJEOL_GROUPS))
        if unknown:
            raise ValueError(f"crf_entity_extractor: unknown eojeol feature groups {unknown}; "
                             f"known: {', '.join(EOJEOL_GROUPS)}")
        self._tagger: Any = None

    def tags(self, message: Message) -> list[str]:
        """The gold tags of ``message``'s units, in this tagger's scheme."""
        tags = spans_to_tags(units(message), gold_in_normalized(message))
        return to_bioes(tags) if self.params["scheme"] == "BIOES" else tags

    def features(self, message: Message,
                 gazetteer: Mapping[str, Collection[str]] | None = None) -> list[list[str]] | list[dict[str, float]]:
        """crfsuite's input for ``message``'s units: ``name=value`` strings, or with ``kiwi_dims``,
        a dictionary per unit of those strings (weight 1) and the real-valued components."""
        if self.params["gazetteer"] and gazetteer is None:
            gazetteer = getattr(self, "gazetteer_", None) or {}
        vectors: MorphemeVectors | None = getattr(self, "vectors_", None)
        features = unit_features(message, self.params["window"], self.params["morph_window"],
                                 self.params["word_window"], gazetteer if self.params["gazetteer"] else None,
                                 self.params["eojeol"], vectors, self.params["kiwi_neighbour_clusters"])
        if vectors is None or not vectors.dense.shape[1]:
            return features
        owner = morpheme_of_chars(message)
        rows = vectors.rows(message.tokens)
        beside_dims = int(self.params["kiwi_neighbour_dims"])
        weighted: list[dict[str, float]] = []
        for names, (start, _) in zip(features, units(message), strict=True):
            unit: dict[str, float] = {}
            for name in names:
                unit[name] = unit.get(name, 0.0) + 1.0
            unit.update(vectors.dense_features(rows, owner[start], beside_dims))
            weighted.append(unit)
        return weighted

    def _vectors(self) -> MorphemeVectors | None:
        levels, dims = tuple(self.params["kiwi_clusters"]), int(self.params["kiwi_dims"])
        return MorphemeVectors.build(levels, dims) if levels or dims else None

    def _gazetteer(self, messages: list[Message], lookups: Mapping[str, Mapping[str, str]]) -> dict[str, list[str]]:
        entities = [e for m in messages for e in gold_in_normalized(m)]
        entities += [Entity(type_, surface, 0, len(surface)) for type_, table in lookups.items() for surface in table]
        return build_gazetteer(entities, int(self.params["gazetteer_min_length"]))

    def fit(self, data: TrainingData) -> CrfEntityExtractor:
        import pycrfsuite  # type: ignore[import-untyped]

        annotated = training_rows(data.messages, self.params["ignore_types"])
        self.model_: bytes | None = None
        self.types_: list[str] = []
        self.lookups_: dict[str, dict[str, str]] = {}
        self.gazetteer_: dict[str, list[str]] = {}
        self.vectors_: MorphemeVectors | None = None
        self._tagger = None
        if not any(m.gold_entities for m in annotated):
            return self
        self.vectors_ = self._vectors()
        self.types_ = sorted({e.type for m in annotated for e in m.gold_entities})
        self.lookups_ = {t: dict(data.lookups[t]) for t in self.types_ if t in data.lookups}
        folds = max(2, int(self.params["gazetteer_folds"]))
        others = [self._gazetteer([m for n, m in enumerate(annotated) if n % folds != fold], self.lookups_)
                  for fold in range(folds)] if self.params["gazetteer"] else [{}] * folds
        trainer = pycrfsuite.Trainer(verbose=False)
        for n, message in enumerate(annotated):
            if units(message):
                trainer.append(self.features(message, others[n % folds]), self.tags(message))
        trainer.set_params({"c1": float(self.params["c1"]), "c2": float(self.params["c2"]),
                            "max_iterations": int(self.params["max_iterations"]),
                            "feature.minfreq": float(self.params["min_freq"]),
                            "feature.possible_transitions": True})
        with tempfile.TemporaryDirectory(prefix="crf-") as folder:
            path = Path(folder) / MODEL_FILE
            trainer.train(str(path))
            self.model_ = path.read_bytes()
        if self.params["gazetteer"]:
            self.gazetteer_ = self._gazetteer(annotated, self.lookups_)
        return self

    def types(self) -> list[str]:
        return list(getattr(self, "types_", []))

    @property
    def tagger(self) -> Any:
        """The crfsuite tagger over the learned model (None before fit, or when nothing was learned)."""
        model = getattr(self, "model_", None)
        if self._tagger is None and model:
            import pycrfsuite

            self._tagger = pycrfsuite.Tagger()
            self._tagger.open_inmemory(model)
        return self._tagger

    def extract(self, message: Message) -> list[Entity]:
        tagger = self.tagger
        unit_spans = units(message)
        if tagger is None or not unit_spans:
            return []
        tags = tagger.tag(self.features(message))
        found = []
        for type_, start, end in tags_to_spans(unit_spans, tags):
            text = message.normalized[start:end]
            found.append(Entity(type_, text, start, end, self.lookups_.get(type_, {}).get(text), self.name))
        return found

    def learned_state(self) -> dict[str, Any]:
        return {k: v for k, v in super().learned_state().items() if k != "model_"}

    def save(self, directory: Path) -> None:
        """The CRF model as crfsuite's own file (``crf.model``), the rest in ``state.joblib``."""
        super().save(directory)
        if getattr(self, "model_", None):
            directory.mkdir(parents=True, exist_ok=True)
            (directory / MODEL_FILE).write_bytes(self.model_)  # type: ignore[arg-type]

    @classmethod
    def load(cls, directory: Path, params: dict[str, Any]) -> Self:
        component = super().load(directory, params)
        model_file = directory / MODEL_FILE
        component.model_ = model_file.read_bytes() if model_file.exists() else None
        return component

    def __getstate__(self) -> dict[str, Any]:
        return {**vars(self), "_tagger": None}  # the crfsuite tagger does not pickle; it reopens from model_

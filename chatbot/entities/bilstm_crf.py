"""A trained entity tagger: a BiLSTM-CRF over the characters of ``message.normalized``.

Units are characters, so any span can be tagged, including an entity that ends inside a morpheme
("부산에" -> 부산). Each character also gets, when ``pos_features`` is on, the Kiwi tag of the
morpheme it is in with its position there (``B-NNP``, ``I-NNP``): the network sees where the
tokenizer put the boundaries without being bound by them. What a unit is and what it carries are
three small functions (``character_units``, ``character_symbols``, ``morpheme_tags``), so they can be
swapped for the CRF tagger's once the two share them. Optional inputs (off by default: on KLUE-NER's
inner split they scored 0.746 against 0.758 without, docs/benchmarks.md): the character bigrams either
side (``bigrams``), the character's class (``char_types``) and jackknifed gazetteer marks (``gazetteer``).
``marginals`` gives each character's tag probabilities, which ``crf_bilstm_entity_extractor`` averages
with the CRF's.

Gold spans (``Message.gold_entities``) point into ``message.text``; they are moved into the
normalised text (``gold_in_normalized``) before they become BIO tags (``chatbot.entities.tagging``).
A corpus without entity annotations trains nothing: the component then finds nothing.

Training goes through ``chatbot.models.trainer.train`` like the other networks (early stopping on a
held-out share, checkpoints and ``resume``, time budget, device); the network is saved in
``tagger.safetensors`` (its config in the header), the vocabularies and lookup tables in
``vocab.json``, the training log in ``training.json``. It loads on the CPU.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from chatbot.entities import BatchEntityExtractor, gold_in_normalized, training_rows
from chatbot.entities.crf import build_gazetteer, char_type, gazetteer_marks, morpheme_of_chars
from chatbot.entities.tagging import OUTSIDE, spans_to_tags, tags_to_spans
from chatbot.message import Entity, Message, TrainingData

log = logging.getLogger(__name__)

WEIGHTS = "tagger"  # tagger.safetensors (chatbot.models.weights)
VOCAB = "vocab.json"
LOG = "training.json"
SPECIAL = ("<pad>", "<unk>")  # ids 0 and 1, as in chatbot.models.bilstm_crf
SPACE = "<sp>"  # the morpheme tag of a character outside every morpheme (spaces)
NETWORK = ("char_embedding_size", "pos_embedding_size", "hidden_size", "layers", "dropout")
PLACES = ("B", "I", "E", "S")  # where a character sits in a known entity string (gazetteer marks)
TRAINING = ("epochs", "batch_size", "learning_rate", "weight_decay", "warmup_steps", "patience", "checkpoint_every",
            "time_budget_minutes", "device", "progress")
INFERENCE_BATCH = 128


def character_units(message: Message) -> list[tuple[int, int]]:
    """One unit per character of ``message.normalized``, as ``(start, end)``."""
    return [(i, i + 1) for i in range(len(message.normalized))]


def character_symbols(message: Message, units: list[tuple[int, int]]) -> list[str]:
    """Each unit's text as a vocabulary entry (lower-cased: case says little in Korean text)."""
    return [message.normalized[start:end].lower() for start, end in units]


def morpheme_tags(message: Message, units: list[tuple[int, int]]) -> list[str]:
    """The POS tag of the morpheme each unit starts in, prefixed with B (its first character) or I.

    Kiwi gives contracted morphemes one shared span (했 = 하/VV + 었/EP): the first one listed
    wins (``morpheme_of_chars``, which the CRF's features read too). A unit in no morpheme (a space)
    gets ``SPACE``."""
    owner = morpheme_of_chars(message)
    tags = []
    for start, _ in units:
        index = owner[start] if 0 <= start < len(owner) else -1
        if index < 0:
            tags.append(SPACE)
        else:
            token = message.tokens[index]
            tags.append(("B-" if token.start == start else "I-") + token.pos.split("-")[0])
    return tags


class BiLstmCrfEntityExtractor(BatchEntityExtractor):
    """Finds typed spans of ``message.normalized`` with a character BiLSTM-CRF trained on gold entities."""

    name = "bilstm_crf_entity_extractor"
    requires = ("normalized", "tokens")
    defaults = {
        # input
        "pos_features": True,  # the morpheme's POS tag and B/I position per character (Kiwi tokens)
        "min_count": 2,  # rarer characters are the unknown one, so that one is learnt too
        "bigrams": False,  # embeddings of the character bigrams to the left and right of each character
        "bigram_embedding_size": 32,
        "char_types": False,  # the character's class (Hangul, digit, Latin, Hanja, punctuation...)
        "type_embedding_size": 8,
        # known entity strings (the training data's, jackknifed over gazetteer_folds as the CRF does, and
        # the lookup tables'): where a character sits in each covering one, per type, as dense inputs
        "gazetteer": False,
        "gazetteer_folds": 2,
        # network (chatbot.models.bilstm_crf)
        "char_embedding_size": 64,
        "pos_embedding_size": 16,
        "hidden_size": 128,  # per direction
        "layers": 1,
        "dropout": 0.3,
        # training (chatbot.models.trainer.TrainConfig), the names the other networks use
        "epochs": 30,
        "batch_size": 32,
        "learning_rate": 3e-3,
        "weight_decay": 0.0,
        "warmup_steps": 50,
        "patience": 3,
        "checkpoint_every": 500,
        "time_budget_minutes": None,
        "device": "auto",
        "validation_split": 0.1,  # held out for early stopping
        "progress": True,
        "checkpoint_dir": None,
        "resume": False,
        "seed": 0,
        "ignore_types": [],  # types another stage finds (as crf_entity_extractor's)
    }

    def fit(self, data: TrainingData) -> BiLstmCrfEntityExtractor:
        from chatbot.models.bilstm_crf import build
        from chatbot.models.trainer import TrainConfig, seed_everything, train

        p = self.params
        if not 0.0 < p["validation_split"] < 1.0:
            raise ValueError(f"validation_split must be between 0 and 1, got {p['validation_split']}")
        messages = [m for m in training_rows(data.messages, p["ignore_types"]) if m.normalized]
        self.model_: Any = None
        self.chars_: list[str] = []
        self.morpheme_tags_: list[str] = []
        self.bigrams_: list[str] = []
        self.gazetteer_: dict[str, list[str]] = {}
        self.gaz_types_: list[str] = []
        self.tags_: list[str] = []
        self.lookups_: dict[str, dict[str, str]] = {}
        self.training_log_: dict[str, Any] = {}
        if not any(m.gold_entities for m in messages):
            log.info("%s: no entity annotations in the data; it will find nothing", self.name)
            return self
        if p["pos_features"] and not any(m.tokens for m in messages):
            raise ValueError(f"{self.name} with pos_features reads message.tokens: put a tokenizer before it")
        gold = [spans_to_tags(character_units(m), gold_in_normalized(m)) for m in messages]
        self.tags_ = [OUTSIDE, *sorted({t for tags in gold for t in tags} - {OUTSIDE})]
        types = {t.partition("-")[2] for t in self.tags_[1:]}
        self.lookups_ = {t: dict(table) for t, table in data.lookups.items() if t in types}
        examples = list(zip(messages, gold, strict=True))
        training, validation = _split(examples, p["validation_split"], p["seed"] or 0)
        self.chars_ = _vocabulary([character_symbols(m, character_units(m)) for m, _ in training], p["min_count"])
        self.morpheme_tags_ = (_vocabulary([morpheme_tags(m, character_units(m)) for m, _ in training], 1)
                               if p["pos_features"] else [])
        self.bigrams_ = (_vocabulary([_bigrams(character_symbols(m, character_units(m)))[0] for m, _ in training],
                                     p["min_count"]) if p["bigrams"] else [])
        folds = max(2, int(p["gazetteer_folds"]))
        others: list[dict[str, list[str]]] = [{}] * folds
        self.gaz_types_ = sorted(types) if p["gazetteer"] else []
        self._index()
        tag_ids = {t: i for i, t in enumerate(self.tags_)}
        if p["gazetteer"]:
            others = [self._gazetteer([m for n, (m, _) in enumerate(training) if n % folds != fold])
                      for fold in range(folds)]
            self.gazetteer_ = self._gazetteer([m for m, _ in training])
        # Each row: (characters, morpheme tags, tag ids, extra id columns, dense gazetteer marks).
        rows = [(c, pos, [tag_ids[t] for t in tags], extra, dense)
                for n, (m, tags) in enumerate(training)
                for c, pos, extra, dense in [self._encode(m, others[n % folds])]]
        validation_rows = [(c, pos, [tag_ids[t] for t in tags], extra, dense) for m, tags in validation
                           for c, pos, extra, dense in [self._encode(m)]]

        seed_everything(p["seed"] or 0)  # the initial weights depend on the seed alone
        extra_sizes = [len(self.bigrams_)] * 2 if self.bigrams_ else []
        extra_dims = [p["bigram_embedding_size"]] * 2 if self.bigrams_ else []
        if p["char_types"]:
            extra_sizes, extra_dims = [*extra_sizes, len(TYPE_CLASSES)], [*extra_dims, p["type_embedding_size"]]
        self.model_ = build({"char_vocab_size": len(self.chars_), "num_tags": len(self.tags_),
                             "pos_vocab_size": len(self.morpheme_tags_), **{k: p[k] for k in NETWORK},
                             "extra_vocab_sizes": extra_sizes, "extra_embedding_sizes": extra_dims,
                             "dense_size": len(self.gaz_types_) * len(PLACES)})
        config = TrainConfig(**{k: p[k] for k in TRAINING}, seed=p["seed"] or 0)
        result = train(self.model_, rows, validation_rows, collate, lambda model, batch, step: model(*batch), config,
                       out_dir=p["checkpoint_dir"], resume=bool(p["resume"]))
        self.model_.to("cpu").eval()
        self.training_log_ = {**asdict(result), "rows": len(rows), "validation_rows": len(validation_rows),
                              "characters": len(self.chars_), "tags": self.tags_}
        log.info("%s: %s", self.name,
                 {k: self.training_log_[k] for k in ("best_validation_loss", "steps", "stopped_by")})
        return self

    def _index(self) -> None:
        """Id lookups of the vocabularies (derived from them, so not learned state)."""
        self._char_ids = {c: i for i, c in enumerate(self.chars_)}
        self._morpheme_ids = {t: i for i, t in enumerate(self.morpheme_tags_)}
        self._bigram_ids = {b: i for i, b in enumerate(getattr(self, "bigrams_", []))}
        self._gaz_slots = {f"g{t}={place}": n * len(PLACES) + k for n, t in enumerate(getattr(self, "gaz_types_", []))
                           for k, place in enumerate(PLACES)}

    def _gazetteer(self, messages: list[Message]) -> dict[str, list[str]]:
        """Entity strings of ``messages`` (two characters or more) and the lookup tables' surface forms."""
        entities = [e for m in messages for e in gold_in_normalized(m)]
        entities += [Entity(t, surface, 0, len(surface)) for t, table in self.lookups_.items() for surface in table]
        return build_gazetteer(entities, 2)

    def _encode(self, message: Message, gazetteer: dict[str, list[str]] | None = None
                ) -> tuple[list[int], list[int], list[list[int]], list[list[float]]]:
        """Character ids, morpheme-tag ids (zeros without ``pos_features``), extra id columns (bigrams, classes)
        and dense gazetteer marks of one message (``gazetteer`` replaces the learnt one: the jackknife)."""
        units = character_units(message)
        symbols = character_symbols(message, units)
        char_ids = [self._char_ids.get(c, 1) for c in symbols]
        pos_ids = ([self._morpheme_ids.get(t, 1) for t in morpheme_tags(message, units)] if self.morpheme_tags_
                   else [0] * len(char_ids))
        columns: list[list[int]] = []
        if self._bigram_ids:
            left, right = _bigrams(symbols)
            columns += [[self._bigram_ids.get(b, 1) for b in left], [self._bigram_ids.get(b, 1) for b in right]]
        if self.params["char_types"]:
            columns.append([TYPE_CLASSES.index(char_type(c)) if c.strip() else 1 for c in symbols])
        extras = [list(column) for column in zip(*columns, strict=True)] if columns else []
        dense: list[list[float]] = []
        if self._gaz_slots:
            dense = [[0.0] * len(self._gaz_slots) for _ in units]
            marks = gazetteer_marks(message.normalized, self.gazetteer_ if gazetteer is None else gazetteer)
            for i, names in marks.items():
                for name in names:
                    if name in self._gaz_slots:
                        dense[i][self._gaz_slots[name]] = 1.0
        return char_ids, pos_ids, extras, dense

    def types(self) -> list[str]:
        return sorted({t.partition("-")[2] for t in getattr(self, "tags_", [])[1:]})

    def _extract_batch(self, messages: list[Message]) -> list[list[Entity]]:
        """Entities of each message, decoded in batches of similar length on the CPU."""
        import torch

        found: list[list[Entity]] = [[] for _ in messages]
        if getattr(self, "model_", None) is None:
            return found
        order = sorted((i for i, m in enumerate(messages) if m.normalized), key=lambda i: len(messages[i].normalized))
        with torch.inference_mode():
            for lo in range(0, len(order), INFERENCE_BATCH):
                chunk = order[lo:lo + INFERENCE_BATCH]
                chars, lengths, pos, _, extras, dense = collate([self._row(messages[i]) for i in chunk])
                for i, best in zip(chunk, self.model_.decode(chars, lengths, pos, extras, dense), strict=True):
                    found[i] = self._entities(messages[i], [self.tags_[t] for t in best])
        return found

    def _row(self, message: Message) -> tuple:
        """A collate row of ``message`` without gold tags."""
        chars, pos, extras, dense = self._encode(message)
        return chars, pos, [], extras, dense

    def marginals(self, messages: list[Message]) -> list[Any]:
        """Each message's tag probabilities per character ([len(normalized), len(tags_)] arrays, in ``tags_``'s
        order; the CRF's forward-backward), for combining with another tagger."""
        import torch

        out: list[Any] = [None] * len(messages)
        order = sorted(range(len(messages)), key=lambda i: len(messages[i].normalized))
        with torch.inference_mode():
            for lo in range(0, len(order), INFERENCE_BATCH):
                chunk = [i for i in order[lo:lo + INFERENCE_BATCH] if messages[i].normalized]
                if not chunk:
                    continue
                chars, lengths, pos, _, extras, dense = collate([self._row(messages[i]) for i in chunk])
                probabilities = self.model_.marginals(chars, lengths, pos, extras, dense).numpy()
                for row, i in enumerate(chunk):
                    out[i] = probabilities[row, :len(messages[i].normalized)]
        return out

    def _entities(self, message: Message, tags: list[str]) -> list[Entity]:
        """Spans of the tagged characters, without spaces at their edges, with lookup values."""
        text, entities = message.normalized, []
        for type_, start, end in tags_to_spans(character_units(message), tags):
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start:
                surface = text[start:end]
                value = self.lookups_[type_].get(surface) if type_ in self.lookups_ else None
                entities.append(Entity(type_, surface, start, end, value, self.name))
        return entities

    def learned_state(self) -> dict[str, Any]:
        return {}  # everything is in vocab.json, tagger.safetensors and training.json (see save)

    def save(self, directory: Path) -> None:
        from chatbot.models.weights import SUFFIX, save_weights

        directory.mkdir(parents=True, exist_ok=True)
        vocab = {"chars": self.chars_, "morpheme_tags": self.morpheme_tags_, "tags": self.tags_,
                 "lookups": self.lookups_, "bigrams": self.bigrams_, "gazetteer": self.gazetteer_,
                 "gazetteer_types": self.gaz_types_}
        (directory / VOCAB).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        (directory / LOG).write_text(json.dumps(self.training_log_, ensure_ascii=False, indent=2), encoding="utf-8")
        if self.model_ is not None:
            save_weights(directory / f"{WEIGHTS}{SUFFIX}", self.model_.state_dict(),
                         {"config": self.model_.config.to_dict()})

    @classmethod
    def load(cls, directory: Path, params: dict[str, Any]) -> BiLstmCrfEntityExtractor:
        component = cls(**params)
        vocab = json.loads((directory / VOCAB).read_text(encoding="utf-8")) if (directory / VOCAB).exists() else {}
        component.chars_ = vocab.get("chars", [])
        component.morpheme_tags_ = vocab.get("morpheme_tags", [])
        component.tags_ = vocab.get("tags", [])
        component.lookups_ = vocab.get("lookups", {})
        component.bigrams_ = vocab.get("bigrams", [])
        component.gazetteer_ = vocab.get("gazetteer", {})
        component.gaz_types_ = vocab.get("gazetteer_types", [])
        log_file = directory / LOG
        component.training_log_ = json.loads(log_file.read_text(encoding="utf-8")) if log_file.exists() else {}
        component.model_ = None
        component._index()
        if component.tags_:
            from chatbot.models.bilstm_crf import build
            from chatbot.models.weights import load_network

            state_dict, header = load_network(directory, WEIGHTS)
            component.model_ = build(header["config"])
            component.model_.load_state_dict(state_dict)
            component.model_.eval()
        return component


def _vocabulary(sequences: list[list[str]], min_count: int) -> list[str]:
    """Padding, unknown, then the entries seen ``min_count`` times or more, most frequent first."""
    counts = Counter(s for sequence in sequences for s in sequence)
    kept = sorted((s for s, n in counts.items() if n >= min_count), key=lambda s: (-counts[s], s))
    return [*SPECIAL, *kept]


TYPE_CLASSES = ("<pad>", "<sp>", "H", "J", "D", "L", "C", "P", "S", "O")  # crf.char_type's classes, 1: a space


def _bigrams(symbols: list[str]) -> tuple[list[str], list[str]]:
    """The bigram ending at each character and the one starting there (``^``/``$`` past the ends)."""
    padded = ["^", *symbols, "$"]
    return ([padded[i] + padded[i + 1] for i in range(len(symbols))],
            [padded[i + 1] + padded[i + 2] for i in range(len(symbols))])


def _split(examples: list, fraction: float, seed: int) -> tuple[list, list]:
    """A seeded random held-out share; with a single example it is both (early stopping then just stops)."""
    if len(examples) < 2:
        return examples, examples
    shuffled = random.Random(seed).sample(examples, len(examples))
    n_val = min(len(examples) - 1, max(1, round(len(examples) * fraction)))
    return shuffled[n_val:], shuffled[:n_val]


def collate(rows: list[tuple]):
    """(char ids, morpheme-tag ids, tag ids[, extra id columns, dense features]) rows -> chars [B, L],
    lengths [B], pos [B, L], tags [B, L] (None without tags), extras [B, L, K] and dense [B, L, D] (None when
    the rows have none), padded with 0 (tag 0 is O; the CRF's mask ignores padding whatever its tag)."""
    import torch
    from torch.nn.utils.rnn import pad_sequence

    def padded(index: int):
        return pad_sequence([torch.tensor(r[index], dtype=torch.long) for r in rows], batch_first=True)

    lengths = torch.tensor([len(r[0]) for r in rows])
    extras = dense = None
    if len(rows[0]) > 3 and rows[0][3]:
        extras = pad_sequence([torch.tensor(r[3], dtype=torch.long) for r in rows], batch_first=True)
    if len(rows[0]) > 4 and rows[0][4]:
        dense = pad_sequence([torch.tensor(r[4], dtype=torch.float32) for r in rows], batch_first=True)
    return padded(0), lengths, padded(1), (padded(2) if rows[0][2] else None), extras, dense

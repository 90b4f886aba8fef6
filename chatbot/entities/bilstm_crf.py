"""A trained entity tagger: a BiLSTM-CRF over the characters of ``message.normalized``.

Units are characters, so any span can be tagged, including an entity that ends inside a morpheme
("부산에" -> 부산). Each character also gets, when ``pos_features`` is on, the Kiwi tag of the
morpheme it is in with its position there (``B-NNP``, ``I-NNP``): the network sees where the
tokenizer put the boundaries without being bound by them. What a unit is and what it carries are
three small functions (``character_units``, ``character_symbols``, ``morpheme_tags``), so they can be
swapped for the CRF tagger's once the two share them.

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

from chatbot.entities import EntityExtractor, gold_in_normalized, training_rows
from chatbot.entities.crf import morpheme_of_chars
from chatbot.entities.tagging import OUTSIDE, spans_to_tags, tags_to_spans
from chatbot.message import Entity, Message, TrainingData

log = logging.getLogger(__name__)

WEIGHTS = "tagger"  # tagger.safetensors (chatbot.models.weights)
VOCAB = "vocab.json"
LOG = "training.json"
SPECIAL = ("<pad>", "<unk>")  # ids 0 and 1, as in chatbot.models.bilstm_crf
SPACE = "<sp>"  # the morpheme tag of a character outside every morpheme (spaces)
NETWORK = ("char_embedding_size", "pos_embedding_size", "hidden_size", "layers", "dropout")
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


class BiLstmCrfEntityExtractor(EntityExtractor):
    """Finds typed spans of ``message.normalized`` with a character BiLSTM-CRF trained on gold entities."""

    name = "bilstm_crf_entity_extractor"
    requires = ("normalized", "tokens")
    defaults = {
        # input
        "pos_features": True,  # the morpheme's POS tag and B/I position per character (Kiwi tokens)
        "min_count": 2,  # rarer characters are the unknown one, so that one is learnt too
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
        self._index()
        tag_ids = {t: i for i, t in enumerate(self.tags_)}
        rows = [(*self._encode(m), [tag_ids[t] for t in tags]) for m, tags in training]
        validation_rows = [(*self._encode(m), [tag_ids[t] for t in tags]) for m, tags in validation]

        seed_everything(p["seed"] or 0)  # the initial weights depend on the seed alone
        self.model_ = build({"char_vocab_size": len(self.chars_), "num_tags": len(self.tags_),
                             "pos_vocab_size": len(self.morpheme_tags_), **{k: p[k] for k in NETWORK}})
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
        """Id lookups of the two vocabularies (derived from them, so not learned state)."""
        self._char_ids = {c: i for i, c in enumerate(self.chars_)}
        self._morpheme_ids = {t: i for i, t in enumerate(self.morpheme_tags_)}

    def _encode(self, message: Message) -> tuple[list[int], list[int]]:
        """Character ids and morpheme-tag ids (zeros without ``pos_features``) of one message."""
        units = character_units(message)
        char_ids = [self._char_ids.get(c, 1) for c in character_symbols(message, units)]
        if not self.morpheme_tags_:
            return char_ids, [0] * len(char_ids)
        return char_ids, [self._morpheme_ids.get(t, 1) for t in morpheme_tags(message, units)]

    def types(self) -> list[str]:
        return sorted({t.partition("-")[2] for t in getattr(self, "tags_", [])[1:]})

    def extract(self, message: Message) -> list[Entity]:
        return self._extract_batch([message])[0]

    def process_batch(self, messages: list[Message]) -> list[Message]:
        from chatbot.entities import add_entities

        for message, found in zip(messages, self._extract_batch(messages), strict=True):
            add_entities(message, found)
        return messages

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
                chars, lengths, pos = collate([(*self._encode(messages[i]), []) for i in chunk])[:3]
                for i, best in zip(chunk, self.model_.decode(chars, lengths, pos), strict=True):
                    found[i] = self._entities(messages[i], [self.tags_[t] for t in best])
        return found

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
                 "lookups": self.lookups_}
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


def _split(examples: list, fraction: float, seed: int) -> tuple[list, list]:
    """A seeded random held-out share; with a single example it is both (early stopping then just stops)."""
    if len(examples) < 2:
        return examples, examples
    shuffled = random.Random(seed).sample(examples, len(examples))
    n_val = min(len(examples) - 1, max(1, round(len(examples) * fraction)))
    return shuffled[n_val:], shuffled[:n_val]


def collate(rows: list[tuple[list[int], list[int], list[int]]]):
    """(char ids, morpheme-tag ids, tag ids) rows -> chars [B, L], lengths [B], pos [B, L], tags [B, L],
    padded with 0 (tag 0 is O; the CRF's mask ignores padding whatever its tag)."""
    import torch
    from torch.nn.utils.rnn import pad_sequence

    def padded(index: int):
        return pad_sequence([torch.tensor(r[index], dtype=torch.long) for r in rows], batch_first=True)

    lengths = torch.tensor([len(r[0]) for r in rows])
    return padded(0), lengths, padded(1), (padded(2) if rows[0][2] else None)

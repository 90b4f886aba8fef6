"""Neural intent classifier (TextCNN or BiLSTM with attention) over the pipeline's morphemes.

It writes what the scikit-learn classifier writes, so the fallback detector and the responders
cannot tell them apart: ``intent``, a calibrated ``confidence`` (softmax with one temperature fitted
on a held-out split), a ``ranking``, and ``context["margin"]``, the top raw logit, which is the
fallback detector's max-logit signal.

Input units are the Kiwi morphemes of ``message.tokens`` (lemma/POS by default), between
sentence-start and sentence-end markers: the sentence type lives in the final ending and
punctuation. With ``wide_features`` the network also gets the featurizer's sparse TF-IDF row
(``message.features``) through a linear "wide" part added to its logits (Wide & Deep).
Training goes through ``chatbot.models.trainer.train``; the network is saved in
``classifier.safetensors`` (its architecture and config in the header; older models have
``classifier.pt``, which still loads), the training log in ``training.json``, the vocabulary and
the temperature in the component's joblib state.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

from chatbot.components import Component
from chatbot.message import Message, TrainingData

log = logging.getLogger(__name__)

WEIGHTS = "classifier"  # classifier.safetensors (chatbot.models.weights)
LOG = "training.json"
PAD, UNK, BOS, EOS, SEP = 0, 1, 2, 3, 4  # PAD and UNK as in chatbot.models.text_classifiers
SPECIAL = ("<pad>", "<unk>", "<s>", "</s>", "<sep>")
NETWORK = {  # the component parameters each architecture's config takes
    "textcnn": ("embedding_size", "kernel_sizes", "filters", "dropout"),
    "bilstm": ("embedding_size", "hidden_size", "layers", "attention_size", "dropout"),
}
TRAINING = ("epochs", "batch_size", "learning_rate", "weight_decay", "warmup_steps", "patience", "checkpoint_every",
            "time_budget_minutes", "device", "progress")
INFERENCE_BATCH = 256
OUTPUT_DEFAULTS = {  # what every intent classifier writes, as in sklearn_intent_classifier
    "calibration": "temperature",  # or null for the plain softmax
    "ood_label": "OOD",
    "ood_as_class": True,
    "ranking_size": 5,
}


def token_unit(token, unit: str) -> str:
    """One morpheme as a vocabulary entry: its lemma or surface form, with or without the POS tag."""
    text = (token.lemma or token.form) if unit.startswith("lemma") else token.form
    text = text.lower()
    return f"{text}/{token.pos.split('-')[0]}" if unit.endswith("_pos") else text


class NeuralIntentClassifier(Component):
    """Predicts ``message.intent`` with a calibrated ``confidence`` and a ranking, like the sklearn one."""

    name = "neural_intent_classifier"
    requires = ("tokens",)
    provides = ("intent",)
    defaults = {
        "architecture": "textcnn",  # or "bilstm"
        # input
        "token_unit": "lemma_pos",  # "lemma", "form" or "form_pos"
        "min_count": 2,  # rarer units are the unknown word, so it is learnt too
        "max_length": 64,  # morphemes kept per message (the last ones, where the ending is)
        "characters": False,  # also the syllables of the normalised text, after a separator
        "wide_features": False,  # also a linear layer over message.features (needs a featurizer before it)
        # network (chatbot.models.text_classifiers)
        "embedding_size": 128,
        "dropout": 0.3,
        "kernel_sizes": [1, 2, 3, 4],  # textcnn
        "filters": 128,  # textcnn, per kernel width
        "hidden_size": 128,  # bilstm, per direction
        "layers": 1,  # bilstm
        "attention_size": 128,  # bilstm
        # loss
        "class_weight": None,  # or "balanced" (n_max / n_class) or "sqrt_balanced" (its square root)
        "label_smoothing": 0.0,
        "word_dropout": 0.0,  # share of training tokens replaced by the unknown word (regularises, teaches UNK)
        # training (chatbot.models.trainer.TrainConfig), the names the seq2seq responder uses
        "epochs": 20,
        "batch_size": 64,
        "learning_rate": 2e-3,
        "weight_decay": 0.01,
        "warmup_steps": 100,
        "patience": 3,
        "checkpoint_every": 500,
        "time_budget_minutes": None,
        "device": "auto",
        "validation_split": 0.1,  # held out for early stopping and the temperature
        "progress": True,
        "checkpoint_dir": None,
        "resume": False,
        "seed": 0,
        **OUTPUT_DEFAULTS,
    }

    def needs(self) -> tuple[str, ...]:
        return (*self.requires, "features") if self.params["wide_features"] else self.requires

    def fit(self, data: TrainingData) -> NeuralIntentClassifier:
        import torch

        from chatbot.models.text_classifiers import build
        from chatbot.models.trainer import TrainConfig, train

        p = self._checked_params()
        messages, self.classes_ = labelled_messages(data, p)
        if not any(m.tokens for m in messages):
            raise ValueError(f"{self.name} reads message.tokens: put a tokenizer (and lemmatizer) before it")
        if p["wide_features"] and any(m.features is None for m in messages):
            raise ValueError(f"{self.name} with wide_features reads message.features: put a featurizer "
                             "(tfidf_featurizer) before it")
        label = {c: i for i, c in enumerate(self.classes_)}
        training, validation = self._split(messages, p["validation_split"], p["seed"] or 0)
        self.vocabulary_ = self._vocabulary(training)
        rows = [self._row(m, label[m.gold_intent]) for m in training]
        validation_rows = [self._row(m, label[m.gold_intent]) for m in validation]
        wide = messages[0].features.shape[1] if p["wide_features"] else 0

        torch.manual_seed(p["seed"] or 0)  # the initial weights depend on the seed alone
        network = {k: p[k] for k in NETWORK[p["architecture"]]}
        self.model_ = build(p["architecture"], {"vocab_size": len(self.vocabulary_), "wide_features": wide,
                                                "num_classes": len(self.classes_), **network})
        weights = self._class_weights([label[m.gold_intent] for m in training])
        criterion = torch.nn.CrossEntropyLoss(weight=weights, label_smoothing=p["label_smoothing"])

        def loss_fn(model, batch, step):
            ids, lengths, labels, *features = batch
            if step >= 0 and p["word_dropout"]:  # training steps only; validation sees every word
                dropped = (torch.rand(ids.shape, device=ids.device) < p["word_dropout"]) & (ids > SEP)
                ids = ids.masked_fill(dropped, UNK)
            return criterion.to(ids.device)(model(ids, lengths, *features).float(), labels)

        config = TrainConfig(**{k: p[k] for k in TRAINING}, seed=p["seed"] or 0)
        result = train(self.model_, rows, validation_rows, collate, loss_fn, config,
                       out_dir=p["checkpoint_dir"], resume=bool(p["resume"]))
        self.model_.to("cpu").eval()
        logits = self._logits(validation_rows)
        gold = np.array([row[1] for row in validation_rows])
        self.temperature_ = fit_temperature(logits, gold) if p["calibration"] == "temperature" else 1.0
        self.training_log_ = {
            **asdict(result), "architecture": p["architecture"], "rows": len(rows),
            "validation_rows": len(validation_rows), "vocab_size": len(self.vocabulary_),
            "temperature": round(self.temperature_, 4),
            "validation_accuracy": round(float((logits.argmax(1) == gold).mean()), 4),
        }
        log.info("%s (%s): %s", self.name, p["architecture"],
                 {k: self.training_log_[k] for k in ("validation_accuracy", "temperature", "steps", "stopped_by")})
        return self

    def _checked_params(self) -> dict[str, Any]:
        """Validation belongs in fit (scikit-learn's rule); names the bad value and the choices."""
        p = self.params
        if p["architecture"] not in NETWORK:
            raise ValueError(f"architecture must be one of {', '.join(NETWORK)}, got {p['architecture']!r}")
        if p["token_unit"] not in ("lemma", "lemma_pos", "form", "form_pos"):
            raise ValueError(f"token_unit must be lemma, lemma_pos, form or form_pos, got {p['token_unit']!r}")
        check_training_params(p)
        return p

    @staticmethod
    def _split(messages: list[Message], fraction: float, seed: int) -> tuple[list[Message], list[Message]]:
        """Stratified when every intent can give a row, else random; never leaves training empty."""
        from sklearn.model_selection import train_test_split

        labels = [m.gold_intent for m in messages]
        n_val = max(1, round(len(messages) * fraction))
        counts = Counter(labels)
        stratify = labels if n_val >= len(counts) and min(counts.values()) >= 2 else None
        if len(messages) - n_val < 1:
            return messages, messages
        training, validation = train_test_split(messages, test_size=n_val, random_state=seed, stratify=stratify)
        return training, validation

    def _vocabulary(self, messages: list[Message]) -> dict[str, int]:
        counts = Counter(u for m in messages for u in self.units(m))
        if self.params["characters"]:
            counts.update(c for m in messages for c in self.characters(m))
        kept = sorted((u for u, n in counts.items() if n >= self.params["min_count"]), key=lambda u: (-counts[u], u))
        return {u: i for i, u in enumerate([*SPECIAL, *kept])}

    def _class_weights(self, labels: list[int]):
        """Per-class loss weights: n_max / n_class (balanced) or its square root; None without weighting."""
        import torch

        kind = self.params["class_weight"]
        if kind is None:
            return None
        counts = np.bincount(labels, minlength=len(self.classes_)).astype(float)
        weights = counts.max() / np.maximum(counts, 1.0)
        return torch.tensor(np.sqrt(weights) if kind == "sqrt_balanced" else weights, dtype=torch.float32)

    def units(self, message: Message) -> list[str]:
        """The message's morphemes as vocabulary entries."""
        return [token_unit(t, self.params["token_unit"]) for t in message.tokens]

    def characters(self, message: Message) -> list[str]:
        """The syllables of the normalised text ('_' for a space), a namespace apart from morphemes."""
        text = (message.normalized or message.text).lower()
        return ["#" + ("_" if c.isspace() else c) for c in text[-self.params["max_length"]:]]

    def encode(self, message: Message) -> list[int]:
        """Ids of the message between <s> and </s>; an overlong message keeps its end."""
        ids = [self.vocabulary_.get(u, UNK) for u in self.units(message)]
        ids = [BOS, *ids[-(self.params["max_length"] - 2):], EOS]
        if self.params["characters"]:
            ids += [SEP, *(self.vocabulary_.get(c, UNK) for c in self.characters(message)), EOS]
        return ids

    def _row(self, message: Message, label: int) -> tuple:
        """A dataset row: (ids, label), plus the sparse feature row with a wide part."""
        if self.params["wide_features"]:
            return self.encode(message), label, message.features
        return self.encode(message), label

    def _logits(self, rows: list[tuple]) -> np.ndarray:
        """Raw logits [N, C] on the CPU, in batches of similar length (padding does not change them)."""
        import torch

        order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
        out = np.empty((len(rows), len(self.classes_)), dtype=np.float64)
        with torch.inference_mode():
            for lo in range(0, len(order), INFERENCE_BATCH):
                chunk = order[lo:lo + INFERENCE_BATCH]
                ids, lengths, _, *features = collate([rows[i] for i in chunk])
                out[chunk] = self.model_(ids, lengths, *features).float().numpy()
        return out

    def process_batch(self, messages: list[Message]) -> list[Message]:
        if not messages:
            return messages
        logits = self._logits([self._row(m, 0) for m in messages])
        return annotate(messages, logits, self.temperature_, self.classes_, self.params["ranking_size"])

    def process(self, message: Message) -> Message:
        return self.process_batch([message])[0]

    def learned_state(self) -> dict[str, Any]:
        """What joblib stores (vocabulary, classes, temperature); the network and log have their own files."""
        return {k: v for k, v in super().learned_state().items() if k not in ("model_", "training_log_")}

    def save(self, directory: Path) -> None:
        from chatbot.models.weights import SUFFIX, save_weights

        super().save(directory)
        header = {"architecture": self.params["architecture"],
                  "config": self.model_.config.to_dict()}  # type: ignore[union-attr, operator]  # nn.Module types attributes as Tensor | Module
        save_weights(directory / f"{WEIGHTS}{SUFFIX}", self.model_.state_dict(), header)
        (directory / LOG).write_text(json.dumps(self.training_log_, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, params: dict[str, Any]) -> NeuralIntentClassifier:
        from chatbot.models.text_classifiers import build
        from chatbot.models.weights import load_network

        component = super().load(directory, params)
        state_dict, header = load_network(directory, WEIGHTS)
        component.model_ = build(header["architecture"], header["config"])
        component.model_.load_state_dict(state_dict)
        component.model_.eval()
        log_file = directory / LOG
        component.training_log_ = json.loads(log_file.read_text(encoding="utf-8")) if log_file.exists() else {}
        return component


def labelled_messages(data: TrainingData, p: dict[str, Any]) -> tuple[list[Message], list[str]]:
    """The rows an intent classifier learns from (``OOD`` ones only with ``ood_as_class``) and its classes."""
    excluded = p["ood_label"] if not p["ood_as_class"] else None
    messages = [m for m in data.messages if m.gold_intent and m.gold_intent != excluded]
    counts = Counter(m.gold_intent for m in messages)
    if len(set(counts) - {p["ood_label"]}) < 2:
        raise ValueError(f"an intent classifier needs at least 2 intents; the data has {len(counts)}")
    return messages, sorted(counts)


def check_training_params(p: dict[str, Any]) -> None:
    """The checks every neural intent classifier shares; each names the bad value and the choices."""
    if not 0.0 < p["validation_split"] < 1.0:
        raise ValueError("validation_split must be between 0 and 1: the held-out rows decide early stopping "
                         f"and the confidence temperature (got {p['validation_split']})")
    if p["class_weight"] not in (None, "balanced", "sqrt_balanced"):
        raise ValueError(f"class_weight must be null, balanced or sqrt_balanced, got {p['class_weight']!r}")
    if p["calibration"] not in (None, "temperature"):
        raise ValueError(f"calibration must be temperature or null, got {p['calibration']!r}")


def annotate(messages: list[Message], logits: np.ndarray, temperature: float, classes: list[str],
             ranking_size: int) -> list[Message]:
    """Write intent, calibrated confidence, ranking and the max-logit margin from raw logits [N, C]."""
    probabilities = softmax(logits / temperature)
    for message, row, raw in zip(messages, probabilities, logits, strict=True):
        message.context["margin"] = float(raw.max())
        order = np.argsort(row)[::-1][:ranking_size]
        message.ranking = [(classes[i], round(float(row[i]), 4)) for i in order]
        message.intent, message.confidence = classes[order[0]], float(row[order[0]])
    return messages


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of [N, C] logits."""
    return special.softmax(logits, axis=1)


def fit_temperature(logits: np.ndarray, gold: np.ndarray) -> float:
    """The softmax temperature that minimises the negative log-likelihood of held-out labels."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        log_probabilities = special.log_softmax(logits / np.exp(log_t), axis=1)
        return float(-np.mean(log_probabilities[np.arange(len(gold)), gold]))

    return float(np.exp(minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x))


def collate(rows: list[tuple]):
    """(ids, label[, sparse feature row]) rows -> ids [B, L] padded with 0, lengths [B], labels [B]
    (and features [B, N] as a sparse COO tensor)."""
    import torch

    sequences, labels = [r[0] for r in rows], [r[1] for r in rows]
    ids = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in sequences], batch_first=True)
    batch: tuple[torch.Tensor, ...] = (ids, torch.tensor([len(s) for s in sequences]), torch.tensor(labels))
    if len(rows[0]) > 2:
        import scipy.sparse as sp

        coo = sp.vstack([r[2] for r in rows]).tocoo()
        indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        features = torch.sparse_coo_tensor(indices, torch.from_numpy(coo.data.astype(np.float32)), coo.shape,
                                           check_invariants=False)  # scipy's COO from vstack is valid
        batch += (features.coalesce(),)
    return batch

"""BERT intent classifier: a sequence-classification head fine-tuned on a pretrained checkpoint.

``pretrained`` is a checkpoint folder or a cached Hugging Face id (KoBERT, KLUE-BERT, KoELECTRA,
or our own from ``python -m chatbot pretrain``), read by ``chatbot.models.bert``; nothing is
downloaded. The input is the normalised text, tokenized by the checkpoint's own tokenizer.

It writes what the other intent classifiers write, so fallback detection and the responders work
unchanged: ``intent``, a ``confidence`` calibrated by one softmax temperature fitted on held-out
rows, a ``ranking``, and ``context["margin"]``, the top raw logit (the fallback's max-logit signal).
Fine-tuning goes through ``chatbot.models.trainer.train`` (AdamW with warm-up and decay, bf16 on
CUDA, early stopping, checkpoints and ``resume``, the time budget, DDP under torchrun). The
fine-tuned model and tokenizer are saved as a standard checkpoint in ``bert/`` inside the model
directory, so serving never needs the original checkpoint.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from chatbot.components import Component
from chatbot.intents.neural_classifier import (
    OUTPUT_DEFAULTS,
    NeuralIntentClassifier,
    annotate,
    check_training_params,
    fit_temperature,
    labelled_messages,
)
from chatbot.message import Message, TrainingData
from chatbot.models.bert import FINE_TUNING, TRAIN_CONFIG_KEYS, save_checkpoint

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "bert"
LOG = "training.json"
INFERENCE_BATCH = 64


class BertIntentClassifier(Component):
    """Predicts ``message.intent`` with a calibrated ``confidence`` and a ranking, like the sklearn one."""

    name = "bert_intent_classifier"
    provides = ("intent",)  # it reads the normalised text, or the raw one
    defaults = {
        "pretrained": None,  # checkpoint folder or cached id; train --pretrained sets it
        "max_length": 64,  # pieces per message, special tokens included
        "label_smoothing": 0.0,
        "class_weight": None,  # or "balanced" / "sqrt_balanced", as in neural_intent_classifier
        # training (chatbot.models.trainer.TrainConfig): fine-tuning rates
        **FINE_TUNING,
        "seed": 0,
        **OUTPUT_DEFAULTS,
    }

    def fit(self, data: TrainingData) -> BertIntentClassifier:
        import torch

        from chatbot.models.bert import load_model, load_tokenizer
        from chatbot.models.trainer import TrainConfig, train

        p = self._checked_params()
        messages, self.classes_ = labelled_messages(data, p)
        label = {c: i for i, c in enumerate(self.classes_)}
        self.tokenizer_ = load_tokenizer(str(p["pretrained"]))
        torch.manual_seed(p["seed"] or 0)  # the new head's initial weights depend on the seed alone
        self.model_ = load_model(str(p["pretrained"]), "sequence_classification", num_labels=len(self.classes_),
                                 id2label=dict(enumerate(self.classes_)), label2id=label)
        training, validation = NeuralIntentClassifier._split(messages, p["validation_split"], p["seed"] or 0)
        rows = [(self.encode(m), label[m.gold_intent]) for m in training]
        validation_rows = [(self.encode(m), label[m.gold_intent]) for m in validation]
        weights = self._class_weights([r[1] for r in rows])  # type: ignore[misc]  # borrowed: it reads only self.params
        criterion = torch.nn.CrossEntropyLoss(weight=weights, label_smoothing=p["label_smoothing"])

        def loss_fn(model, batch, step):
            ids, mask, labels = batch
            return criterion.to(ids.device)(model(input_ids=ids, attention_mask=mask).logits.float(), labels)

        config = TrainConfig(**{k: p[k] for k in TRAIN_CONFIG_KEYS}, seed=p["seed"] or 0)
        result = train(self.model_, rows, validation_rows, self.collate, loss_fn, config,
                       out_dir=p["checkpoint_dir"], resume=bool(p["resume"]))
        self.model_.to("cpu").eval()
        logits = self._logits([r[0] for r in validation_rows])
        gold = np.array([r[1] for r in validation_rows])
        self.temperature_ = fit_temperature(logits, gold) if p["calibration"] == "temperature" else 1.0
        self.training_log_ = {
            **asdict(result), "pretrained": str(p["pretrained"]), "rows": len(rows),
            "validation_rows": len(validation_rows), "temperature": round(self.temperature_, 4),
            "validation_accuracy": round(float((logits.argmax(1) == gold).mean()), 4),
            "parameters": int(sum(t.numel() for t in self.model_.parameters())),
        }
        log.info("%s: %s", self.name,
                 {k: self.training_log_[k] for k in ("validation_accuracy", "temperature", "steps", "stopped_by")})
        return self

    def _checked_params(self) -> dict[str, Any]:
        p = self.params
        if not p["pretrained"]:
            raise ValueError(f"{self.name} needs a pretrained checkpoint: pass --pretrained PATH_OR_ID to train "
                             "(a folder from `python -m chatbot pretrain`, or KoBERT/KLUE-BERT downloaded beforehand)")
        check_training_params(p)
        if int(p["max_length"]) < 3:
            raise ValueError(f"max_length must leave room for [CLS], a piece and [SEP], got {p['max_length']}")
        return p

    _class_weights = NeuralIntentClassifier._class_weights

    def encode(self, message: Message) -> list[int]:
        """The checkpoint tokenizer's ids for the normalised text, truncated to ``max_length``."""
        text = message.normalized or message.text
        return self.tokenizer_(text, truncation=True, max_length=int(self.params["max_length"]))["input_ids"]

    def collate(self, rows: list[tuple[list[int], int]]):
        """(ids, label) rows -> ids [B, L] padded with the tokenizer's pad id, attention mask [B, L], labels [B]."""
        import torch

        from chatbot.models.bert import pad_ids

        ids, mask = pad_ids([ids for ids, _ in rows], self.tokenizer_.pad_token_id)
        return ids, mask, torch.tensor([label for _, label in rows])

    def _logits(self, sequences: list[list[int]]) -> np.ndarray:
        """Raw logits [N, C] on the CPU, in batches of similar length."""
        import torch

        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        out = np.empty((len(sequences), len(self.classes_)), dtype=np.float64)
        with torch.inference_mode():
            for lo in range(0, len(order), INFERENCE_BATCH):
                chunk = order[lo:lo + INFERENCE_BATCH]
                ids, mask, _ = self.collate([(sequences[i], 0) for i in chunk])
                out[chunk] = self.model_(input_ids=ids, attention_mask=mask).logits.float().numpy()
        return out

    def process_batch(self, messages: list[Message]) -> list[Message]:
        if not messages:
            return messages
        logits = self._logits([self.encode(m) for m in messages])
        return annotate(messages, logits, self.temperature_, self.classes_, self.params["ranking_size"])

    def process(self, message: Message) -> Message:
        return self.process_batch([message])[0]

    def learned_state(self) -> dict[str, Any]:
        """What joblib stores (classes, temperature); the checkpoint and the log have their own files."""
        skip = ("model_", "tokenizer_", "training_log_")
        return {k: v for k, v in super().learned_state().items() if k not in skip}

    def save(self, directory: Path) -> None:
        super().save(directory)
        save_checkpoint(directory / CHECKPOINT_DIR, self.model_, self.tokenizer_)
        (directory / LOG).write_text(json.dumps(self.training_log_, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, params: dict[str, Any]) -> BertIntentClassifier:
        from chatbot.models.bert import for_serving, load_model, load_tokenizer

        component = super().load(directory, params)
        component.tokenizer_ = load_tokenizer(str(directory / CHECKPOINT_DIR))
        component.model_ = for_serving(load_model(str(directory / CHECKPOINT_DIR), "sequence_classification"),
                                       bool(component.params["int8"]))
        log_file = directory / LOG
        component.training_log_ = json.loads(log_file.read_text(encoding="utf-8")) if log_file.exists() else {}
        return component

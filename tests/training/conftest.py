"""A tiny seq2seq pipeline config for the neural training tests (written to tmp_path, never bundled)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

# The tiny network of tests/chatbot/test_components.py; mecab loads in milliseconds where kiwi takes
# seconds, which matters for the processes that torchrun starts.
TINY_SEQ2SEQ = {"vocab_size": 80, "embedding_size": 16, "hidden_size": 16, "layers": 1, "epochs": 2,
                "batch_size": 16, "progress": False}


def tiny_neural_config(path: Path, training: dict | None = None, **seq2seq: object) -> Path:
    """Write the config: mecab -> TF-IDF -> logistic regression -> a tiny seq2seq responder."""
    config = {
        "pipeline": [
            {"name": "normalizer"},
            {"name": "tokenizer", "params": {"backend": "mecab"}},
            {"name": "tfidf_featurizer", "params": {"word_ngram_range": [1, 1], "char_ngram_range": [1, 2]}},
            {"name": "sklearn_intent_classifier", "params": {"model": "logreg"}},
            {"name": "seq2seq_responder", "params": {**TINY_SEQ2SEQ, **seq2seq}},
        ],
        "training": {"validation_split": 0.15, "seed": 0, **(training or {})},
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def neural_config(tmp_path: Path) -> Callable[..., Path]:
    """A factory: ``neural_config(training=None, **seq2seq_params)`` writes the tiny config into tmp_path."""
    return lambda training=None, **seq2seq: tiny_neural_config(tmp_path / "tiny_seq2seq.yaml", training, **seq2seq)

"""Sentence vectors from a BERT-family encoder: mean of the non-padding token vectors, L2-normalised.

``SentenceEncoder`` holds a tokenizer and an ``AutoModel`` (loaded by ``chatbot.models.bert``, so
nothing is downloaded) and turns texts into unit vectors [N, H] in length-sorted batches. The
answer-selection responder fine-tunes one contrastively; the ``bert_embedder`` component exposes
one as a dense featurizer for other components.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

INFERENCE_BATCH = 64


class SentenceEncoder:
    """Tokenizer + encoder; ``encode(texts) -> float32 [N, H]`` unit vectors."""

    def __init__(self, tokenizer: Any, model: Any, max_length: int = 64):
        self.tokenizer, self.model, self.max_length = tokenizer, model, int(max_length)

    @classmethod
    def from_pretrained(cls, path_or_id: str | Path, max_length: int = 64) -> SentenceEncoder:
        from chatbot.models.bert import load_model, load_tokenizer

        return cls(load_tokenizer(str(path_or_id)), load_model(str(path_or_id), "encoder"), max_length)

    def save(self, directory: Path) -> None:
        from chatbot.models.bert import save_checkpoint

        save_checkpoint(directory, self.model, self.tokenizer)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def ids(self, text: str) -> list[int]:
        return self.tokenizer(text, truncation=True, max_length=self.max_length)["input_ids"]

    def pad(self, sequences: list[list[int]]):
        """Id lists -> ids [B, L] padded with the tokenizer's pad id, attention mask [B, L]."""
        from chatbot.models.bert import pad_ids

        return pad_ids(sequences, self.tokenizer.pad_token_id)

    def forward(self, ids, mask, model: Any = None):
        """Unit sentence vectors [B, H] as a tensor (with gradients when training)."""
        import torch.nn.functional as F

        from chatbot.models.bert import mean_pool

        hidden = (model or self.model)(input_ids=ids, attention_mask=mask).last_hidden_state
        return F.normalize(mean_pool(hidden, mask).float(), dim=-1)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors [N, H] (float32) on the CPU, in batches of similar length."""
        import torch

        sequences = [self.ids(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(sequences[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        self.model.eval()
        with torch.inference_mode():
            for lo in range(0, len(order), INFERENCE_BATCH):
                chunk = order[lo:lo + INFERENCE_BATCH]
                out[chunk] = self.forward(*self.pad([sequences[i] for i in chunk])).numpy()
        return out

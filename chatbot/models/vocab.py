"""Subword vocabulary: SentencePiece (unigram or BPE) trained on the corpus, saved with the model.

Ids are fixed: 0 pad, 1 unk, 2 bos, 3 eos (``chatbot.models.seq2seq``). Unknown characters map
to ``unk`` and never fail encoding; decoding drops special ids and joins pieces into plain text.
"""

from __future__ import annotations

import io
from pathlib import Path

import sentencepiece as spm

from chatbot.models.seq2seq import BOS, EOS, PAD, UNK

MODEL_FILE = "spm.model"


class SubwordVocab:
    def __init__(self, processor: spm.SentencePieceProcessor):
        self.processor = processor

    @classmethod
    def train(cls, texts: list[str], vocab_size: int = 8000, model_type: str = "unigram",
              character_coverage: float = 0.9995) -> SubwordVocab:
        """Train on ``texts`` in memory. The size is capped to what the text can support.

        Under ``torchrun`` rank 0 alone trains and the other ranks receive its model, so every
        rank encodes with the same pieces whatever text or SentencePiece version each one has."""
        from chatbot.models.trainer import distributed

        if model_type not in ("unigram", "bpe"):  # on every rank: one rank failing alone would leave the others waiting
            raise ValueError(f"model_type must be 'unigram' or 'bpe', got {model_type!r}")
        rank, world = distributed()
        proto = cls._train_proto(texts, vocab_size, model_type, character_coverage) if rank == 0 else None
        if world > 1:
            import torch
            import torch.distributed as dist

            payload = [proto]  # CPU tensors, so gloo carries it even where CUDA tensors go to NCCL
            dist.broadcast_object_list(payload, src=0, device=torch.device("cpu"))
            proto = payload[0]
        return cls(spm.SentencePieceProcessor(model_proto=proto))

    @staticmethod
    def _train_proto(texts: list[str], vocab_size: int, model_type: str, character_coverage: float) -> bytes:
        lines = [t.strip() for t in texts if t and t.strip()]
        if not lines:
            raise ValueError("cannot train a vocabulary from no text")
        # SentencePiece refuses a size below the number of distinct characters it must cover
        # (Hangul syllables add up fast on a small corpus): never ask for less than that.
        distinct = len({c for line in lines for c in line if not c.isspace()})
        vocab_size = max(vocab_size, distinct + 8)
        buffer = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=buffer, vocab_size=vocab_size, model_type=model_type,
            character_coverage=character_coverage, pad_id=PAD, unk_id=UNK, bos_id=BOS, eos_id=EOS,
            hard_vocab_limit=False, minloglevel=2, num_threads=2,
        )
        return buffer.getvalue()

    @classmethod
    def load(cls, directory: str | Path) -> SubwordVocab:
        return cls(spm.SentencePieceProcessor(model_file=str(Path(directory) / MODEL_FILE)))

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / MODEL_FILE
        path.write_bytes(self.processor.serialized_model_proto())
        return path

    def __len__(self) -> int:
        return self.processor.get_piece_size()

    def encode(self, text: str, max_length: int | None = None) -> list[int]:
        ids = self.processor.encode(text, out_type=int)
        return ids[:max_length] if max_length else ids

    def decode(self, ids: list[int]) -> str:
        """Plain text: special ids dropped, pieces joined, spaces tidied."""
        kept = [i for i in ids if i not in (PAD, BOS, EOS) and 0 <= i < len(self)]
        return " ".join(self.processor.decode(kept).split())

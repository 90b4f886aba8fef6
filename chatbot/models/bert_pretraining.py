"""Masked-language-model pretraining of a small BERT: encoding with masking groups, the masking
collator, length-bucketed batches, the model and its MLM accuracy. ``training/pretrain.py`` drives
them through ``chatbot.models.trainer.train``.

- **Whole-word masking on morphemes.** Korean words (eojeol) glue particles and endings to a stem
  (``먹었어요``), so masking whole eojeol hides too much and masking single SentencePiece pieces too
  little: half a morpheme is easy to guess from its other half. Each piece is therefore grouped
  with the other pieces of its morpheme (from a morphological analyser such as Kiwi), found by the
  morpheme whose character span holds the piece's first non-space character; a group is masked
  or left whole. The text itself is tokenised raw (not morpheme-split), as fine-tuning and serving
  will feed it.
- **Masks are drawn in the collate**, so every epoch masks afresh, from the torch RNG, which the
  trainer seeds and its checkpoints restore. Validation rows are masked once with their own
  generator, so validation loss and accuracy compare like with like across evaluations.
- We do not use ``transformers.DataCollatorForLanguageModeling``: its whole-word mode finds words
  from gaps between offsets (whitespace words, not morphemes) and drops BERT's 80/10/10 rule.
- **Length buckets**: batches of rows of similar length, padded to their own longest row (dynamic
  padding), wasting little compute on padding; the order of the batches is shuffled.

Shapes: ``input_ids``/``attention_mask``/``labels`` [B, L]; groups [B, L] (-1 where nothing may be
masked: special tokens, padding); per-row group tables [B, G].
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn.utils.rnn import pad_sequence

IGNORE = -100  # the label of positions without a prediction (the loss's ignore_index)
ENCODE_CHUNK = 4096  # lines tokenised at a time: bounds memory on large corpora


@dataclass
class BertShape:
    """The size of the model; ``max_length`` counts pieces with [CLS] and [SEP]."""

    hidden_size: int = 256
    layers: int = 4
    heads: int = 4
    intermediate_size: int = 1024
    max_length: int = 128
    dropout: float = 0.1


def mlm_config(vocab_size: int, pad_token_id: int, shape: BertShape) -> Any:
    """The ``BertConfig`` of a model of this shape (checked: heads divide the width, room for a piece)."""
    from transformers import BertConfig

    if shape.hidden_size % shape.heads:
        raise ValueError(f"--hidden-size ({shape.hidden_size}) must be a multiple of --heads ({shape.heads})")
    if shape.max_length < 3:
        raise ValueError(f"--max-length must leave room for [CLS], a piece and [SEP], got {shape.max_length}")
    return BertConfig(vocab_size=vocab_size, hidden_size=shape.hidden_size, num_hidden_layers=shape.layers,
                      num_attention_heads=shape.heads, intermediate_size=shape.intermediate_size,
                      max_position_embeddings=shape.max_length, hidden_dropout_prob=shape.dropout,
                      attention_probs_dropout_prob=shape.dropout, pad_token_id=pad_token_id)


def build_mlm_model(vocab_size: int, pad_token_id: int, shape: BertShape) -> Any:
    """A randomly initialised ``BertForMaskedLM`` (weights from the torch RNG: seed it first)."""
    from transformers import BertForMaskedLM

    return BertForMaskedLM(mlm_config(vocab_size, pad_token_id, shape))


def piece_groups(text: str, offsets: Sequence[tuple[int, int]], special: Sequence[int],
                 morphemes: Sequence[Any] | None) -> list[int]:
    """The masking group of each piece: -1 for special tokens, else 0, 1, ... in order of appearance.

    With ``morphemes`` (tokens with ``start``/``end`` character offsets into ``text``) the pieces
    whose first non-space character lies in the same morpheme share a group; a lone ``▁`` piece
    thus joins the piece after it. Where two morphemes share characters (Kiwi's 내 = 나 + 의) the
    first owns them. Without morphemes, or outside every morpheme, a piece is a group of its own."""
    owner = [-1] * len(text)
    for index, token in enumerate(morphemes or ()):
        for char in range(max(0, token.start), min(token.end, len(text))):
            if owner[char] < 0:
                owner[char] = index
    numbering: dict[object, int] = {}
    groups = []
    for position, ((start, _end), is_special) in enumerate(zip(offsets, special, strict=True)):
        if is_special:
            groups.append(-1)
            continue
        char = start
        while char < len(text) and text[char].isspace():
            char += 1
        key: object = owner[char] if char < len(text) and owner[char] >= 0 else ("piece", position)
        groups.append(numbering.setdefault(key, len(numbering)))
    return groups


def encode_lines(lines: Sequence[str], tokenizer: Any, max_length: int, morphemes: Any = None) -> list[dict]:
    """Rows ``{"input_ids", "groups"}`` for the collator: ``[CLS] pieces [SEP]``, truncated to ``max_length``.

    ``morphemes`` is a ``chatbot.nlp.tokenizers.Tokenizer`` for whole-word masking, or None for
    masking single pieces."""
    from tqdm.auto import tqdm

    rows = []
    for start in tqdm(range(0, len(lines), ENCODE_CHUNK), desc="encode", unit=" chunks", disable=None):
        chunk = list(lines[start:start + ENCODE_CHUNK])
        encoded = tokenizer(chunk, truncation=True, max_length=max_length, return_offsets_mapping=True,
                            return_special_tokens_mask=True)
        analyses = morphemes.tokenize_batch(chunk) if morphemes is not None else [None] * len(chunk)
        for text, ids, offsets, special, analysis in zip(chunk, encoded["input_ids"], encoded["offset_mapping"],
                                                         encoded["special_tokens_mask"], analyses, strict=True):
            rows.append({"input_ids": ids, "groups": piece_groups(text, offsets, special, analysis)})
    return rows


class MaskingCollator:
    """Pads a batch to its longest row and masks it for MLM; rows that carry ``labels`` are only padded.

    Per row, ``max(1, round(mask_prob * groups))`` groups are chosen (BERT's count, so that short
    chat lines still teach something); every piece of a chosen group is labelled with its id, and
    the group as a whole becomes [MASK] (80%), random pieces (10%) or stays as it is (10%), so
    that no piece of a masked morpheme gives the others away."""

    def __init__(self, tokenizer: Any, mask_prob: float = 0.15) -> None:
        if not 0 < mask_prob <= 1:
            raise ValueError(f"--mask-prob must be in (0, 1], got {mask_prob}")
        self.mask_prob = mask_prob
        self.pad_id = tokenizer.pad_token_id
        self.mask_id = tokenizer.mask_token_id
        special = set(tokenizer.all_special_ids)
        self.regular_ids = torch.tensor([i for i in range(len(tokenizer)) if i not in special])

    def __call__(self, rows: Sequence[dict]) -> dict[str, torch.Tensor]:
        if "labels" in rows[0]:
            return self._pad(rows)
        return self.mask(rows)

    def _pad(self, rows: Sequence[dict]) -> dict[str, torch.Tensor]:
        def pad(key: str, value: int) -> torch.Tensor:
            return pad_sequence([torch.as_tensor(r[key]) for r in rows], batch_first=True, padding_value=value)

        batch = {"input_ids": pad("input_ids", self.pad_id),
                 "attention_mask": pad_sequence([torch.ones(len(r["input_ids"]), dtype=torch.long) for r in rows],
                                                batch_first=True)}
        if "labels" in rows[0]:
            batch["labels"] = pad("labels", IGNORE)
        else:
            batch["groups"] = pad("groups", -1)
        return batch

    def mask(self, rows: Sequence[dict], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Pad and mask; the draws come from ``generator``, or the torch RNG when None."""
        batch = self._pad(rows)
        ids, groups = batch["input_ids"], batch.pop("groups")
        counts = groups.max(dim=1).values + 1  # groups per row [B]
        width = max(1, int(counts.max()))
        scores = torch.rand(len(rows), width, generator=generator)
        scores[torch.arange(width) >= counts[:, None]] = 2.0  # groups a row does not have come last
        ranks = scores.argsort(dim=1).argsort(dim=1)
        chosen = ranks < (counts * self.mask_prob).round().clamp(min=1)[:, None]  # [B, G]
        action = torch.rand(len(rows), width, generator=generator)  # one 80/10/10 draw per group
        index = groups.clamp(min=0)
        masked = chosen.gather(1, index) & (groups >= 0)  # [B, L]
        action = action.gather(1, index)
        inputs = ids.clone()
        inputs[masked & (action < 0.8)] = self.mask_id
        randomised = masked & (action >= 0.8) & (action < 0.9)
        random_ids = self.regular_ids[torch.randint(len(self.regular_ids), ids.shape, generator=generator)]
        inputs[randomised] = random_ids[randomised]
        return {"input_ids": inputs, "attention_mask": batch["attention_mask"],
                "labels": torch.where(masked, ids, IGNORE)}

    def fixed_masks(self, rows: Sequence[dict], seed: int, batch_size: int = 256) -> list[dict]:
        """Rows masked once, reproducibly (for validation), as ``{"input_ids", "labels"}`` lists."""
        generator = torch.Generator().manual_seed(seed)
        masked = []
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            batch = self.mask(chunk, generator)
            for i, row in enumerate(chunk):
                length = len(row["input_ids"])
                masked.append({"input_ids": batch["input_ids"][i, :length].tolist(),
                               "labels": batch["labels"][i, :length].tolist()})
        return masked


class LengthBuckets:
    """A batch sampler for the trainer: batches of rows of similar length, in shuffled order.

    Each epoch shuffles the rows, sorts each pool of ``pool`` batches' worth by length, cuts the
    pools into batches and shuffles the batches; ``set_epoch`` seeds all of it, so a resumed run
    sees the same batches. A pool (not the whole corpus) keeps some randomness in which rows meet.
    Under DDP each rank takes every ``world``-th batch, all ranks the same number."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int = 0, pool: int = 50,
                 rank: int = 0, world: int = 1) -> None:
        if batch_size < 1:
            raise ValueError(f"--batch-size must be at least 1, got {batch_size}")
        self.lengths, self.batch_size, self.seed, self.pool = list(lengths), batch_size, seed, pool
        self.rank, self.world, self.epoch = rank, world, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size) // self.world

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        size = self.batch_size * self.pool
        batches = []
        for start in range(0, len(order), size):
            pool = sorted(order[start:start + size], key=self.lengths.__getitem__)
            batches += [pool[i:i + self.batch_size] for i in range(0, len(pool), self.batch_size)]
        shuffled = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
        return iter(shuffled[self.rank::self.world][:len(self)])


def mlm_loss(model: Any, batch: dict[str, torch.Tensor], step: int) -> torch.Tensor:
    """The trainer's ``loss_fn``: mean cross-entropy over the masked pieces."""
    return model(**batch).loss


@torch.no_grad()
def masked_accuracy(model: Any, rows: Sequence[dict], collate: MaskingCollator, batch_size: int = 64) -> float:
    """Share of masked pieces that the model predicts exactly (rows with fixed ``labels``)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    correct = total = 0
    for start in range(0, len(rows), batch_size):
        batch = {k: v.to(device) for k, v in collate(rows[start:start + batch_size]).items()}
        labels = batch.pop("labels")
        predicted = model(**batch).logits.argmax(dim=-1)
        scored = labels != IGNORE
        correct += int((predicted[scored] == labels[scored]).sum())
        total += int(scored.sum())
    model.train(was_training)
    return correct / total if total else 0.0

"""BiLSTM-CRF sequence tagger (Huang et al., 2015; Lample et al., 2016) over the characters of a text.

Shapes in comments use B = batch, L = sequence length (characters), E = character embedding size,
P = POS-tag embedding size, H = hidden size per direction, T = number of tags. Id 0 is padding in
both inputs and 1 the unknown character / tag; masks are True on real characters.

- Inputs: a character id per position and, optionally, a morphological tag id (the Kiwi POS tag
  of the morpheme the character belongs to, with its B/I position in that morpheme: ``B-NNP``).
  Their embeddings are concatenated.
- A bidirectional LSTM over packed sequences (padding never enters the recurrence), dropout, and
  a linear layer give the emission scores ``[B, L, T]``.
- A linear-chain CRF (``torchcrf.CRF`` from pytorch-crf) scores tag transitions: training
  minimises the negative log-likelihood of the gold tag sequence, decoding is Viterbi. The
  library's CRF is plain torch (it runs on whatever device the emissions are on), vectorised over
  the batch, and its three parameters are ordinary state-dict tensors, so safetensors stores them.

The CRF runs in float32 even under autocast: a sum of many bf16 scores loses the small differences
between tag paths.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torchcrf import CRF

PAD, UNK = 0, 1


@dataclass
class BiLstmCrfConfig:
    char_vocab_size: int
    num_tags: int
    pos_vocab_size: int = 0  # 0: characters only, no morphological tag input
    char_embedding_size: int = 64
    pos_embedding_size: int = 16
    hidden_size: int = 128  # per direction
    layers: int = 1
    dropout: float = 0.3

    def __post_init__(self) -> None:
        if self.char_vocab_size < 2:
            raise ValueError("char_vocab_size must be at least 2 (padding and the unknown character)")
        if self.num_tags < 1:
            raise ValueError(f"num_tags must be at least 1, got {self.num_tags}")
        if self.layers < 1:
            raise ValueError(f"layers must be at least 1, got {self.layers}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return asdict(self)


class BiLstmCrf(nn.Module):
    def __init__(self, config: BiLstmCrfConfig):
        super().__init__()
        self.config = config
        self.chars = nn.Embedding(config.char_vocab_size, config.char_embedding_size, padding_idx=PAD)
        self.pos = (nn.Embedding(config.pos_vocab_size, config.pos_embedding_size, padding_idx=PAD)
                    if config.pos_vocab_size > 0 else None)
        inputs = config.char_embedding_size + (config.pos_embedding_size if self.pos is not None else 0)
        self.lstm = nn.LSTM(inputs, config.hidden_size, num_layers=config.layers, batch_first=True,
                            bidirectional=True, dropout=config.dropout if config.layers > 1 else 0.0)
        self.dropout = nn.Dropout(config.dropout)
        self.emit = nn.Linear(2 * config.hidden_size, config.num_tags)
        self.crf = CRF(config.num_tags, batch_first=True)

    def emissions(self, chars: Tensor, lengths: Tensor, pos: Tensor | None = None) -> Tensor:
        """chars [B, L], lengths [B] (pos [B, L] when the model has tag input) -> emission scores [B, L, T]."""
        embedded = self.chars(chars)  # [B, L, E]
        if self.pos is not None:
            if pos is None:
                raise ValueError("this model reads a morphological tag per character: pass pos")
            embedded = torch.cat([embedded, self.pos(pos)], dim=-1)  # [B, L, E + P]
        lengths = lengths.clamp(min=1)
        packed = nn.utils.rnn.pack_padded_sequence(self.dropout(embedded), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        states, _ = nn.utils.rnn.pad_packed_sequence(self.lstm(packed)[0], batch_first=True,
                                                     total_length=chars.size(1))  # [B, L, 2H]
        return self.emit(self.dropout(states))  # [B, L, T]

    def forward(self, chars: Tensor, lengths: Tensor, pos: Tensor | None = None,
                tags: Tensor | None = None) -> Tensor:
        """The mean negative log-likelihood of ``tags [B, L]`` per sequence (a scalar) when they are
        given, else the emission scores ``[B, L, T]``. The loss is computed in ``forward`` so that a
        DistributedDataParallel wrapper sees the call that produces the gradients."""
        emissions = self.emissions(chars, lengths, pos)
        if tags is None:
            return emissions
        mask = padding_mask(chars, lengths)
        with torch.autocast(emissions.device.type, enabled=False):
            return -self.crf(emissions.float(), tags, mask=mask, reduction="mean")

    @torch.no_grad()
    def decode(self, chars: Tensor, lengths: Tensor, pos: Tensor | None = None) -> list[list[int]]:
        """The best tag sequence of each row (Viterbi), as many tags as the row's length."""
        emissions = self.emissions(chars, lengths, pos)
        return self.crf.decode(emissions.float(), mask=padding_mask(chars, lengths))


def padding_mask(ids: Tensor, lengths: Tensor) -> Tensor:
    """[B, L] True on the first ``lengths`` positions of each row (at least one: the CRF needs a first step)."""
    positions = torch.arange(ids.size(1), device=ids.device)
    return positions.unsqueeze(0) < lengths.clamp(min=1).to(ids.device).unsqueeze(1)


def build(config: dict) -> BiLstmCrf:
    """A model from its config's fields (as saved in the weights file's header)."""
    return BiLstmCrf(BiLstmCrfConfig(**config))

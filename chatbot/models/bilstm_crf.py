"""BiLSTM-CRF sequence tagger (Huang et al., 2015; Lample et al., 2016) over the characters of a text.

Shapes in comments use B = batch, L = sequence length (characters), E = character embedding size,
P = POS-tag embedding size, H = hidden size per direction, T = number of tags. Id 0 is padding in
both inputs and 1 the unknown character / tag; masks are True on real characters.

- Inputs: a character id per position and, optionally, a morphological tag id (the Kiwi POS tag
  of the morpheme the character belongs to, with its B/I position in that morpheme: ``B-NNP``).
  Their embeddings are concatenated, with those of any extra id columns (``extras [B, L, K]``: character
  bigrams, character classes; each column its own table, ``extra_vocab_sizes``/``extra_embedding_sizes``) and
  any dense per-position features (``dense [B, L, D]``: gazetteer marks).
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
    extra_vocab_sizes: tuple[int, ...] = ()  # one embedding table per extra id column
    extra_embedding_sizes: tuple[int, ...] = ()
    dense_size: int = 0  # dense features per position, concatenated as they are

    def __post_init__(self) -> None:
        if self.char_vocab_size < 2:
            raise ValueError("char_vocab_size must be at least 2 (padding and the unknown character)")
        if self.num_tags < 1:
            raise ValueError(f"num_tags must be at least 1, got {self.num_tags}")
        if self.layers < 1:
            raise ValueError(f"layers must be at least 1, got {self.layers}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        self.extra_vocab_sizes = tuple(self.extra_vocab_sizes)
        self.extra_embedding_sizes = tuple(self.extra_embedding_sizes)
        if len(self.extra_vocab_sizes) != len(self.extra_embedding_sizes):
            raise ValueError("extra_vocab_sizes and extra_embedding_sizes must have the same length")

    def to_dict(self) -> dict:
        return asdict(self)


class BiLstmCrf(nn.Module):
    def __init__(self, config: BiLstmCrfConfig):
        super().__init__()
        self.config = config
        self.chars = nn.Embedding(config.char_vocab_size, config.char_embedding_size, padding_idx=PAD)
        self.pos = (nn.Embedding(config.pos_vocab_size, config.pos_embedding_size, padding_idx=PAD)
                    if config.pos_vocab_size > 0 else None)
        tables = zip(config.extra_vocab_sizes, config.extra_embedding_sizes, strict=True)
        self.extras = nn.ModuleList(nn.Embedding(n, size, padding_idx=PAD) for n, size in tables)
        inputs = (config.char_embedding_size + (config.pos_embedding_size if self.pos is not None else 0)
                  + sum(config.extra_embedding_sizes) + config.dense_size)
        self.lstm = nn.LSTM(inputs, config.hidden_size, num_layers=config.layers, batch_first=True,
                            bidirectional=True, dropout=config.dropout if config.layers > 1 else 0.0)
        self.dropout = nn.Dropout(config.dropout)
        self.emit = nn.Linear(2 * config.hidden_size, config.num_tags)
        self.crf = CRF(config.num_tags, batch_first=True)

    def emissions(self, chars: Tensor, lengths: Tensor, pos: Tensor | None = None, extras: Tensor | None = None,
                  dense: Tensor | None = None) -> Tensor:
        """chars [B, L], lengths [B] (pos [B, L] when the model has tag input, extras [B, L, K] and dense
        [B, L, D] when it has those) -> emission scores [B, L, T]."""
        parts = [self.chars(chars)]  # [B, L, E]
        if self.pos is not None:
            if pos is None:
                raise ValueError("this model reads a morphological tag per character: pass pos")
            parts.append(self.pos(pos))  # [B, L, P]
        if len(self.extras):
            if extras is None or extras.size(-1) != len(self.extras):
                raise ValueError(f"this model reads {len(self.extras)} extra id columns: pass extras [B, L, K]")
            parts += [table(extras[..., k]) for k, table in enumerate(self.extras)]
        if self.config.dense_size:
            if dense is None or dense.size(-1) != self.config.dense_size:
                raise ValueError(f"this model reads {self.config.dense_size} dense features: pass dense [B, L, D]")
            parts.append(dense.to(parts[0].dtype))
        embedded = torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
        lengths = lengths.clamp(min=1)
        packed = nn.utils.rnn.pack_padded_sequence(self.dropout(embedded), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        states, _ = nn.utils.rnn.pad_packed_sequence(self.lstm(packed)[0], batch_first=True,
                                                     total_length=chars.size(1))  # [B, L, 2H]
        return self.emit(self.dropout(states))  # [B, L, T]

    def forward(self, chars: Tensor, lengths: Tensor, pos: Tensor | None = None, tags: Tensor | None = None,
                extras: Tensor | None = None, dense: Tensor | None = None) -> Tensor:
        """The mean negative log-likelihood of ``tags [B, L]`` per sequence (a scalar) when they are
        given, else the emission scores ``[B, L, T]``. The loss is computed in ``forward`` so that a
        DistributedDataParallel wrapper sees the call that produces the gradients."""
        emissions = self.emissions(chars, lengths, pos, extras, dense)
        if tags is None:
            return emissions
        mask = padding_mask(chars, lengths)
        with torch.autocast(emissions.device.type, enabled=False):
            return -self.crf(emissions.float(), tags, mask=mask, reduction="mean")

    @torch.no_grad()
    def decode(self, chars: Tensor, lengths: Tensor, pos: Tensor | None = None, extras: Tensor | None = None,
               dense: Tensor | None = None) -> list[list[int]]:
        """The best tag sequence of each row (Viterbi), as many tags as the row's length."""
        emissions = self.emissions(chars, lengths, pos, extras, dense)
        return self.crf.decode(emissions.float(), mask=padding_mask(chars, lengths))

    @torch.no_grad()
    def marginals(self, chars: Tensor, lengths: Tensor, pos: Tensor | None = None, extras: Tensor | None = None,
                  dense: Tensor | None = None) -> Tensor:
        """Each position's tag probabilities under the CRF (forward-backward) [B, L, T]; padding rows are junk."""
        emissions = self.emissions(chars, lengths, pos, extras, dense).float()
        return crf_marginals(emissions, padding_mask(chars, lengths), self.crf)


def padding_mask(ids: Tensor, lengths: Tensor) -> Tensor:
    """[B, L] True on the first ``lengths`` positions of each row (at least one: the CRF needs a first step)."""
    positions = torch.arange(ids.size(1), device=ids.device)
    return positions.unsqueeze(0) < lengths.clamp(min=1).to(ids.device).unsqueeze(1)


def crf_marginals(emissions: Tensor, mask: Tensor, crf: CRF) -> Tensor:
    """Forward-backward over a linear-chain CRF: emissions [B, L, T], mask [B, L] -> marginals [B, L, T]."""
    length = emissions.size(1)
    trans = crf.transitions.unsqueeze(0)  # [1, T, T], from -> to
    alphas = [crf.start_transitions + emissions[:, 0]]  # [B, T]
    for t in range(1, length):
        step = torch.logsumexp(alphas[-1].unsqueeze(2) + trans, dim=1) + emissions[:, t]
        alphas.append(torch.where(mask[:, t:t + 1], step, alphas[-1]))
    last = mask.long().sum(1) - 1  # [B]
    betas = [crf.end_transitions.expand_as(alphas[0])]
    for t in range(length - 2, -1, -1):
        step = torch.logsumexp(trans + (emissions[:, t + 1] + betas[0]).unsqueeze(1), dim=2)
        ends_here = (last == t).unsqueeze(1)
        inside = mask[:, t + 1:t + 2]
        betas.insert(0, torch.where(ends_here, crf.end_transitions.expand_as(step),
                                    torch.where(inside, step, betas[0])))
    return torch.softmax(torch.stack(alphas, 1) + torch.stack(betas, 1), dim=-1)


def build(config: dict) -> BiLstmCrf:
    """A model from its config's fields (as saved in the weights file's header)."""
    return BiLstmCrf(BiLstmCrfConfig(**config))

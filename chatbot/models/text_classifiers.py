"""Neural text classifiers for intents: TextCNN and a BiLSTM with attention pooling.

Shapes in comments use B = batch, L = sequence length, E = embedding size, F = filters per
kernel width, K = number of kernel widths, H = hidden size, C = number of classes. Token id 0 is
padding and 1 the unknown word; masks are True on real tokens. Both models take ``ids [B, L]``
and ``lengths [B]`` and return logits ``[B, C]``, and neither lets padding change its output:
a message scores the same alone as in a padded batch.

- TextCNN (Kim, 2014): embeddings, one 1-D convolution per kernel width, ReLU, max over time,
  dropout, linear. The convolutions are *wide* (zero-padded by width - 1 at both ends), so even a
  one-token message fills every width, and the windows that overhang the ends see the sentence
  boundary; the positions whose window holds no real token are masked out of the max.
- BiLSTMAttention (Lin et al. / Yang et al. style): embeddings, a bidirectional multi-layer LSTM
  over packed sequences (padding never enters the recurrence), additive attention
  ``v . tanh(W h_t)`` whose weights sum to 1 over the real tokens, dropout, linear.

Either can add a *wide* part (Cheng et al., 2016, "Wide & Deep"): with ``wide_features`` = N > 0,
``forward`` also takes a sparse ``features [B, N]`` matrix (the pipeline's TF-IDF n-grams) whose
linear scores ``[B, C]`` are added to the logits, so the network learns what the n-grams miss.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

PAD, UNK = 0, 1


@dataclass
class TextCNNConfig:
    vocab_size: int
    num_classes: int
    embedding_size: int = 128
    kernel_sizes: tuple[int, ...] = (1, 2, 3, 4)
    filters: int = 128  # per kernel width
    dropout: float = 0.5
    wide_features: int = 0  # N > 0: a linear layer over N sparse input features is added to the logits

    def __post_init__(self) -> None:
        self.kernel_sizes = tuple(int(k) for k in self.kernel_sizes)
        _check(self.vocab_size, self.num_classes, self.dropout)
        if not self.kernel_sizes or min(self.kernel_sizes) < 1:
            raise ValueError(f"kernel_sizes must be positive widths, got {self.kernel_sizes}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BiLSTMAttentionConfig:
    vocab_size: int
    num_classes: int
    embedding_size: int = 128
    hidden_size: int = 128  # per direction
    layers: int = 1
    attention_size: int = 128
    dropout: float = 0.3
    wide_features: int = 0  # as in TextCNNConfig

    def __post_init__(self) -> None:
        _check(self.vocab_size, self.num_classes, self.dropout)
        if self.layers < 1:
            raise ValueError(f"layers must be at least 1, got {self.layers}")

    def to_dict(self) -> dict:
        return asdict(self)


def _check(vocab_size: int, num_classes: int, dropout: float) -> None:
    if vocab_size < 2:
        raise ValueError("vocab_size must be at least 2 (padding and the unknown word)")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")


class Wide(nn.Module):
    """Linear scores of sparse features: features [B, N] (sparse COO or dense) -> [B, C]."""

    def __init__(self, features: int, classes: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(features, classes))  # starts neutral: the deep part leads

    def forward(self, features: Tensor) -> Tensor:
        return torch.sparse.mm(features, self.weight) if features.is_sparse else features @ self.weight


def _wide(config) -> Wide | None:
    return Wide(config.wide_features, config.num_classes) if config.wide_features > 0 else None


def _add_wide(model: nn.Module, logits: Tensor, features: Tensor | None) -> Tensor:
    if model.wide is None:
        return logits
    if features is None:
        raise ValueError(f"this model has a wide part over {model.config.wide_features} features: pass them")  # type: ignore[union-attr]  # nn.Module types attributes as Tensor | Module
    return logits + model.wide(features.to(logits.device)).to(logits.dtype)  # type: ignore[operator]  # as above


def padding_mask(ids: Tensor, lengths: Tensor) -> Tensor:
    """[B, L] True on the first ``lengths`` positions of each row."""
    positions = torch.arange(ids.size(1), device=ids.device)
    return positions.unsqueeze(0) < lengths.to(ids.device).unsqueeze(1)


class TextCNN(nn.Module):
    def __init__(self, config: TextCNNConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size, padding_idx=PAD)
        self.convs = nn.ModuleList(
            nn.Conv1d(config.embedding_size, config.filters, width, padding=width - 1)
            for width in config.kernel_sizes
        )
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(config.filters * len(config.kernel_sizes), config.num_classes)
        self.wide = _wide(config)

    def forward(self, ids: Tensor, lengths: Tensor, features: Tensor | None = None) -> Tensor:
        """ids [B, L], lengths [B] (features [B, N] with a wide part) -> logits [B, C]."""
        lengths = lengths.clamp(min=1).to(ids.device)
        mask = padding_mask(ids, lengths)  # [B, L]
        embedded = self.embedding(ids) * mask.unsqueeze(-1)  # [B, L, E], exact zeros on padding
        embedded = self.dropout(embedded).transpose(1, 2)  # [B, E, L]
        pooled = []
        for width, conv in zip(self.config.kernel_sizes, self.convs, strict=True):
            maps = torch.relu(conv(embedded))  # [B, F, L + width - 1]
            # Output t covers inputs t-width+1 .. t: it holds a real token when t < length + width - 1.
            positions = torch.arange(maps.size(-1), device=ids.device)
            valid = positions.unsqueeze(0) < (lengths + width - 1).unsqueeze(1)  # [B, L + width - 1]
            maps = maps.masked_fill(~valid.unsqueeze(1), torch.finfo(maps.dtype).min)
            pooled.append(maps.max(dim=-1).values)  # [B, F]
        logits = self.out(self.dropout(torch.cat(pooled, dim=-1)))  # [B, K * F] -> [B, C]
        return _add_wide(self, logits, features)


class BiLSTMAttention(nn.Module):
    def __init__(self, config: BiLSTMAttentionConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size, padding_idx=PAD)
        self.lstm = nn.LSTM(config.embedding_size, config.hidden_size, num_layers=config.layers, batch_first=True,
                            bidirectional=True, dropout=config.dropout if config.layers > 1 else 0.0)
        self.attention = nn.Linear(2 * config.hidden_size, config.attention_size)
        self.score = nn.Linear(config.attention_size, 1, bias=False)
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(2 * config.hidden_size, config.num_classes)
        self.wide = _wide(config)

    def forward(self, ids: Tensor, lengths: Tensor, features: Tensor | None = None, return_attention: bool = False):
        """ids [B, L], lengths [B] (features [B, N] with a wide part) -> logits [B, C]
        (and attention weights [B, L] when asked)."""
        lengths = lengths.clamp(min=1)  # an empty row would break packing; its one step reads padding
        embedded = self.dropout(self.embedding(ids))  # [B, L, E]
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        packed_out, _ = self.lstm(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(packed_out, batch_first=True, total_length=ids.size(1))
        # states [B, L, 2H], zeros past each row's length
        scores = self.score(torch.tanh(self.attention(states))).squeeze(-1)  # [B, L]
        mask = padding_mask(ids, lengths)
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1) * mask  # [B, L], sums to 1 over real tokens, exactly 0 on padding
        pooled = torch.bmm(weights.unsqueeze(1), states).squeeze(1)  # [B, 2H]
        logits = _add_wide(self, self.out(self.dropout(pooled)), features)  # [B, C]
        return (logits, weights) if return_attention else logits


ARCHITECTURES = {"textcnn": (TextCNN, TextCNNConfig), "bilstm": (BiLSTMAttention, BiLSTMAttentionConfig)}


def build(architecture: str, config: dict) -> nn.Module:
    """A model by architecture name from its config's fields."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
    model_class, config_class = ARCHITECTURES[architecture]
    return model_class(config_class(**config))

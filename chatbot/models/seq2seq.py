"""Encoder-decoder with attention, for the generative responder.

Shapes in comments use B = batch, S = source length, T = target length, E = embedding size,
H = hidden size, V = vocabulary size. Token id 0 is padding everywhere (``SentencePiece`` is
trained with ``pad_id=0``); masks are True on real tokens.

- Encoder: a bidirectional GRU or LSTM, several layers, dropout between them. The two
  directions' outputs are concatenated and projected back to H, and so is the final state that
  starts the decoder.
- Attention: Bahdanau (additive, ``v . tanh(W q + U k)``) or Luong (``dot``: ``q . k``;
  ``general``: ``q . W k``). Padding positions get zero weight.
- Decoder: a unidirectional GRU/LSTM fed the previous token's embedding concatenated with the
  previous attentional vector (input feeding); its output attends over the encoder outputs and
  the context plus output go through ``tanh(W [c; h])`` to the vocabulary projection. With
  ``input_feeding`` off the decoder RNN sees only the embeddings, so a fully teacher-forced
  training pass runs the RNN and the attention over all T steps at once instead of step by
  step (several times faster on a CPU), and gives the same numbers as stepping.
- Embeddings are shared between encoder, decoder and output layer (weight tying) when
  ``shared_embeddings`` is set, which suits one SentencePiece vocabulary for questions and answers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

PAD, UNK, BOS, EOS = 0, 1, 2, 3  # the ids SentencePiece is trained with (chatbot.models.vocab)


@dataclass
class Seq2SeqConfig:
    vocab_size: int
    embedding_size: int = 256
    hidden_size: int = 256
    layers: int = 2
    dropout: float = 0.2
    cell: str = "gru"  # or "lstm"
    attention: str = "bahdanau"  # or "luong_dot", "luong_general"
    shared_embeddings: bool = True
    input_feeding: bool = True  # feed the previous attentional vector to the decoder RNN

    def __post_init__(self) -> None:
        if self.cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', got {self.cell!r}")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {sorted(ATTENTIONS)}, got {self.attention!r}")
        if self.vocab_size < 5:
            raise ValueError("vocab_size must be at least 5 (pad, unk, bos, eos and one piece)")

    def to_dict(self) -> dict:
        return asdict(self)


def _rnn(config: Seq2SeqConfig, input_size: int, bidirectional: bool) -> nn.RNNBase:
    rnn_class = nn.GRU if config.cell == "gru" else nn.LSTM
    return rnn_class(
        input_size, config.hidden_size, num_layers=config.layers, batch_first=True,
        dropout=config.dropout if config.layers > 1 else 0.0, bidirectional=bidirectional,
    )


class Encoder(nn.Module):
    def __init__(self, config: Seq2SeqConfig, embedding: nn.Embedding):
        super().__init__()
        self.config = config
        self.embedding = embedding
        self.dropout = nn.Dropout(config.dropout)
        self.rnn = _rnn(config, config.embedding_size, bidirectional=True)
        self.project_out = nn.Linear(2 * config.hidden_size, config.hidden_size)
        self.project_state = nn.Linear(2 * config.hidden_size, config.hidden_size)

    def forward(self, source: Tensor, lengths: Tensor) -> tuple[Tensor, object]:
        """source [B, S] ids, lengths [B] -> outputs [B, S, H], decoder's initial state."""
        embedded = self.dropout(self.embedding(source))  # [B, S, E]
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        packed_out, state = self.rnn(packed)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(packed_out, batch_first=True, total_length=source.size(1))
        outputs = torch.tanh(self.project_out(outputs))  # [B, S, 2H] -> [B, S, H]
        if self.config.cell == "lstm":
            return outputs, (self._merge(state[0]), self._merge(state[1]))
        return outputs, self._merge(state)

    def _merge(self, state: Tensor) -> Tensor:
        """[layers*2, B, H] (both directions) -> [layers, B, H]."""
        layers, batch = self.config.layers, state.size(1)
        state = state.view(layers, 2, batch, self.config.hidden_size)
        return torch.tanh(self.project_state(torch.cat([state[:, 0], state[:, 1]], dim=-1)))


class Attention(nn.Module):
    """Scores each encoder position for one decoder query; returns (context [B, H], weights [B, S])."""

    def __init__(self, kind: str, hidden_size: int):
        super().__init__()
        self.kind = kind
        if kind == "bahdanau":
            self.query = nn.Linear(hidden_size, hidden_size, bias=False)
            self.key = nn.Linear(hidden_size, hidden_size)
            self.v = nn.Linear(hidden_size, 1, bias=False)
        elif kind == "luong_general":
            self.weight = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, query: Tensor, keys: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        # query [B, H], keys [B, S, H], mask [B, S] -> context [B, H], weights [B, S]
        context, weights = self.attend(query.unsqueeze(1), keys, mask)
        return context.squeeze(1), weights.squeeze(1)

    def attend(self, queries: Tensor, keys: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """All T queries at once: queries [B, T, H] -> context [B, T, H], weights [B, T, S]."""
        if self.kind == "bahdanau":
            scores = self.v(torch.tanh(self.query(queries).unsqueeze(2) + self.key(keys).unsqueeze(1))).squeeze(-1)
        elif self.kind == "luong_general":
            scores = torch.bmm(queries, self.weight(keys).transpose(1, 2))
        else:  # luong_dot
            scores = torch.bmm(queries, keys.transpose(1, 2))
        scores = scores.masked_fill(~mask.unsqueeze(1), torch.finfo(scores.dtype).min)  # [B, T, S]
        weights = torch.softmax(scores, dim=-1)  # rows sum to 1 over real tokens
        return torch.bmm(weights, keys), weights


ATTENTIONS = ("bahdanau", "luong_dot", "luong_general")


class Decoder(nn.Module):
    def __init__(self, config: Seq2SeqConfig, embedding: nn.Embedding):
        super().__init__()
        self.config = config
        self.embedding = embedding
        self.dropout = nn.Dropout(config.dropout)
        feed_size = config.hidden_size if config.input_feeding else 0
        self.rnn = _rnn(config, config.embedding_size + feed_size, bidirectional=False)
        self.attention = Attention(config.attention, config.hidden_size)
        self.combine = nn.Linear(2 * config.hidden_size, config.hidden_size)
        self.bridge = nn.Linear(config.hidden_size, config.embedding_size)
        self.out = nn.Linear(config.embedding_size, config.vocab_size)
        if config.shared_embeddings:
            self.out.weight = embedding.weight  # tie output and input embeddings

    def step(self, token: Tensor, state: object, feed: Tensor, keys: Tensor, mask: Tensor):
        """One step. token [B], feed [B, H] (previous attentional vector), keys [B, S, H]
        -> logits [B, V], new state, new feed [B, H], attention weights [B, S]."""
        embedded = self.dropout(self.embedding(token))  # [B, E]
        inputs = torch.cat([embedded, feed], dim=-1) if self.config.input_feeding else embedded
        output, state = self.rnn(inputs.unsqueeze(1), state)  # [B, 1, H]
        output = output.squeeze(1)
        context, weights = self.attention(output, keys, mask)
        feed = torch.tanh(self.combine(torch.cat([context, output], dim=-1)))  # [B, H]
        logits = self.out(self.bridge(self.dropout(feed)))  # [B, V]
        return logits, state, feed, weights

    def all_steps(self, target_in: Tensor, state: object, keys: Tensor, mask: Tensor) -> Tensor:
        """Teacher-forced pass over every step at once (no input feeding). target_in [B, T] -> [B, T, V]."""
        embedded = self.dropout(self.embedding(target_in))  # [B, T, E]
        outputs, _ = self.rnn(embedded, state)  # [B, T, H]; padding comes after EOS, so it changes no loss
        context, _ = self.attention.attend(outputs, keys, mask)  # [B, T, H]
        feed = torch.tanh(self.combine(torch.cat([context, outputs], dim=-1)))  # [B, T, H]
        return self.out(self.bridge(self.dropout(feed)))  # [B, T, V]


class Seq2Seq(nn.Module):
    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        self.config = config
        source_embedding = nn.Embedding(config.vocab_size, config.embedding_size, padding_idx=PAD)
        target_embedding = (
            source_embedding if config.shared_embeddings
            else nn.Embedding(config.vocab_size, config.embedding_size, padding_idx=PAD)
        )
        self.encoder = Encoder(config, source_embedding)
        self.decoder = Decoder(config, target_embedding)

    def encode(self, source: Tensor, lengths: Tensor):
        outputs, state = self.encoder(source, lengths)
        mask = source != PAD  # [B, S]
        feed = outputs.new_zeros(source.size(0), self.config.hidden_size)
        return outputs, mask, state, feed

    def forward(self, source: Tensor, lengths: Tensor, target_in: Tensor, teacher_forcing: float = 1.0) -> Tensor:
        """Training pass. target_in [B, T] starts with BOS -> logits [B, T, V].

        With ``teacher_forcing`` below 1, each step feeds the model's own previous prediction
        instead of the gold token with that probability's complement (scheduled sampling)."""
        keys, mask, state, feed = self.encode(source, lengths)
        if not self.config.input_feeding and teacher_forcing >= 1.0:
            return self.decoder.all_steps(target_in, state, keys, mask)
        token = target_in[:, 0]
        logits = []
        for t in range(target_in.size(1)):
            step_logits, state, feed, _ = self.decoder.step(token, state, feed, keys, mask)
            logits.append(step_logits)
            if t + 1 < target_in.size(1):
                token = target_in[:, t + 1]
                if teacher_forcing < 1.0:
                    own = step_logits.argmax(-1)
                    use_own = torch.rand(token.shape, device=token.device) >= teacher_forcing
                    token = torch.where(use_own & (token != PAD), own, token)
        return torch.stack(logits, dim=1)

"""Decoding for ``Seq2Seq``: greedy and sampling (batched), beam search (one source at a time).

All return token ids without BOS/EOS/padding. Shared options:
- ``max_length``: the most tokens generated;
- ``no_repeat_ngram``: an n-gram never appears twice in one output (0 turns it off).
Beam search adds ``beam_width`` and ``length_penalty`` (GNMT's ``((5 + len) / 6) ** alpha``);
sampling adds ``temperature``, ``top_k`` and ``top_p``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from chatbot.models.seq2seq import BOS, EOS, PAD, UNK, Seq2Seq


@dataclass
class DecodeOptions:
    method: str = "beam"  # "greedy", "beam" or "sample"
    max_length: int = 40
    beam_width: int = 4
    length_penalty: float = 1.0
    no_repeat_ngram: int = 3
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.method not in ("greedy", "beam", "sample"):
            raise ValueError(f"method must be greedy, beam or sample, got {self.method!r}")
        if self.max_length < 1 or self.beam_width < 1:
            raise ValueError("max_length and beam_width must be at least 1")


def banned_tokens(tokens: list[int], n: int) -> set[int]:
    """Tokens that would repeat an n-gram already in ``tokens``."""
    if n <= 0 or len(tokens) < n - 1:
        return set()
    prefix = tuple(tokens[len(tokens) - n + 1:]) if n > 1 else ()
    return {tokens[i + n - 1] for i in range(len(tokens) - n + 1) if tuple(tokens[i:i + n - 1]) == prefix}


def _block(logits: Tensor, histories: list[list[int]], n: int) -> Tensor:
    """Set banned tokens' logits to -inf; logits [B, V]. PAD, BOS and UNK are never generated: the unknown
    piece decodes to "⁇", which an undertrained model emits and a user should never read."""
    logits[:, PAD] = float("-inf")
    logits[:, BOS] = float("-inf")
    logits[:, UNK] = float("-inf")
    for row, history in enumerate(histories):
        banned = banned_tokens(history, n)
        if banned:
            logits[row, list(banned)] = float("-inf")
    return logits


@torch.no_grad()
def decode(model: Seq2Seq, source: Tensor, lengths: Tensor, options: DecodeOptions,
           generator: torch.Generator | None = None) -> list[list[int]]:
    """Generate one output per source row. source [B, S], lengths [B]."""
    model.eval()
    if options.method == "beam":
        return [beam_search(model, source[i:i + 1, :int(lengths[i])], lengths[i:i + 1], options)
                for i in range(source.size(0))]
    return _greedy_or_sample(model, source, lengths, options, generator)


def _greedy_or_sample(model, source, lengths, options, generator) -> list[list[int]]:
    keys, mask, state, feed = model.encode(source, lengths)
    batch = source.size(0)
    token = torch.full((batch,), BOS, dtype=torch.long, device=source.device)
    outputs: list[list[int]] = [[] for _ in range(batch)]
    done = [False] * batch
    for _ in range(options.max_length):
        logits, state, feed, _ = model.decoder.step(token, state, feed, keys, mask)
        logits = _block(logits.float(), outputs, options.no_repeat_ngram)
        if options.method == "greedy":
            token = logits.argmax(-1)
        else:
            token = sample(logits, options, generator)
        for i, t in enumerate(token.tolist()):
            if done[i]:
                continue
            if t == EOS:
                done[i] = True
            else:
                outputs[i].append(t)
        if all(done):
            break
    return outputs


def sample(logits: Tensor, options: DecodeOptions, generator: torch.Generator | None = None) -> Tensor:
    """One token per row from temperature-scaled logits, restricted to top-k and the top-p nucleus."""
    logits = logits / max(options.temperature, 1e-5)
    if options.top_k > 0:
        kth = torch.topk(logits, min(options.top_k, logits.size(-1)), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if options.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
        remove = cumulative - torch.softmax(sorted_logits, dim=-1) > options.top_p  # keep the first past p
        sorted_logits = sorted_logits.masked_fill(remove, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    probabilities = torch.softmax(logits, dim=-1)
    return torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)


def beam_search(model: Seq2Seq, source: Tensor, lengths: Tensor, options: DecodeOptions) -> list[int]:
    """Beam search for one source row (source [1, S]); returns the best finished hypothesis."""
    keys, mask, state, feed = model.encode(source, lengths)
    width = options.beam_width
    beams: list[list[int]] = [[]]
    scores = torch.zeros(1, device=source.device)
    token = torch.full((1,), BOS, dtype=torch.long, device=source.device)
    finished: list[tuple[float, list[int]]] = []

    def penalised(score: float, length: int) -> float:
        return score / (((5 + length) / 6) ** options.length_penalty)

    for _ in range(options.max_length):
        n = len(beams)  # every beam attends over the same source
        beam_keys, beam_mask = keys.expand(n, *keys.shape[1:]), mask.expand(n, *mask.shape[1:])
        logits, state, feed, _ = model.decoder.step(token, state, feed, beam_keys, beam_mask)
        log_probs = _block(torch.log_softmax(logits.float(), dim=-1), beams, options.no_repeat_ngram)
        candidates = (scores.unsqueeze(1) + log_probs).view(-1)  # [n * V]
        top = torch.topk(candidates, min(2 * width, candidates.numel()))
        vocab = log_probs.size(1)
        next_beams, next_scores, origins, tokens = [], [], [], []
        for rank, (score, index) in enumerate(zip(top.values.tolist(), top.indices.tolist(), strict=True)):
            if score == float("-inf"):
                break
            origin, t = divmod(index, vocab)
            if t == EOS:
                if rank >= width:  # only an end within the top ``width`` finishes a hypothesis
                    continue
                finished.append((penalised(score, len(beams[origin]) + 1), beams[origin]))
            else:
                next_beams.append(beams[origin] + [t])
                next_scores.append(score)
                origins.append(origin)
                tokens.append(t)
            if len(next_beams) == width:
                break
        best_open = penalised(max(next_scores), len(next_beams[0])) if next_scores else float("-inf")
        if not next_beams or (len(finished) >= width and max(f[0] for f in finished) >= best_open):
            break
        index = torch.tensor(origins, device=source.device)
        state = tuple(s[:, index] for s in state) if isinstance(state, tuple) else state[:, index]
        feed = feed[index]
        beams, scores = next_beams, torch.tensor(next_scores, device=source.device)
        token = torch.tensor(tokens, device=source.device)
    else:
        finished += [(penalised(s, len(b)), b) for s, b in zip(scores.tolist(), beams, strict=True)]
    if not finished:
        finished = [(penalised(s, len(b)), b) for s, b in zip(scores.tolist(), beams, strict=True)]
    return max(finished, key=lambda f: f[0])[1]

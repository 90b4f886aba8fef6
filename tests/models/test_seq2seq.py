"""Seq2seq network and decoding on tiny random models: shapes, masks, attention, beam vs greedy."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from chatbot.models.decoding import DecodeOptions, banned_tokens, decode, sample  # noqa: E402
from chatbot.models.seq2seq import ATTENTIONS, BOS, EOS, PAD, UNK, Attention, Seq2Seq, Seq2SeqConfig  # noqa: E402


def _batch():
    source = torch.tensor([[5, 6, 7, 8], [9, 10, PAD, PAD]])
    lengths = torch.tensor([4, 2])
    target_in = torch.tensor([[BOS, 11, 12], [BOS, 13, PAD]])
    return source, lengths, target_in


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("attention", ATTENTIONS)
def test_forward_shapes(cell, attention):
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(vocab_size=20, embedding_size=8, hidden_size=12, layers=2, cell=cell,
                                  attention=attention))
    source, lengths, target_in = _batch()
    logits = model(source, lengths, target_in)
    assert logits.shape == (2, 3, 20)
    logits.sum().backward()  # gradients flow end to end
    assert model.encoder.embedding.weight.grad is not None


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("attention", ATTENTIONS)
def test_without_input_feeding_the_all_at_once_pass_equals_stepping(cell, attention):
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(vocab_size=20, embedding_size=8, hidden_size=12, layers=2, cell=cell,
                                  attention=attention, input_feeding=False, dropout=0.0)).eval()
    source, lengths, target_in = _batch()
    parallel = model(source, lengths, target_in)  # teacher forcing 1: all steps at once
    keys, mask, state, feed = model.encode(source, lengths)
    stepped = []
    for t in range(target_in.size(1)):
        logits, state, feed, weights = model.decoder.step(target_in[:, t], state, feed, keys, mask)
        assert torch.allclose(weights.sum(-1), torch.ones(2))
        stepped.append(logits)
    assert torch.allclose(parallel, torch.stack(stepped, dim=1), atol=1e-5)
    assert model.decoder.rnn.input_size == 8  # the embedding alone, no attentional vector fed back


def test_separate_embeddings_are_not_tied():
    model = Seq2Seq(Seq2SeqConfig(vocab_size=20, embedding_size=8, hidden_size=8, shared_embeddings=False))
    assert model.encoder.embedding is not model.decoder.embedding
    tied = Seq2Seq(Seq2SeqConfig(vocab_size=20, embedding_size=8, hidden_size=8))
    assert tied.decoder.out.weight is tied.encoder.embedding.weight


@pytest.mark.parametrize("kind", ATTENTIONS)
def test_attention_weights_sum_to_one_and_ignore_padding(kind):
    torch.manual_seed(0)
    attention = Attention(kind, 6)
    keys = torch.randn(2, 5, 6)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    context, weights = attention(torch.randn(2, 6), keys, mask)
    assert context.shape == (2, 6)
    assert torch.allclose(weights.sum(-1), torch.ones(2))
    assert torch.all(weights[1, 2:] == 0)


def test_padding_does_not_change_the_encoding():
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(vocab_size=20, embedding_size=8, hidden_size=8, dropout=0.0)).eval()
    short = model.encode(torch.tensor([[5, 6]]), torch.tensor([2]))
    padded = model.encode(torch.tensor([[5, 6, PAD, PAD]]), torch.tensor([2]))
    assert torch.allclose(short[0], padded[0][:, :2], atol=1e-6)
    assert torch.allclose(short[2], padded[2], atol=1e-6)


def test_config_rejects_unknown_choices():
    with pytest.raises(ValueError, match="attention"):
        Seq2SeqConfig(vocab_size=20, attention="cosine")
    with pytest.raises(ValueError, match="cell"):
        Seq2SeqConfig(vocab_size=20, cell="rnn")


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("input_feeding", [True, False])
def test_beam_width_one_equals_greedy(cell, input_feeding):
    source, lengths, _ = _batch()
    for seed in range(5):
        torch.manual_seed(seed)
        model = Seq2Seq(Seq2SeqConfig(vocab_size=15, embedding_size=8, hidden_size=8, cell=cell,
                                      input_feeding=input_feeding))
        greedy = decode(model, source, lengths, DecodeOptions(method="greedy", max_length=12, no_repeat_ngram=0))
        beam = decode(model, source, lengths,
                      DecodeOptions(method="beam", beam_width=1, max_length=12, no_repeat_ngram=0))
        assert beam == greedy


def test_decoding_respects_max_length_special_tokens_and_repeats():
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(vocab_size=15, embedding_size=8, hidden_size=8))
    source, lengths, _ = _batch()
    for method in ("greedy", "beam", "sample"):
        outputs = decode(model, source, lengths, DecodeOptions(method=method, max_length=7, no_repeat_ngram=2),
                         generator=torch.Generator().manual_seed(0))
        assert len(outputs) == 2
        for ids in outputs:
            assert len(ids) <= 7
            assert not {PAD, BOS, EOS} & set(ids)
            bigrams = list(zip(ids, ids[1:], strict=False))
            assert len(bigrams) == len(set(bigrams))


def test_decoding_never_emits_the_unknown_piece_even_when_the_model_prefers_it():
    """An undertrained model that puts most weight on UNK (shown as "⁇") still answers with real pieces."""
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(vocab_size=15, embedding_size=8, hidden_size=8))
    with torch.no_grad():
        model.decoder.out.bias[UNK] = 50.0  # UNK would win every step
    source, lengths, _ = _batch()
    for method in ("greedy", "beam", "sample"):
        outputs = decode(model, source, lengths, DecodeOptions(method=method, max_length=7, no_repeat_ngram=0),
                         generator=torch.Generator().manual_seed(0))
        assert all(ids and UNK not in ids for ids in outputs), (method, outputs)


def test_banned_tokens_block_repeated_ngrams():
    assert banned_tokens([4, 5, 6, 4], 2) == {5}
    assert banned_tokens([4, 5, 4, 5], 3) == {4}
    assert banned_tokens([4, 5], 0) == set()


def test_top_k_one_sampling_is_argmax():
    logits = torch.tensor([[0.1, 2.0, 0.3, -1.0], [3.0, 0.0, 0.5, 0.2]])
    picked = sample(logits, DecodeOptions(method="sample", top_k=1), torch.Generator().manual_seed(1))
    assert picked.tolist() == [1, 0]
    nucleus = sample(logits * 10, DecodeOptions(method="sample", top_p=0.5), torch.Generator().manual_seed(1))
    assert nucleus.tolist() == [1, 0]

"""TextCNN and BiLSTM-attention on tiny random models: shapes, padding invariance, attention weights."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from chatbot.models.text_classifiers import (  # noqa: E402
    PAD,
    BiLSTMAttention,
    BiLSTMAttentionConfig,
    TextCNN,
    TextCNNConfig,
    build,
)


def _models():
    torch.manual_seed(0)
    return [
        TextCNN(TextCNNConfig(vocab_size=30, num_classes=4, embedding_size=8, kernel_sizes=(1, 2, 3), filters=5)),
        BiLSTMAttention(BiLSTMAttentionConfig(vocab_size=30, num_classes=4, embedding_size=8, hidden_size=6,
                                              layers=2, attention_size=5)),
    ]


@pytest.mark.parametrize("index", [0, 1], ids=["textcnn", "bilstm"])
def test_output_shape_and_gradients(index):
    model = _models()[index]
    ids = torch.tensor([[5, 6, 7, 8, 9], [10, 11, PAD, PAD, PAD], [12, PAD, PAD, PAD, PAD]])
    logits = model(ids, torch.tensor([5, 2, 1]))
    assert logits.shape == (3, 4)
    logits.sum().backward()
    assert model.embedding.weight.grad is not None
    assert torch.all(model.embedding.weight.grad[PAD] == 0)  # padding never learns


@pytest.mark.parametrize("index", [0, 1], ids=["textcnn", "bilstm"])
def test_padding_does_not_change_the_logits(index):
    model = _models()[index].eval()
    short = model(torch.tensor([[5, 6]]), torch.tensor([2]))
    padded = model(torch.tensor([[5, 6, PAD, PAD, PAD, PAD]]), torch.tensor([2]))
    # in a batch with a longer row, too
    batch = model(torch.tensor([[5, 6, PAD, PAD, PAD, PAD], [7, 8, 9, 10, 11, 12]]), torch.tensor([2, 6]))
    assert torch.allclose(short, padded, atol=1e-6)
    assert torch.allclose(short[0], batch[0], atol=1e-6)


def test_textcnn_ignores_what_follows_the_length():
    # Garbage (non-padding ids) past a row's length must not leak into the max-over-time pooling.
    model = _models()[0].eval()
    clean = model(torch.tensor([[5, 6, PAD, PAD]]), torch.tensor([2]))
    garbage = model(torch.tensor([[5, 6, 20, 21]]), torch.tensor([2]))
    assert torch.allclose(clean, garbage, atol=1e-6)


def test_textcnn_accepts_a_message_shorter_than_its_widest_kernel():
    model = _models()[0].eval()
    assert model(torch.tensor([[7]]), torch.tensor([1])).shape == (1, 4)


def test_bilstm_attention_sums_to_one_over_real_tokens_and_is_zero_on_padding():
    model = _models()[1].eval()
    ids = torch.tensor([[5, 6, 7, 8], [9, 10, PAD, PAD]])
    logits, weights = model(ids, torch.tensor([4, 2]), return_attention=True)
    assert logits.shape == (2, 4) and weights.shape == (2, 4)
    assert torch.allclose(weights.sum(-1), torch.ones(2))
    assert torch.all(weights[1, 2:] == 0)
    assert torch.all(weights[:, :2] > 0)


def test_configs_validate_and_round_trip():
    config = TextCNNConfig(vocab_size=30, num_classes=3, kernel_sizes=[2, 3])
    assert config.kernel_sizes == (2, 3)
    assert TextCNNConfig(**config.to_dict()) == config
    assert isinstance(build("bilstm", {"vocab_size": 30, "num_classes": 3}), BiLSTMAttention)
    with pytest.raises(ValueError, match="architecture"):
        build("transformer", {"vocab_size": 30, "num_classes": 3})
    with pytest.raises(ValueError, match="num_classes"):
        BiLSTMAttentionConfig(vocab_size=30, num_classes=1)
    with pytest.raises(ValueError, match="kernel_sizes"):
        TextCNNConfig(vocab_size=30, num_classes=3, kernel_sizes=[0])


@pytest.mark.parametrize("architecture", ["textcnn", "bilstm"])
def test_the_wide_part_adds_linear_scores_of_sparse_features(architecture):
    torch.manual_seed(0)
    small = {"embedding_size": 8, "filters": 5, "kernel_sizes": [1, 2]} if architecture == "textcnn" else \
        {"embedding_size": 8, "hidden_size": 6, "attention_size": 5}
    model = build(architecture, {"vocab_size": 30, "num_classes": 3, "wide_features": 6, **small}).eval()
    ids, lengths = torch.tensor([[5, 6, 7], [8, 9, PAD]]), torch.tensor([3, 2])
    dense = torch.tensor([[0.0, 0.5, 0.0, 0.0, 0.0, 1.0], [0.2, 0.0, 0.0, 0.0, 0.0, 0.0]])
    # it starts neutral, so the deep part alone decides at first
    deep = build(architecture, {"vocab_size": 30, "num_classes": 3, **small})
    deep.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("wide.")})
    assert torch.allclose(model(ids, lengths, dense.to_sparse()), deep.eval()(ids, lengths), atol=1e-6)
    with torch.no_grad():
        model.wide.weight.copy_(torch.arange(18, dtype=torch.float32).view(6, 3))
    with_wide = model(ids, lengths, dense.to_sparse())
    assert torch.allclose(with_wide - deep(ids, lengths), dense @ model.wide.weight, atol=1e-5)
    assert torch.allclose(with_wide, model(ids, lengths, dense), atol=1e-5)  # sparse and dense agree
    with pytest.raises(ValueError, match="wide part"):
        model(ids, lengths)

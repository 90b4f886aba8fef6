"""The BiLSTM-CRF network on tiny random models: loss and gradients, decoding, padding invariance."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from chatbot.models.bilstm_crf import PAD, BiLstmCrf, BiLstmCrfConfig, build  # noqa: E402


def _model(pos: bool = True) -> BiLstmCrf:
    torch.manual_seed(0)
    return BiLstmCrf(BiLstmCrfConfig(char_vocab_size=20, num_tags=5, pos_vocab_size=6 if pos else 0,
                                     char_embedding_size=8, pos_embedding_size=4, hidden_size=6, layers=2))


CHARS = torch.tensor([[5, 6, 7, 8], [9, 10, PAD, PAD]])
POS = torch.tensor([[2, 3, 2, 4], [5, 2, PAD, PAD]])
LENGTHS = torch.tensor([4, 2])
TAGS = torch.tensor([[1, 2, 0, 3], [0, 4, 0, 0]])


def test_the_loss_is_a_positive_scalar_with_gradients_everywhere_but_padding():
    model = _model()
    loss = model(CHARS, LENGTHS, POS, TAGS)
    assert loss.dim() == 0 and loss.item() > 0
    loss.backward()
    assert model.crf.transitions.grad is not None and model.pos.weight.grad is not None
    assert torch.all(model.chars.weight.grad[PAD] == 0)


def test_decoding_gives_one_tag_per_real_character_and_ignores_padding():
    model = _model().eval()
    paths = model.decode(CHARS, LENGTHS, POS)
    assert [len(p) for p in paths] == [4, 2]
    alone = model.decode(CHARS[1:, :2], LENGTHS[1:], POS[1:, :2])
    assert alone[0] == paths[1]
    emissions = model(CHARS, LENGTHS, POS)  # without tags: emission scores
    assert emissions.shape == (2, 4, 5)


def test_a_model_without_tag_input_rebuilds_from_its_config():
    model = _model(pos=False).eval()
    again = build(model.config.to_dict())
    again.load_state_dict(model.state_dict())
    again.eval()
    assert model.decode(CHARS, LENGTHS) == again.decode(CHARS, LENGTHS)
    with pytest.raises(ValueError, match="pos"):
        _model(pos=True)(CHARS, LENGTHS)


def test_training_fits_a_small_tagging_task():
    model = _model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        optimizer.zero_grad()
        model(CHARS, LENGTHS, POS, TAGS).backward()
        optimizer.step()
    model.eval()
    assert model.decode(CHARS, LENGTHS, POS) == [[1, 2, 0, 3], [0, 4]]

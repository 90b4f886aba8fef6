"""SentencePiece vocabulary trained on tiny Korean text inside the test."""

from __future__ import annotations

import pytest

pytest.importorskip("sentencepiece")
pytest.importorskip("torch")

from chatbot.models.seq2seq import BOS, EOS, PAD, UNK  # noqa: E402
from chatbot.models.vocab import SubwordVocab  # noqa: E402

TEXTS = ["오늘 날씨 정말 좋네요", "내일은 비가 온대요", "점심 뭐 먹을까요", "저녁에 영화 볼래요",
         "주말에 산책 가요", "요즘 너무 피곤해요", "커피 한 잔 할까요", "날씨가 추워졌어요"] * 5


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_round_trip_save_and_load(tmp_path, model_type):
    vocab = SubwordVocab.train(TEXTS, vocab_size=60, model_type=model_type)
    ids = vocab.encode("오늘 날씨 좋네요")
    assert ids and all(i > EOS for i in ids)
    assert vocab.decode([BOS, *ids, EOS, PAD]) == "오늘 날씨 좋네요"
    vocab.save(tmp_path)
    assert SubwordVocab.load(tmp_path).encode("오늘 날씨 좋네요") == ids


def test_unknown_characters_never_fail():
    vocab = SubwordVocab.train(TEXTS, vocab_size=60)
    ids = vocab.encode("햏 🤖 xyz")
    assert UNK in ids
    assert isinstance(vocab.decode(ids), str)


def test_training_needs_text():
    with pytest.raises(ValueError, match="no text"):
        SubwordVocab.train(["  ", ""])

"""SentencePiece vocabulary trained on tiny Korean text inside the test."""

from __future__ import annotations

from pathlib import Path

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


def _train_on_rank(rank: int, init_file: str, out_dir: str) -> None:
    """One of two gloo processes: each rank passes different text; rank 0's vocabulary must win."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        texts = TEXTS if rank == 0 else ["전혀 다른 문장만 있는 랭크", "바나나 우유 딸기 우유"] * 20
        vocab = SubwordVocab.train(texts, vocab_size=60)
        (Path(out_dir) / f"rank{rank}.model").write_bytes(vocab.processor.serialized_model_proto())
    finally:
        dist.destroy_process_group()


def test_ranks_share_rank_zeros_vocabulary(tmp_path):
    """Under torchrun every rank must encode with the same pieces: rank 0 trains and broadcasts."""
    import torch.distributed as dist
    import torch.multiprocessing as mp

    if not dist.is_available():
        pytest.skip("this torch build has no torch.distributed")
    mp.spawn(_train_on_rank, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    alone = SubwordVocab.train(TEXTS, vocab_size=60).processor.serialized_model_proto()
    assert (tmp_path / "rank1.model").read_bytes() == (tmp_path / "rank0.model").read_bytes() == alone

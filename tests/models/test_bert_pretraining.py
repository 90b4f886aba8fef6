"""MLM pretraining parts: morpheme groups, the masking collator, length buckets, accuracy, exact resume."""

from __future__ import annotations

from itertools import pairwise
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("sentencepiece")

from chatbot.models.bert import spm_tokenizer  # noqa: E402
from chatbot.models.bert_pretraining import (  # noqa: E402
    IGNORE,
    BertShape,
    LengthBuckets,
    MaskingCollator,
    build_mlm_model,
    encode_lines,
    masked_accuracy,
    mlm_loss,
    piece_groups,
)
from chatbot.models.trainer import CHECKPOINT, TrainConfig, train  # noqa: E402
from tests.models.bert_fixtures import train_spm  # noqa: E402

# Our own lines: long morphemes (떡볶이, 도서관, 아이스크림) that a tiny vocabulary splits into several pieces.
LINES = ["떡볶이를 먹으러 가요", "도서관에서 공부했어요", "아이스크림이 녹아 버렸어", "비가 와서 우산을 샀어요",
         "강아지와 산책하는 중이에요", "떡볶이는 매워야 맛있지", "도서관 문이 닫혔어요", "아이스크림 가게에 들렀다"]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return spm_tokenizer(train_spm(tmp_path_factory.mktemp("spm") / "spiece.model", 60, LINES))


@pytest.fixture(scope="module")
def kiwi():
    from chatbot.nlp.tokenizers import get_tokenizer

    return get_tokenizer("kiwi")


def test_pieces_are_grouped_by_the_morpheme_of_their_first_character():
    # [CLS] ▁ 날 씨 가 ▁좋 다 [SEP] over "날씨가 좋다": the lone ▁ joins 날씨, 가 and 다 stand alone.
    offsets = [(0, 0), (0, 1), (0, 1), (1, 2), (2, 3), (4, 5), (5, 6), (0, 0)]
    special = [1, 0, 0, 0, 0, 0, 0, 1]
    morphemes = [SimpleNamespace(start=s, end=e) for s, e in [(0, 2), (2, 3), (4, 5), (5, 6)]]
    assert piece_groups("날씨가 좋다", offsets, special, morphemes) == [-1, 0, 0, 0, 1, 2, 3, -1]
    assert piece_groups("날씨가 좋다", offsets, special, None) == [-1, 0, 1, 2, 3, 4, 5, -1]


def test_whole_word_masking_masks_whole_morphemes_and_never_special_tokens_or_padding(tokenizer, kiwi):
    rows = encode_lines(LINES, tokenizer, 32, kiwi)
    assert any(max(r["groups"].count(g) for g in set(r["groups"]) - {-1}) > 1 for r in rows)  # multi-piece morphemes
    collate = MaskingCollator(tokenizer, mask_prob=0.3)
    torch.manual_seed(0)
    special = torch.tensor(tokenizer.all_special_ids)
    multi_piece_masked = mask_tokens = labelled = 0
    for _ in range(20):
        batch = collate(rows)
        ids = collate._pad(rows)["input_ids"]
        groups = collate._pad(rows)["groups"]
        labels, inputs = batch["labels"], batch["input_ids"]
        assert ids.shape[1] == max(len(r["input_ids"]) for r in rows)  # padded to this batch's longest
        assert (labels[groups < 0] == IGNORE).all()  # [CLS], [SEP] and padding are never masked
        assert (labels[batch["attention_mask"] == 0] == IGNORE).all()
        scored = labels != IGNORE
        assert (labels[scored] == ids[scored]).all()
        assert scored.any(dim=1).all()  # every row has at least one masked group
        assert not torch.isin(inputs[scored & (inputs != tokenizer.mask_token_id)], special).any()
        for row in range(len(rows)):
            for group in set(groups[row].tolist()) - {-1}:
                where = groups[row] == group
                assert scored[row, where].all() or not scored[row, where].any()  # all pieces or none
                is_mask = inputs[row, where] == tokenizer.mask_token_id
                assert is_mask.all() or not is_mask.any()  # one 80/10/10 choice per morpheme
                multi_piece_masked += int(scored[row, where].all() and where.sum() > 1)
        mask_tokens += int((inputs[scored] == tokenizer.mask_token_id).sum())
        labelled += int(scored.sum())
    assert multi_piece_masked > 0
    assert 0.6 < mask_tokens / labelled < 0.95  # about 80% [MASK]


def test_without_whole_words_every_piece_is_its_own_group(tokenizer):
    rows = encode_lines(LINES, tokenizer, 32, None)
    for row in rows:
        assert row["groups"] == [-1] + list(range(len(row["input_ids"]) - 2)) + [-1]


def test_validation_masks_are_fixed_by_the_seed(tokenizer, kiwi):
    collate = MaskingCollator(tokenizer)
    rows = encode_lines(LINES, tokenizer, 32, kiwi)
    first, again = collate.fixed_masks(rows, seed=3), collate.fixed_masks(rows, seed=3)
    assert first == again and first != collate.fixed_masks(rows, seed=4)
    assert [len(r["labels"]) for r in first] == [len(r["input_ids"]) for r in rows]
    batch = collate(first)  # rows with labels are only padded
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert batch["labels"][0, : len(first[0]["labels"])].tolist() == first[0]["labels"]


def test_length_buckets_hold_similar_lengths_cover_every_row_once_and_shuffle_by_epoch():
    lengths = [int(x) for x in torch.randint(3, 60, (203,), generator=torch.Generator().manual_seed(0))]
    buckets = LengthBuckets(lengths, batch_size=16, seed=1, pool=100)
    batches = list(buckets)
    assert len(batches) == len(buckets) == 13
    assert sorted(i for b in batches for i in b) == list(range(203))
    spans = sorted((min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in batches)
    assert all(high <= low for (_, high), (low, _) in pairwise(spans))  # one pool: sorted runs
    assert [min(lengths[i] for i in b) for b in batches] != [low for low, _ in spans]  # batch order is shuffled
    assert list(buckets) == batches
    buckets.set_epoch(1)
    assert list(buckets) != batches
    shards = [list(LengthBuckets(lengths, 16, seed=1, rank=r, world=2)) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == 6
    assert not {i for b in shards[0] for i in b} & {i for b in shards[1] for i in b}


def test_masked_accuracy_counts_the_masked_pieces_predicted():
    class Echo(torch.nn.Module):  # predicts each position's input id
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids, attention_mask):
            return SimpleNamespace(logits=torch.nn.functional.one_hot(input_ids, 20).float())

    class Vocabulary:  # KoBERT's layout: [UNK] 0, [PAD] 1, [CLS] 2, [SEP] 3, [MASK] 4
        pad_token_id, mask_token_id, all_special_ids = 1, 4, [0, 1, 2, 3, 4]

        def __len__(self):
            return 20

    collate = MaskingCollator(Vocabulary())
    rows = [{"input_ids": [2, 10, 11, 3], "labels": [IGNORE, 10, 12, IGNORE]},  # one right, one wrong
            {"input_ids": [2, 4, 3], "labels": [IGNORE, 13, IGNORE]},  # wrong
            {"input_ids": [2, 15, 3], "labels": [IGNORE, 15, IGNORE]}]  # right
    assert masked_accuracy(Echo(), rows, collate, batch_size=2) == pytest.approx(2 / 4)


def test_a_resumed_pretraining_masks_and_ends_the_same(tmp_path, tokenizer, kiwi):
    rows = encode_lines(LINES * 4, tokenizer, 32, kiwi)  # 32 rows: 4 batches of 8 an epoch
    collate = MaskingCollator(tokenizer)
    validation = collate.fixed_masks(rows[:8], seed=0)
    shape = BertShape(hidden_size=16, layers=1, heads=2, intermediate_size=32, max_length=32)
    config = TrainConfig(epochs=3, batch_size=8, learning_rate=1e-3, warmup_steps=2, patience=100,
                         checkpoint_every=3, device="cpu", progress=False)

    def run(loss_fn, out, resume=False):
        torch.manual_seed(0)
        model = build_mlm_model(len(tokenizer), tokenizer.pad_token_id, shape)
        buckets = LengthBuckets([len(r["input_ids"]) for r in rows], 8, seed=0)
        train(model, rows, validation, collate, loss_fn, config, out_dir=out, resume=resume, batch_sampler=buckets)
        return model

    straight = run(mlm_loss, tmp_path / "straight")

    class Crash(Exception):
        pass

    def crashing(model, batch, step):
        if step == 7:  # the checkpoint is at step 6, halfway through the second epoch
            raise Crash
        return mlm_loss(model, batch, step)

    with pytest.raises(Crash):
        run(crashing, tmp_path / "resumed")
    assert torch.load(tmp_path / "resumed" / CHECKPOINT, weights_only=False)["state"]["step"] == 6
    resumed = run(mlm_loss, tmp_path / "resumed", resume=True)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)

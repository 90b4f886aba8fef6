"""``python -m chatbot pretrain``: a tiny BERT pretrained on a few lines, loaded back, resumed; bad input files."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("sentencepiece")

from chatbot.cli import main  # noqa: E402
from chatbot.models.bert import load_model, load_tokenizer  # noqa: E402

# Written for this test: everyday sentences, 16 of them, three times over (48 lines).
LINES = ["오늘 날씨가 정말 맑네요", "내일은 비가 온다고 해요", "점심으로 김치찌개를 먹었어요",
         "저녁에는 친구랑 영화를 볼 거예요", "주말에 등산 가고 싶어요", "우산을 챙기는 걸 잊지 마세요",
         "커피 한 잔 마시면서 쉬어요", "요즘 책 읽는 재미에 빠졌어요", "지하철이 너무 붐벼서 힘들었어요",
         "강아지가 공원에서 뛰어놀아요", "새로 생긴 빵집에 가 봤어요", "시험 공부를 열심히 하고 있어요",
         "겨울에는 따뜻한 차가 최고예요", "여름 방학에 바다로 여행 갈래요", "운동을 하고 나니 기분이 좋아요",
         "동생이 피아노를 배우기 시작했어요"]
# 42 training lines in batches of 8: 6 steps an epoch.
TINY = ["--vocab-size", "200", "--hidden-size", "32", "--layers", "1", "--heads", "2", "--intermediate-size", "64",
        "--max-length", "32", "--batch-size", "8", "--validation-lines", "6", "--eval-every", "3",
        "--checkpoint-every", "3"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "lines.txt"
    # the blank lines at the end are skipped
    path.write_text("\n".join(LINES * 3) + "\n\n  \n", encoding="utf-8")
    return path


def pretrain(*args: str) -> int:
    return main(["pretrain", *TINY, *args])


def test_pretrain_writes_a_checkpoint_that_the_loaders_read(text_file, tmp_path, capsys):
    out = tmp_path / "bert"
    assert pretrain("--data", str(text_file), "--out", str(out), "--epochs", "2") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 12 and summary["lines"] == {"train": 42, "validation": 6}
    assert 0.0 <= summary["mlm_accuracy"] <= 1.0 and summary["device"] == "cpu"

    meta = json.loads((out / "pretraining.json").read_text(encoding="utf-8"))
    assert meta["steps"] == 12 and meta["epochs"] == 2 and meta["stopped_by"] == "epochs"
    assert meta["shape"]["hidden_size"] == 32 and meta["whole_word"] == "morpheme"
    assert meta["examples_per_second"] > 0 and meta["tokens_per_second"] > meta["examples_per_second"]
    assert [h["step"] for h in meta["history"]] == [3, 6, 9, 12]
    assert (out / "loss_curve.png").read_bytes().startswith(PNG_SIGNATURE)
    assert (out / "spiece.model").is_file() and not (out / ".partial").exists()

    tokenizer = load_tokenizer(str(out))
    assert [tokenizer.unk_token_id, tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id,
            tokenizer.mask_token_id] == [0, 1, 2, 3, 4]  # KoBERT's layout
    assert len(tokenizer) == meta["sentencepiece_vocab_size"]
    model = load_model(str(out), head="masked_lm")
    assert type(model).__name__ == "BertForMaskedLM" and model.config.hidden_size == 32
    assert sum(p.numel() for p in model.parameters()) == meta["parameters"]
    encoded = tokenizer(["오늘 날씨가 [MASK] 맑네요"], return_tensors="pt")
    ids = encoded["input_ids"][0].tolist()
    assert ids[0] == 2 and ids[-1] == 3 and 4 in ids and 0 not in ids  # [CLS] ... [MASK] ... [SEP], no [UNK]
    with torch.no_grad():
        logits = model(**encoded).logits
    assert logits.shape == (1, len(ids), len(tokenizer)) and torch.isfinite(logits).all()


def test_resume_continues_from_the_checkpoint_step(text_file, tmp_path, capsys):
    out = tmp_path / "bert"
    assert pretrain("--data", str(text_file), "--out", str(out), "--epochs", "1") == 0
    assert json.loads((out / "pretraining.json").read_text(encoding="utf-8"))["steps"] == 6
    vocabulary = (out / "checkpoints" / "spiece.model").read_bytes()
    # Other shape flags are ignored on resume: the checkpoint's model goes on.
    assert pretrain("--data", str(text_file), "--out", str(out), "--epochs", "2", "--resume",
                    "--hidden-size", "64") == 0
    meta = json.loads((out / "pretraining.json").read_text(encoding="utf-8"))
    assert meta["resumed_from"] == 6 and meta["steps"] == 12
    assert meta["shape"]["hidden_size"] == 32 and load_model(str(out), head="masked_lm").config.hidden_size == 32
    assert (out / "checkpoints" / "spiece.model").read_bytes() == vocabulary
    capsys.readouterr()


def test_resume_without_checkpoints_says_so(text_file, tmp_path, capsys):
    assert pretrain("--data", str(text_file), "--out", str(tmp_path / "none"), "--resume") == 2
    assert "--resume" in capsys.readouterr().err


def test_a_directory_of_text_files_and_max_lines(text_file, tmp_path, capsys):
    out = tmp_path / "bert"
    assert pretrain("--data", str(text_file.parent), "--out", str(out), "--epochs", "1", "--max-lines", "30",
                    "--whole-word", "none") == 0
    meta = json.loads((out / "pretraining.json").read_text(encoding="utf-8"))
    assert meta["lines"] == {"train": 24, "validation": 6} and meta["whole_word"] == "none"
    capsys.readouterr()


def test_lines_are_nfc_stripped_and_blank_ones_skipped(tmp_path):
    from training.pretrain import read_lines

    path = tmp_path / "nfd.txt"
    path.write_text("\ufeff" + unicodedata.normalize("NFD", "  한글 문장\n\n두 번째\r\n"), encoding="utf-8")
    assert read_lines([path]) == ["한글 문장", "두 번째"]


@pytest.mark.parametrize("content, expected", [
    (None, "no such file"),
    (b"", "no text"),
    (b"\n   \n", "no text"),
    ("첫 줄\n둘째 줄\n".encode() + b"\xff\xfe bad\n", ":3: not UTF-8"),
])
def test_a_bad_input_file_exits_2_and_names_it(tmp_path, capsys, content, expected):
    path = tmp_path / "broken.txt"
    if content is not None:
        path.write_bytes(content)
    assert pretrain("--data", str(path), "--out", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(path) in err and expected in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()

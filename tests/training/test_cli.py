"""The command line: ``chatbot.cli.main([...])`` in process, and ``python -m chatbot`` for real."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chatbot.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PREDICTION_KEYS = {"text", "gold_intent", "pred_intent", "confidence", "fallback", "gold_answer", "reply",
                   "pred_entities"}


def run_module(*args: str, stdin: str | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    """``python -m chatbot ARGS`` in a real subprocess, from the repository root."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "chatbot", *args], input=stdin, capture_output=True,
                          text=True, encoding="utf-8", cwd=REPO_ROOT, env=env, timeout=timeout)


# --- analyze ---------------------------------------------------------------------------------


def test_analyze_prints_json(capsys):
    assert main(["analyze", "서울에 가고 싶어요"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["normalized"] == "서울에 가고 싶어요"
    assert result["tokens"][0] == {"form": "서울", "pos": "NNP", "lemma": "서울", "start": 0, "end": 2,
                                   "stopword": False}
    for token in result["tokens"]:
        assert set(token) == {"form", "pos", "lemma", "start", "end", "stopword"}


def test_analyze_with_a_tokenizer_option(capsys):
    assert main(["analyze", "먹었어요", "--tokenizer", "mecab"]) == 0
    tokens = json.loads(capsys.readouterr().out)["tokens"]
    assert any(t["lemma"] == "먹다" for t in tokens)


def test_analyze_rejects_an_unknown_tokenizer(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["analyze", "안녕", "--tokenizer", "nope"])
    assert excinfo.value.code == 2


# --- train -----------------------------------------------------------------------------------


def test_train_exits_0_and_writes_the_model(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "model"
    assert main(["train", "--data", str(tiny_corpus("yaml")), "--out", str(out)]) == 0
    assert (out / "pipeline.yaml").is_file() and (out / "meta.json").is_file()
    summary = json.loads(capsys.readouterr().out)
    assert summary["tokenizer"] == "kiwi"
    assert summary["intents"] == 3 and summary["rows"] == 27


def test_train_accepts_several_data_options(tiny_corpus, tmp_path, capsys):
    a = tiny_corpus("yaml", intents=["greet", "weather"], name="a.yaml")
    b = tiny_corpus("csv", intents=["food"], name="b.csv")
    out = tmp_path / "model"
    assert main(["train", "--data", str(a), "--data", str(b), "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["intents"] == 3


def test_train_with_a_custom_config_file(tiny_corpus, tmp_path, capsys):
    config = yaml.safe_load((REPO_ROOT / "training" / "configs" / "default.yaml").read_text(encoding="utf-8"))
    for entry in config["pipeline"]:
        if entry["name"] == "tokenizer":
            entry["params"] = {"backend": "mecab"}
    config_file = tmp_path / "mecab.yaml"
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "model"
    assert main(["train", "--data", str(tiny_corpus("yaml")), "--out", str(out), "--config", str(config_file)]) == 0
    assert json.loads(capsys.readouterr().out)["tokenizer"] == "mecab"
    assert json.loads((out / "meta.json").read_text(encoding="utf-8"))["tokenizer"] == "mecab"


def test_train_on_a_bad_corpus_exits_2_with_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,intent\n안녕,greet\n비 와?,\n", encoding="utf-8")
    out = tmp_path / "model"
    assert main(["train", "--data", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:3:" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_train_with_an_unknown_config_exits_2(tiny_corpus, tmp_path, capsys):
    assert main(["train", "--data", str(tiny_corpus("yaml")), "--out", str(tmp_path / "m"),
                 "--config", "no_such_config"]) == 2
    assert "no_such_config" in capsys.readouterr().err


def test_train_on_a_bad_corpus_in_a_real_process(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nintents:\n  - intent: greet\n    exmaples: [안녕]\n", encoding="utf-8")
    result = run_module("train", "--data", str(bad), "--out", str(tmp_path / "model"))
    assert result.returncode == 2, result.stderr
    assert f"{bad}:4:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "model").exists()


# --- evaluate --------------------------------------------------------------------------------

EVAL_ROWS = [
    ("안녕하세요 반가워요", "greet", "안녕하세요! 반가워요."),
    ("오늘 비 온대요?", "weather", "창밖을 한번 보시는 건 어때요?"),
    ("점심 메뉴 뭐 먹지", "food", ""),
    ("하이 오랜만", "greet", ""),
    ("양자역학 파동함수 붕괴 해석", "OOD", ""),
    ("내일 눈 올까?", "weather", "날씨 이야기 좋아요."),
    ("법인세 신고 서류 목록", "OOD", ""),
]


def write_eval_csv(path: Path) -> Path:
    lines = ["text,intent,answer"] + [f"{t},{i},{a}" for t, i, a in EVAL_ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.filterwarnings("ignore:\\s*The hypothesis contains 0 counts")
def test_evaluate_writes_report_predictions_and_confusion_matrix(tiny_model_dir, tmp_path, capsys):
    data = write_eval_csv(tmp_path / "eval.csv")
    out = tmp_path / "report"
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(data), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert "intent" in printed

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    intent = report["intent"]
    assert 0.0 <= intent["accuracy"] <= 1.0 and 0.0 <= intent["macro_f1"] <= 1.0
    assert set(intent["per_class"]) == {"greet", "weather", "food"}
    for scores in intent["per_class"].values():
        assert {"precision", "recall", "f1", "support"} <= set(scores)
    assert sum(s["support"] for s in intent["per_class"].values()) == 5
    assert 0.0 <= report["fallback"]["ood_recall"] <= 1.0
    assert 0.0 <= report["fallback"]["in_domain_kept"] <= 1.0
    response = report["response"]
    assert 0.0 <= response["bleu4"] <= 100.0
    assert 0.0 <= response["distinct1"] <= 1.0 and 0.0 <= response["distinct2"] <= 1.0

    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(EVAL_ROWS)
    assert [r["text"] for r in rows] == [t for t, _, _ in EVAL_ROWS]  # input order
    assert [r["gold_intent"] for r in rows] == [i for _, i, _ in EVAL_ROWS]
    assert [r["gold_answer"] for r in rows] == [a or None for _, _, a in EVAL_ROWS]
    for row in rows:
        assert PREDICTION_KEYS <= set(row) <= PREDICTION_KEYS | {"gold_entities"}  # on rows of files that mark entities
        assert isinstance(row["fallback"], bool)
        assert 0.0 <= row["confidence"] <= 1.0
        assert isinstance(row["reply"], str) and row["reply"]
        assert row["pred_intent"] in {"greet", "weather", "food"}

    png = (out / "confusion_matrix.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000


def test_evaluate_without_ood_or_answers_leaves_those_sections_out(tiny_model_dir, tmp_path, capsys):
    data = tmp_path / "eval.csv"
    data.write_text("text,intent\n안녕 반가워,greet\n우산 챙길까,weather\n", encoding="utf-8")
    out = tmp_path / "report"
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(data), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert "ood_recall" not in report["fallback"]
    assert "response" not in report
    assert len((out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()) == 2


def test_evaluate_with_a_missing_model_exits_2(tmp_path, capsys):
    data = write_eval_csv(tmp_path / "eval.csv")
    assert main(["evaluate", "--model", str(tmp_path / "none"), "--data", str(data),
                 "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "chatbot train" in err and "Traceback" not in err


# --- real processes --------------------------------------------------------------------------


def test_help_lists_the_subcommands():
    result = run_module("--help")
    assert result.returncode == 0
    for name in ("train", "evaluate", "serve", "chat", "analyze"):
        assert name in result.stdout


def test_analyze_in_a_real_process():
    result = run_module("analyze", "좋네요")
    assert result.returncode == 0, result.stderr
    tokens = json.loads(result.stdout)["tokens"]
    assert any(t["lemma"] == "좋다" for t in tokens)


def bot_lines(stdout: str) -> list[str]:
    """What the bot said: the text after each ``한결> `` (the ``나> `` prompt has no newline)."""
    return [m.strip() for m in re.findall(r"한결> (.*)", stdout)]


def test_chat_in_a_real_process(trained_model_dir):
    result = run_module("chat", "--model", str(trained_model_dir), stdin="안녕\n/quit\n")
    assert result.returncode == 0, result.stderr
    replies = bot_lines(result.stdout)
    assert len(replies) == 1, result.stdout
    assert re.search(r"[가-힣]", replies[0])
    assert "Traceback" not in result.stderr


def test_chat_in_process_skips_blank_lines_and_ends_at_eof(trained_model_dir, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("안녕하세요\n\n고마워요\n"))
    assert main(["chat", "--model", str(trained_model_dir)]) == 0
    out = capsys.readouterr().out
    assert len(bot_lines(out)) == 2, out
    # The banner: 한결 ends in a consonant, so the particle is 과 (한결과), not 와.
    assert "한결과 대화를 시작해요" in out.splitlines()[0], out.splitlines()[0]


def test_chat_keeps_the_dialogue_state_and_the_reminders_across_lines(trained_model_dir, monkeypatch, capsys):
    lines = "알림 하나 설정해 줘\n치과 가기\n모레 아침 9시\n내 일정 보여줘\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["chat", "--model", str(trained_model_dir)]) == 0
    replies = bot_lines(capsys.readouterr().out)
    assert len(replies) == 4, replies
    assert "무엇을" in replies[0] and "언제" in replies[1]  # the form asks in turn: the state is kept
    assert "치과 가기" in replies[2] and "치과 가기" in replies[3]  # saved, then listed from the same book


# --- evaluate with conversation files ------------------------------------------------------------

TINY_DIALOGUES = """now: 2026-12-07T10:00:00+09:00
conversations:
  - name: 인사하고 날씨
    turns:
      - user: 안녕 반가워요
        intent: greet
      - user: 내일 눈 올까?
        intent: weather
  - name: 틀리는 대화
    turns:
      - user: 떡볶이 먹고 싶다
        intent: greet
        reply_contains: 이 답은 나올 수 없어요
"""


@pytest.mark.filterwarnings("ignore:\\s*The hypothesis contains 0 counts")
def test_evaluate_with_dialogues_reports_per_turn_accuracy(tiny_model_dir, tmp_path, capsys):
    data = write_eval_csv(tmp_path / "eval.csv")
    talks = tmp_path / "talks"
    talks.mkdir()
    (talks / "tiny.yaml").write_text(TINY_DIALOGUES, encoding="utf-8")
    out = tmp_path / "report"
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(data), "--out", str(out),
                 "--dialogues", str(talks)]) == 0
    printed = json.loads(capsys.readouterr().out)["dialogues"]
    assert printed["turns"] == 3 and "failing_turns" not in printed
    section = json.loads((out / "report.json").read_text(encoding="utf-8"))["dialogues"]
    assert section["conversations"] == 2 and section["conversations_passed"] <= 1
    assert section["intent_turns"] == 3 and section["intent_accuracy"] <= 0.6667
    failing = [t for t in section["failing_turns"] if t["user"] == "떡볶이 먹고 싶다"]
    assert failing and "reply: lacks '이 답은 나올 수 없어요'" in failing[0]["problems"]
    assert section["files"] == [str(talks)]


def test_evaluate_without_dialogues_has_no_dialogue_section(tiny_model_dir, tmp_path, capsys):
    data = write_eval_csv(tmp_path / "eval.csv")
    out = tmp_path / "report"
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(data), "--out", str(out)]) == 0
    assert "dialogues" not in json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_evaluate_with_a_bad_dialogue_file_exits_2_with_file_and_line(tiny_model_dir, tmp_path, capsys):
    data = write_eval_csv(tmp_path / "eval.csv")
    bad = tmp_path / "bad.yaml"
    bad.write_text("now: 2026-12-07\nconversations:\n  - name: x\n    turns:\n      - says: 안녕\n", encoding="utf-8")
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(data), "--out", str(tmp_path / "r"),
                 "--dialogues", str(bad)]) == 2
    assert f"{bad}:5: a turn needs `user`" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:\\s*The hypothesis contains 0 counts")
def test_train_with_dialogues_puts_their_accuracy_in_the_models_evaluation(tmp_path):
    from tests.conftest import write_tiny_corpus

    corpus = write_tiny_corpus(tmp_path / "corpus")
    talks = tmp_path / "tiny.yaml"
    talks.write_text(TINY_DIALOGUES, encoding="utf-8")
    out = tmp_path / "model"
    assert main(["train", "--data", str(corpus), "--out", str(out), "--dialogues", str(talks)]) == 0
    section = json.loads((out / "evaluation" / "report.json").read_text(encoding="utf-8"))["dialogues"]
    assert section["turns"] == 3 and section["conversations"] == 2 and section["conversations_passed"] <= 1

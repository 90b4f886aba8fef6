"""Progress inside one pipeline step: a network's training steps reach ``train --progress-file`` (so the
trainer console's bar moves while a seq2seq model trains), and ``evaluate`` runs in chunks with the same results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.cli import main
from chatbot.corpus import load_corpus
from chatbot.pipeline import Pipeline
from chatbot.progress import listening, report
from training import evaluate as evaluation
from training.messages import fresh
from training.progress import ProgressLog
from webui.trainer.jobs import _fraction


def test_report_reaches_the_listener_of_its_block_only():
    heard: list[tuple[int, int]] = []
    report(1, 2)  # no listener: nothing happens
    with listening(lambda done, total: heard.append((done, total))):
        report(1, 4)
        report(9, 4)  # never past the total
        report(1, 0)  # no total: nothing to show
    report(3, 4)
    assert heard == [(1, 4), (4, 4)]


def test_within_lines_place_the_running_step_inside_the_run(tmp_path, monkeypatch):
    clock = iter([0.0, 0.2, 1.5, 1.6, 3.0])
    monkeypatch.setattr("training.progress.time.monotonic", lambda: next(clock))
    log = ProgressLog(tmp_path / "p.jsonl")
    log.plan(4)
    log.step("fit: tokenizer")
    log.step("fit: seq2seq_responder")  # the second of four steps is running
    for done in (10, 20, 30, 40, 100):  # at 0.0, 0.2 (too soon), 1.5, 1.6 (too soon), then the last always
        log.within(done, 100)
    log.close()
    lines = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()][2:]
    assert [line["step_done"] for line in lines] == [10, 30, 100]
    assert [line["fraction"] for line in lines] == [(1 + 0.1) / 4, (1 + 0.3) / 4, (1 + 1.0) / 4]
    assert all(line["done"] == 2 and line["total"] == 4 for line in lines)
    assert lines[0]["stage"] == "fit: seq2seq_responder · 10/100"


@pytest.mark.parametrize(("line", "done", "total", "expected"), [
    ({"fraction": 0.3}, 1, 4, 0.3),
    ({}, 1, 4, 0.25),
    ({"fraction": "0.3"}, 1, 4, 0.25),  # not a number: steps done of the total
    ({"fraction": 1.7}, 1, 4, 0.25),
    ({"fraction": True}, 1, 4, 0.25),
    ({}, 0, 0, 0.0),
])
def test_the_console_reads_the_fraction_of_a_line(line, done, total, expected):
    assert _fraction(line, done, total) == pytest.approx(expected)


def test_a_seq2seq_job_moves_its_bar_by_training_steps(tiny_corpus, neural_config, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("training.progress.WITHIN_SECONDS", 0.0)  # every training step writes its line
    progress, out = tmp_path / "progress.jsonl", tmp_path / "model"
    assert main(["train", "--data", str(tiny_corpus("yaml")), "--out", str(out), "--config", str(neural_config()),
                 "--device", "cpu", "--progress-file", str(progress)]) == 0
    capsys.readouterr()
    lines = [json.loads(x) for x in progress.read_text(encoding="utf-8").splitlines()]
    inner = [line for line in lines if "step_done" in line]
    assert inner, "no line came from inside the seq2seq step"
    assert all(line["stage"].startswith(("validation fit: seq2seq_responder", "fit: seq2seq_responder"))
               for line in inner)
    steps = [line["step_done"] for line in inner]
    assert steps == sorted(steps) and steps[-1] == inner[-1]["step_total"]  # counted up to the last step
    fractions = [line["fraction"] for line in lines if "fraction" in line]
    assert fractions == sorted(fractions) and 0 < fractions[0] < fractions[-1] < 1
    bounds = [((line["done"] - 1) / line["total"], line["done"] / line["total"]) for line in inner]
    assert all(lo <= line["fraction"] <= hi for line, (lo, hi) in zip(inner, bounds, strict=True))


def test_evaluate_in_chunks_gives_the_same_predictions_as_one_batch(tiny_corpus, tmp_path, monkeypatch):
    """The same intent, confidence, fallback, entities and reply source (a reply drawn at random from an intent's
    answers may be another of them: the responder's random draws follow the order it is asked in)."""
    corpus, model = tiny_corpus("yaml"), tmp_path / "model"
    assert main(["train", "--data", str(corpus), "--out", str(model), "--search-budget", "0"]) == 0
    pipeline = Pipeline.load(model)
    rows = fresh(load_corpus([corpus], min_intents=0).messages)
    whole = pipeline.process_batch(fresh(rows))
    monkeypatch.setattr(evaluation, "EVALUATE_CHUNK", 3)
    chunked = evaluation.process_in_chunks(pipeline, fresh(rows))
    assert len(rows) > 3 * 2
    assert [(m.intent, m.confidence, m.fallback, m.reply_source, m.entities) for m in chunked] == [
        (m.intent, m.confidence, m.fallback, m.reply_source, m.entities) for m in whole]


def test_evaluate_model_still_writes_its_report(tiny_corpus, tmp_path):
    corpus, model = tiny_corpus("yaml"), tmp_path / "model"
    assert main(["train", "--data", str(corpus), "--out", str(model), "--search-budget", "0"]) == 0
    report = evaluation.evaluate_model(model, [corpus], tmp_path / "eval")
    assert report["rows"] > 0 and Path(tmp_path / "eval" / "report.json").is_file()

"""``train --progress-file`` and train_model's ``plan`` callback: steps counted against a planned total."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from chatbot.cli import main
from chatbot.corpus import CorpusError
from training.config import load_config
from training.progress import ProgressLog, Steps, one_line, planned_steps
from training.search import DEFAULTS, planned
from training.train import train_model

DEFAULT_STEPS = len(load_config("default")["pipeline"])
SEARCH_STEPS = planned(DEFAULTS)  # the search's featurisations (and a second round, if it has one)


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check_steps(lines: list[dict]) -> None:
    """Every step line: a UTC time, done counting up by one, never past total."""
    for i, line in enumerate(lines, start=1):
        assert set(line) == {"time", "stage", "done", "total"}, line
        assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)
        assert line["done"] == i and 0 < line["done"] <= line["total"]


def test_progress_file_counts_every_step_and_ends_with_done(tiny_corpus, tmp_path, capsys):
    progress, out = tmp_path / "logs" / "progress.jsonl", tmp_path / "model"
    assert main(["train", "--data", str(tiny_corpus("yaml")), "--out", str(out), "--progress-file", str(progress)]) == 0
    summary = json.loads(capsys.readouterr().out)
    *steps, last = read_lines(progress)
    check_steps(steps)
    searched = SEARCH_STEPS
    total = planned_steps(DEFAULT_STEPS, validation=True, refit=True) + searched
    assert total == 2 * DEFAULT_STEPS + 3 + searched
    assert [s["total"] for s in steps] == [total] * total  # the plan was right from the start
    stages = [s["stage"] for s in steps]
    assert stages[0] == "loading corpus" and stages[-1] == "saving"
    assert sum(s.startswith("search: ") for s in stages) == searched
    assert "fallback thresholds: cross-validation" not in stages  # the default detector pools no folds
    assert "tuning on validation split" in stages
    assert sum(s.startswith("validation fit: ") for s in stages) == DEFAULT_STEPS
    assert sum(s.startswith("fit: ") for s in stages) == DEFAULT_STEPS
    assert last["stage"] == "done" and last["done"] == last["total"] == total
    assert last["out"] == str(out)
    assert last["summary"] == summary
    assert datetime.fromisoformat(last["time"]) >= datetime.fromisoformat(steps[-1]["time"])


def test_a_bad_corpus_ends_the_file_with_failed_and_the_problems(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,intent\n안녕,greet\n비 와?,\n", encoding="utf-8")
    progress = tmp_path / "progress.jsonl"
    progress.write_text('{"stage": "an earlier run"}\n', encoding="utf-8")  # appended to, not replaced
    assert main(["train", "--data", str(bad), "--out", str(tmp_path / "m"), "--progress-file", str(progress)]) == 2
    assert f"{bad}:3:" in capsys.readouterr().err
    earlier, loading, failed = read_lines(progress)
    assert earlier == {"stage": "an earlier run"}
    assert loading["stage"] == "loading corpus" and loading["done"] == 1
    assert failed["stage"] == "failed"
    assert failed["error"] == "the corpus is not valid (1 problem(s))"
    assert failed["problems"] == [f"{bad}:3: empty intent in column 'intent'"]
    assert failed["errors"] == [{"file": str(bad), "line": 3, "message": "empty intent in column 'intent'"}]
    assert not (tmp_path / "m").exists()


def test_an_error_before_any_step_is_a_failed_line(tiny_corpus, tmp_path):
    progress = tmp_path / "progress.jsonl"
    assert main(["train", "--data", str(tiny_corpus("yaml")), "--out", str(tmp_path / "m"),
                 "--config", "no_such_config", "--progress-file", str(progress)]) == 2
    (failed,) = read_lines(progress)
    assert failed["stage"] == "failed" and "no_such_config" in failed["error"]
    assert failed["problems"] == []


def record(config: dict, corpus: Path, out: Path) -> tuple[list[str], list[int]]:
    stages: list[str] = []
    plans: list[int] = []
    train_model([corpus], out, config, progress=stages.append, plan=plans.append)
    return stages, plans


def test_without_refit_the_plan_has_one_fit(tiny_corpus, tmp_path):
    config = load_config("default")
    config["training"] = {**config.get("training", {}), "refit": False}
    stages, plans = record(config, tiny_corpus("yaml"), tmp_path / "m")
    assert plans == [DEFAULT_STEPS + 3 + SEARCH_STEPS] == [len(stages)]
    assert not any(s.startswith("fit: ") for s in stages)


def test_without_a_validation_split_the_plan_and_the_model_have_no_evaluation(tiny_corpus, tmp_path):
    config = load_config("default")
    config["training"] = {**config.get("training", {}), "validation_split": 0}
    out = tmp_path / "m"
    stages, plans = record(config, tiny_corpus("yaml"), out)
    assert plans == [DEFAULT_STEPS + 2 + SEARCH_STEPS] == [len(stages)]
    assert not (out / "evaluation").exists()
    assert json.loads((out / "meta.json").read_text(encoding="utf-8"))["evaluation"] is None


def test_a_split_too_small_to_hold_out_lowers_the_plan_once_it_is_known(tiny_corpus, tmp_path):
    config = load_config("default")
    config["training"] = {**config.get("training", {}), "validation_split": 0.01}  # rounds to 0 rows
    stages, plans = record(config, tiny_corpus("yaml"), tmp_path / "m")
    assert plans == [2 * DEFAULT_STEPS + 3 + SEARCH_STEPS, DEFAULT_STEPS + 2 + SEARCH_STEPS]
    assert len(stages) == plans[-1]


def test_steps_raise_the_total_rather_than_run_past_it():
    seen: list[str] = []
    plans: list[int] = []
    steps = Steps(seen.append, plans.append)
    steps.expect(2)
    steps("a")
    steps("b")
    steps("c")  # one more than planned
    assert (steps.done, steps.total) == (3, 3) and plans == [2, 3] and seen == ["a", "b", "c"]
    steps.expect(1)  # never below what is done
    assert steps.total == 3 and plans == [2, 3]
    Steps(None, None)("no callbacks")  # train_model's callers may pass neither


def test_progress_log_keeps_done_within_total(tmp_path):
    log = ProgressLog(tmp_path / "p.jsonl")
    log.plan(1)
    log.step("one")
    log.step("two")  # the plan was short: total follows done
    log.finished("out", {})
    log.close()
    lines = read_lines(tmp_path / "p.jsonl")
    assert [(line["done"], line["total"]) for line in lines] == [(1, 1), (2, 2), (2, 2)]


@pytest.mark.parametrize(("exc", "expected"), [
    (CorpusError(["a.csv:2: empty text", "a.csv:3: empty intent"]), "the corpus is not valid (2 problem(s))"),
    (ValueError("bad\n  value"), "bad value"),
    (KeyError("x"), "KeyError: 'x'"),
    (KeyboardInterrupt(), "KeyboardInterrupt"),
])
def test_one_line(exc, expected):
    assert one_line(exc) == expected

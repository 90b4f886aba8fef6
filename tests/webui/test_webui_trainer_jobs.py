"""Trainer console jobs: a real training run to done, its report and promotion; one job at a time; failed
and interrupted jobs; the report, comparison and wrong examples read from a model's files; a promotion
asks first. Cancelling a job and deleting a corpus: test_webui_trainer_cancel_delete.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path

import pytest

from tests.conftest import write_tiny_corpus
from tests.webui.conftest import png_bytes
from tests.webui.trainer_support import (
    BUSY,
    FAIL,
    add_users,
    console_config,
    corpus_id_of,
    dead_pid,
    hand_made_job,
    login,
    post_form,
    start,
    text_of,
    upload,
    wait_for,
)
from webui.releases import live_release, model_version

JOB = "20250501-000000-0000aa"
CONFIRMED = {"confirm": "yes"}


@pytest.fixture
def served(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """``models/default``, a link to a release of the tiny model (as after a promotion)."""
    first = tmp_path / "models" / "releases" / "first"
    shutil.copytree(tiny_model_dir, first)
    meta = json.loads((first / "meta.json").read_text(encoding="utf-8"))
    (first / "meta.json").write_text(json.dumps({**meta, "created_at": "2025-01-01T00:00:00+00:00"}))
    os.symlink("releases/first", tmp_path / "models" / "default")
    return tmp_path / "models" / "default"


def serving_app(make_app, tmp_path: Path, served: Path, **extra):
    return add_users(make_app(**console_config(tmp_path, BOT=None, MODEL_DIR=str(served), MODEL_CHECK_SECONDS=0,
                                               **extra)))


def test_a_real_training_job_runs_to_done_shows_its_report_and_is_promoted(make_app, tmp_path, served):
    app = serving_app(make_app, tmp_path, served)
    trainer = login(app, "트레이너")
    corpus = write_tiny_corpus(tmp_path / "upload", "csv", ood=["주식 시세 알려줘", "양자역학 설명해 줘", "환율"])
    corpus_id = corpus_id_of(upload(trainer, "tiny.csv", corpus.read_text(encoding="utf-8")))
    job_id = start(trainer, corpus_id).headers["Location"].rsplit("/", 1)[1]
    page = text_of(trainer.get(f"/trainer/jobs/{job_id}"))
    assert 'id="job-progress"' in page and 'id="job-status"' in page and 'aria-live="polite"' in page
    state = wait_for(trainer, job_id, ("done", "failed", "interrupted"))
    assert state["status"] == "done", state
    assert state["stage"] == "done" and state["fraction"] == 1.0 and state["finished"] and state["error"] is None
    lines = (tmp_path / "trainer" / "jobs" / job_id / "progress.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["stage"] == "done" and len(lines) > 2
    page = text_of(trainer.get(f"/trainer/jobs/{job_id}"))
    assert 'id="eval-accuracy"' in page and 'id="per-intent"' in page and 'id="compare-table"' in page
    assert 'id="confusion-matrix"' in page and 'id="promote-button"' in page
    picture = trainer.get(f"/trainer/jobs/{job_id}/confusion-matrix.png")
    assert picture.status_code == 200 and picture.mimetype == "image/png" and picture.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert app.test_client().get(f"/trainer/jobs/{job_id}/confusion-matrix.png").status_code == 302  # guests log in
    model = tmp_path / "trainer" / "jobs" / job_id / "model"
    promoted = post_form(trainer, f"/trainer/jobs/{job_id}/promote", f"/trainer/jobs/{job_id}", CONFIRMED,
                         follow_redirects=True)
    assert f"새 모델(버전 {model_version(model)})을 서비스에 올렸어요" in text_of(promoted)
    assert trainer.get("/healthz").get_json()["model"]["version"] == model_version(model)
    assert live_release(served).name == model_version(model)


def test_one_job_runs_at_a_time_and_a_killed_one_ends_as_failed(make_app, tmp_path):
    app = add_users(make_app(**console_config(tmp_path, TRAINER_TRAIN_COMMAND=[sys.executable, "-c", BUSY])))
    trainer = login(app, "트레이너")
    corpus = write_tiny_corpus(tmp_path / "upload", "csv").read_text(encoding="utf-8")
    first, second = (corpus_id_of(upload(trainer, name, corpus)) for name in ("a.csv", "b.csv"))
    job_id = start(trainer, first).headers["Location"].rsplit("/", 1)[1]
    record = json.loads((tmp_path / "trainer" / "jobs" / job_id / "job.json").read_text(encoding="utf-8"))
    try:
        state = wait_for(trainer, job_id, ("running", "failed"), timeout=30)
        assert state["status"] == "running" and state["stage"] == "fitting" and state["fraction"] == 0.25
        folder = tmp_path / "trainer" / "jobs" / job_id
        assert record["command"][-4:] == ["--out", str(folder / "model"), "--progress-file",
                                          str(folder / "progress.jsonl")]
        refused = start(trainer, second, status=409)
        assert f"다른 학습 작업({job_id})이 진행 중이에요" in text_of(refused)
        assert "disabled>학습 시작" in text_of(trainer.get(f"/trainer/corpora/{second}"))
        assert "학습 중" in text_of(trainer.get("/trainer"))
    finally:
        os.kill(record["pid"], signal.SIGKILL)  # the process this test's app started
    state = wait_for(trainer, job_id, ("failed", "interrupted", "done"), timeout=30)
    assert state["status"] == "failed" and "코드 -9" in state["error"]
    again = start(trainer, second).headers["Location"].rsplit("/", 1)[1]
    record = json.loads((tmp_path / "trainer" / "jobs" / again / "job.json").read_text(encoding="utf-8"))
    os.kill(record["pid"], signal.SIGKILL)
    assert wait_for(trainer, again, ("failed",), timeout=30)["status"] == "failed"


def test_a_failed_job_shows_its_error_problems_and_log_and_cannot_be_promoted(make_app, tmp_path):
    app = add_users(make_app(**console_config(tmp_path, TRAINER_TRAIN_COMMAND=[sys.executable, "-c", FAIL])))
    trainer = login(app, "트레이너")
    corpus_id = corpus_id_of(upload(trainer, "a.csv", write_tiny_corpus(tmp_path / "u", "csv").read_text("utf-8")))
    job_id = start(trainer, corpus_id).headers["Location"].rsplit("/", 1)[1]
    state = wait_for(trainer, job_id, ("failed", "done", "interrupted"), timeout=30)
    assert state["status"] == "failed" and state["error"] == "코퍼스에 문제가 있어요"
    assert state["problems"] == ["a.csv:3: empty text"] and "학습 실패" in state["log_tail"]
    page = text_of(trainer.get(f"/trainer/jobs/{job_id}"))
    assert "코퍼스에 문제가 있어요" in page and "a.csv:3: empty text" in page and 'id="promote-button"' not in page
    refused = post_form(trainer, f"/trainer/jobs/{job_id}/promote", "/trainer", follow_redirects=True)
    assert "학습이 끝난 작업의 모델만 승격할 수 있어요" in text_of(refused)


def test_a_command_that_cannot_start_is_a_failed_job_saying_so(make_app, tmp_path):
    app = add_users(make_app(**console_config(tmp_path, TRAINER_TRAIN_COMMAND=[str(tmp_path / "no-such-python")])))
    trainer = login(app, "트레이너")
    corpus_id = corpus_id_of(upload(trainer, "a.csv", write_tiny_corpus(tmp_path / "u", "csv").read_text("utf-8")))
    job_id = start(trainer, corpus_id).headers["Location"].rsplit("/", 1)[1]
    state = trainer.get(f"/trainer/api/jobs/{job_id}").get_json()
    assert state["status"] == "failed" and state["error"].startswith("학습을 시작하지 못했어요")


def test_job_state_comes_from_its_files_alone(make_app, tmp_path, tiny_model_dir):
    app = add_users(make_app(**console_config(tmp_path)))
    trainer = login(app, "트레이너")
    root = tmp_path / "trainer"
    hand_made_job(root, "20250501-000000-00000a", returncode=None, pid=dead_pid(),
                  progress=[{"stage": "fitting", "done": 2, "total": 5}])
    # Finished while no server watched it (a restart): the final progress line tells.
    hand_made_job(root, "20250501-000000-00000b", returncode=None, pid=dead_pid(), model=tiny_model_dir,
                  progress=[{"stage": "fitting", "done": 4, "total": 5}, {"stage": "done", "done": 5, "total": 5}])
    hand_made_job(root, "20250501-000000-00000c", returncode=None, pid=None)  # never started, long ago
    hand_made_job(root, "20250501-000000-00000d", returncode=0, progress=[{"stage": "done", "done": 5, "total": 5}])
    states = {j: trainer.get(f"/trainer/api/jobs/20250501-000000-00000{j}").get_json() for j in "abcd"}
    assert states["a"]["status"] == "interrupted" and states["a"]["fraction"] == 0.4 and "중단" in states["a"]["error"]
    assert states["b"]["status"] == "done" and states["b"]["fraction"] == 1.0
    assert states["c"]["status"] == "interrupted"
    assert states["d"]["status"] == "failed" and "모델 폴더" in states["d"]["error"]  # exit 0 without a model
    listing = text_of(trainer.get("/trainer"))
    assert listing.count("중단됨") == 2 and "완료" in listing and "실패" in listing


EVALUATION = {
    "report.json": json.dumps({"rows": 5, "split": "validation", "intent": {
        "accuracy": 0.75, "macro_f1": 0.6667, "per_class": {
            "greet": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2},
            "food": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}}},
        "fallback": {"fallback_rate": 0.4, "ood_recall": 0.5}}),
    "predictions.jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [
        {"text": "안녕", "gold_intent": "greet", "pred_intent": "greet", "confidence": 0.9, "fallback": False},
        {"text": "배고파", "gold_intent": "food", "pred_intent": "greet", "confidence": 0.6, "fallback": False,
         "reply": "안녕하세요!"},
        {"text": "김치찌개", "gold_intent": "food", "pred_intent": "food", "confidence": 0.2, "fallback": True},
        {"text": "주식 시세", "gold_intent": "OOD", "pred_intent": "food", "confidence": 0.7, "fallback": False},
        {"text": "양자역학", "gold_intent": "OOD", "pred_intent": None, "confidence": 0.1, "fallback": True},
    ]) + "{not json\n",
    "confusion_matrix.png": png_bytes((30, 30), "green"),
}


def test_the_report_comparison_and_wrong_examples_come_from_the_model_files_and_promotion_swaps_the_model(
        make_app, tmp_path, served, tiny_model_dir):
    app = serving_app(make_app, tmp_path, served)
    path = hand_made_job(tmp_path / "trainer", JOB, model=tiny_model_dir, evaluation=EVALUATION,
                         progress=[{"stage": "done", "done": 3, "total": 3}])
    trainer = login(app, "트레이너")
    page = text_of(trainer.get(f"/trainer/jobs/{JOB}"))
    assert '<dd id="eval-accuracy">0.7500</dd>' in page and '<dd id="eval-macro-f1">0.6667</dd>' in page
    assert "<td>food</td><td>0.5000</td><td>0.5000</td><td>0.5000</td><td>2</td>" in page
    wrong = page[page.index('id="wrong-examples"'):page.index("</table>", page.index('id="wrong-examples"'))]
    assert "배고파" in wrong and "김치찌개" in wrong and "주식 시세" in wrong  # wrong intent, fallback, OOD answered
    assert "<td>안녕</td>" not in wrong and "양자역학" not in wrong
    compare = page[page.index('id="compare-table"'):page.index("</table>", page.index('id="compare-table"'))]
    assert model_version(served) in compare and model_version(path / "model") in compare
    live_meta = json.loads((served / "meta.json").read_text(encoding="utf-8"))
    live_f1 = live_meta["validation"]["intent"]["per_class"]["food"]["f1"]
    assert f'trainer-{"down" if live_f1 > 0.5 else "up"}' in page or live_f1 == 0.5
    assert 'id="compare-intents"' in page and "<th scope=\"row\">weather</th>" in page  # only the live model has it
    picture = trainer.get(f"/trainer/jobs/{JOB}/confusion-matrix.png")
    assert picture.status_code == 200 and picture.data == EVALUATION["confusion_matrix.png"]
    assert login(app, "사용자").get(f"/trainer/jobs/{JOB}/confusion-matrix.png").status_code == 403
    promoted = post_form(trainer, f"/trainer/jobs/{JOB}/promote", f"/trainer/jobs/{JOB}", CONFIRMED)
    assert promoted.status_code == 303
    new = model_version(path / "model")
    assert f"새 모델(버전 {new})" in text_of(trainer.get(promoted.headers["Location"]))
    assert trainer.get("/healthz").get_json()["model"]["version"] == new and live_release(served).name == new


def test_promotion_is_refused_on_a_server_without_a_model_path(make_app, tmp_path, tiny_model_dir):
    app = add_users(make_app(**console_config(tmp_path)))  # serves a bot given in its config
    hand_made_job(tmp_path / "trainer", JOB, model=tiny_model_dir, progress=[{"stage": "done", "done": 1, "total": 1}])
    trainer = login(app, "트레이너")
    page = text_of(trainer.get(f"/trainer/jobs/{JOB}"))
    assert 'id="promote-button" class="send-button" disabled' in page and 'id="live-missing"' in page
    assert "이 모델에는 평가 보고서가 없어요" in page and 'id="eval-accuracy"' in page  # meta.json's validation figures
    refused = post_form(trainer, f"/trainer/jobs/{JOB}/promote", f"/trainer/jobs/{JOB}", follow_redirects=True)
    assert "모델 경로 없이 실행 중이라 모델을 교체할 수 없습니다" in text_of(refused)


def test_a_promotion_asks_first_and_promotes_only_once_confirmed(make_app, tmp_path, served, tiny_model_dir):
    app = serving_app(make_app, tmp_path, served)
    path = hand_made_job(tmp_path / "trainer", JOB, model=tiny_model_dir, evaluation=EVALUATION,
                         progress=[{"stage": "done", "done": 3, "total": 3}])
    trainer = login(app, "트레이너")
    live, new, release = model_version(served), model_version(path / "model"), live_release(served).name
    page = text_of(trainer.get(f"/trainer/jobs/{JOB}"))
    assert 'data-confirm="promote-dialog"' in page and '<dialog id="promote-dialog"' in page
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # the dialog's table and buttons have ids of their own
    dialog = page[page.index('<dialog id="promote-dialog"'):page.index("</dialog>")]
    assert live in dialog and new in dialog and "평가 보고서 정확도" in dialog and "0.7500" in dialog
    for answer in ({}, {"confirm": ""}, {"confirm": "no"}):  # no JavaScript, or a dialog that was not confirmed
        asked = post_form(trainer, f"/trainer/jobs/{JOB}/promote", f"/trainer/jobs/{JOB}", answer)
        assert asked.status_code == 200 and 'id="confirm-button"' in text_of(asked), answer
        assert live_release(served).name == release and trainer.get("/healthz").get_json()["model"]["version"] == live
    confirmation = text_of(asked)
    assert "서비스 모델을 바꿀까요?" in confirmation and live in confirmation and new in confirmation
    assert 'name="confirm" type="hidden" value="yes"' in confirmation and "0.7500" in confirmation
    assert f'href="/trainer/jobs/{JOB}"' in confirmation  # the way back without promoting
    promoted = post_form(trainer, f"/trainer/jobs/{JOB}/promote", f"/trainer/jobs/{JOB}", CONFIRMED)
    assert promoted.status_code == 303 and live_release(served).name == new
    assert trainer.get("/healthz").get_json()["model"]["version"] == new

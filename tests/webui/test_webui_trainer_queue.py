"""Training jobs on the RQ queue (``TRAINER_QUEUE_URL``), with the real Redis and real
``python -m chatbot worker`` processes: a job waits in the queue, a worker trains it to done with its
progress in the job's meta, a second web app sees the progress and cancels it, a worker killed mid-job
leaves the job interrupted (RQ: failed), a time limit and a failing training are listed with their
errors. Without the setting the subprocess backend runs the job (its own tests:
test_webui_trainer_jobs.py, test_webui_trainer_cancel_delete.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue
from rq.job import JobStatus

from tests.conftest import write_tiny_corpus
from tests.webui import trainer_support as support
from tests.webui.queue_support import ROOT, TrainingQueue, apps, rq_job, training_queue, wait_until
from tests.webui.trainer_support import add_users, job_id_of, login, post_form, start, text_of, upload, wait_for
from webui.trainer.rq_backend import WORKER_LOST_MESSAGE


@pytest.fixture
def queue() -> Iterator[TrainingQueue]:
    yield from training_queue()


def corpus(client, tmp_path: Path) -> str:
    corpus = write_tiny_corpus(tmp_path / "upload", "csv", ood=["주식 시세 알려줘", "양자역학 설명해 줘", "환율"])
    return support.corpus_id_of(upload(client, "tiny.csv", corpus.read_text(encoding="utf-8")))


def cancel(client, job_id: str):
    return post_form(client, f"/trainer/jobs/{job_id}/cancel", "/trainer")


def record(tmp_path: Path, job_id: str) -> dict:
    return json.loads((tmp_path / "trainer" / "jobs" / job_id / "job.json").read_text(encoding="utf-8"))


def stand_in(script: str) -> list[str]:
    return [sys.executable, "-c", script]


def test_a_job_waits_in_the_queue_then_a_worker_trains_it_to_done(make_app, tmp_path, queue):
    (app,) = apps(make_app, queue.config(tmp_path), count=1)
    trainer = login(app, "트레이너")
    corpus_id = corpus(trainer, tmp_path)
    job_id = queue.remember(job_id_of(start(trainer, corpus_id)))
    assert record(tmp_path, job_id)["backend"] == "queue"
    assert rq_job(queue, job_id).get_status() == JobStatus.QUEUED and job_id in queue_ids(queue)
    assert trainer.get(f"/trainer/api/jobs/{job_id}").get_json()["status"] == "queued"  # no worker yet
    page = text_of(trainer.get(f"/trainer/corpora/{corpus_id}"))
    assert 'id="active-job"' not in page  # jobs wait for a worker: another one may be queued

    second = queue.remember(job_id_of(start(trainer, corpus_id)))  # queued behind the first, then cancelled
    assert cancel(trainer, second).status_code == 303
    assert trainer.get(f"/trainer/api/jobs/{second}").get_json()["status"] == "cancelled"
    assert rq_job(queue, second).get_status() == JobStatus.CANCELED and second not in queue_ids(queue)

    queue.start_worker(tmp_path / "worker.log", "--burst")
    state = wait_for(trainer, job_id, ("done", "failed", "interrupted"), timeout=180)
    assert state["status"] == "done", (state, worker_log(tmp_path))
    assert state["fraction"] == 1.0 and state["stage"] == "done" and state["error"] is None and state["finished"]
    job = rq_job(queue, job_id)
    assert job.get_status() == JobStatus.FINISHED and job.meta["progress"]["stage"] == "done"
    folder = tmp_path / "trainer" / "jobs" / job_id
    assert (folder / "model" / "meta.json").exists()
    assert json.loads((folder / "exit.json").read_text(encoding="utf-8"))["returncode"] == 0
    assert 'id="promote-button"' in text_of(trainer.get(f"/trainer/jobs/{job_id}"))


def test_another_web_app_sees_the_progress_and_cancels_the_running_job(make_app, tmp_path, queue):
    first, second = apps(make_app, queue.config(tmp_path, TRAINER_TRAIN_COMMAND=stand_in(support.WITH_CHILD)))
    here, there = login(first, "트레이너"), login(second, "관리자")
    job_id = queue.remember(job_id_of(start(here, corpus(here, tmp_path))))
    queue.start_worker(tmp_path / "worker.log")
    state = wait_for(there, job_id, ("running", "failed", "interrupted"), timeout=60)
    assert state["status"] == "running", (state, worker_log(tmp_path))
    state = wait_until(lambda: progressed(there, job_id), 30, "the progress line in the other app")
    assert (state["stage"], state["done"], state["total"], state["fraction"]) == ("fitting", 1, 4, 0.25)
    assert rq_job(queue, job_id).meta["progress"]["stage"] == "fitting"  # the bar reads the job's meta
    child = int(wait_until(lambda: read(tmp_path / "trainer" / "jobs" / job_id / "child.pid"), 10, "child.pid"))

    response = cancel(there, job_id)  # the machine that did not start it
    assert response.status_code == 303 and response.headers["Location"] == f"/trainer/jobs/{job_id}"
    state = here.get(f"/trainer/api/jobs/{job_id}").get_json()
    assert state["status"] == "cancelled" and state["cancelled_by"] == "관리자" and state["finished"]
    assert rq_job(queue, job_id).get_status() == JobStatus.STOPPED  # RQ's stop command ended it
    wait_until(lambda: not support.running(child), 10, "the training's child process to end")
    refused = cancel(here, job_id)
    assert refused.status_code == 409 and "이미 끝난 작업이라 취소할 수 없어요" in text_of(refused)
    listing = text_of(here.get("/trainer"))
    assert "trainer-status-cancelled" in listing and "(관리자, " in listing


def test_a_worker_killed_mid_job_leaves_the_job_interrupted_not_running(make_app, tmp_path, queue):
    first, second = apps(make_app, queue.config(tmp_path, TRAINER_TRAIN_COMMAND=stand_in(support.WITH_CHILD)))
    trainer = login(first, "트레이너")
    job_id = queue.remember(job_id_of(start(trainer, corpus(trainer, tmp_path))))
    worker = queue.start_worker(tmp_path / "worker.log")
    assert wait_for(trainer, job_id, ("running", "failed"), timeout=60)["status"] == "running", worker_log(tmp_path)
    child = int(wait_until(lambda: read(tmp_path / "trainer" / "jobs" / job_id / "child.pid"), 10, "child.pid"))

    worker.send_signal(signal.SIGKILL)
    worker.wait()
    other = login(second, "트레이너")
    state = wait_for(other, job_id, ("interrupted", "failed", "done", "cancelled"), timeout=40)
    assert state["status"] == "interrupted" and state["error"] == WORKER_LOST_MESSAGE, state
    job = rq_job(queue, job_id)
    assert job.get_status() == JobStatus.FAILED and "AbandonedJobError" in job.latest_result().exc_string
    wait_until(lambda: not support.running(child), 10, "the orphaned training to be stopped")
    assert WORKER_LOST_MESSAGE in text_of(other.get("/trainer"))  # listed with its error
    refused = cancel(other, job_id)
    assert refused.status_code == 409


def test_a_failing_training_and_the_time_limit_are_listed_with_their_errors(make_app, tmp_path, queue):
    config = queue.config(tmp_path, TRAINER_JOB_TIMEOUT=2)
    failing = add_users(make_app(**{**config, "TRAINER_TRAIN_COMMAND": stand_in(support.FAIL)}))
    slow = make_app(**{**config, "TRAINER_TRAIN_COMMAND": stand_in(support.BUSY)})  # users: shared database
    first, second = login(failing, "트레이너"), login(slow, "트레이너")
    corpus_id = corpus(first, tmp_path)
    failed = queue.remember(job_id_of(start(first, corpus_id)))
    timed_out = queue.remember(job_id_of(start(second, corpus_id)))
    queue.start_worker(tmp_path / "worker.log", "--burst")

    state = wait_for(first, failed, ("done", "failed", "interrupted"), timeout=60)
    assert state["status"] == "failed" and state["error"] == "코퍼스에 문제가 있어요", (state, worker_log(tmp_path))
    assert state["problems"] == ["a.csv:3: empty text"] and "학습 실패" in state["log_tail"]
    state = wait_for(first, timed_out, ("done", "failed", "interrupted"), timeout=60)
    assert state["status"] == "failed" and "제한 시간(2초)" in state["error"], (state, worker_log(tmp_path))
    assert rq_job(queue, timed_out).get_status() == JobStatus.FAILED
    listing = text_of(first.get("/trainer"))
    assert "코퍼스에 문제가 있어요" in listing and "제한 시간(2초)" in listing and "job-list-error" in listing


@pytest.mark.parametrize("url", ["closed port", "localhost:6379"])
def test_an_unreachable_queue_fails_the_job_and_answers_503_json_never_500(make_app, tmp_path, url):
    url = f"redis://127.0.0.1:{closed_port()}/0" if url == "closed port" else url
    app = add_users(make_app(**support.console_config(tmp_path, TRAINER_QUEUE_URL=url)))
    trainer = login(app, "트레이너")
    response = start(trainer, corpus(trainer, tmp_path))
    job_id = job_id_of(response)
    exit_record = json.loads((tmp_path / "trainer" / "jobs" / job_id / "exit.json").read_text(encoding="utf-8"))
    assert "학습 작업을 대기열에 넣지 못했어요" in exit_record["error"]
    api = trainer.get(f"/trainer/api/jobs/{job_id}")
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "queue_unavailable"
    page = trainer.get(f"/trainer/jobs/{job_id}")
    assert page.status_code == 503 and "대기열(Redis)에 연결할 수 없어요" in text_of(page)


def test_queued_jobs_read_from_their_folders_once_the_queue_is_switched_off(make_app, tmp_path, tiny_model_dir):
    app = add_users(make_app(**support.console_config(tmp_path)))
    root = tmp_path / "trainer"
    done = support.hand_made_job(root, "20250501-000000-0000aa", model=tiny_model_dir,
                                 progress=[{"stage": "done", "done": 1, "total": 1}])
    lost = support.hand_made_job(root, "20250501-000000-0000bb", returncode=None)
    for path in (done, lost):
        saved = json.loads((path / "job.json").read_text(encoding="utf-8"))
        (path / "job.json").write_text(json.dumps({**saved, "backend": "queue"}), encoding="utf-8")
    trainer = login(app, "트레이너")
    assert trainer.get(f"/trainer/api/jobs/{done.name}").get_json()["status"] == "done"
    state = trainer.get(f"/trainer/api/jobs/{lost.name}").get_json()
    assert state["status"] == "interrupted" and "대기열에서 이 작업을 찾을 수 없어요" in state["error"]
    assert cancel(trainer, lost.name).status_code == 409


def test_without_a_queue_url_jobs_stay_subprocesses_of_the_web_machine(make_app, tmp_path):
    app = add_users(make_app(**support.console_config(tmp_path, TRAINER_TRAIN_COMMAND=stand_in(support.BUSY))))
    trainer = login(app, "트레이너")
    corpus_id = corpus(trainer, tmp_path)
    job_id = job_id_of(start(trainer, corpus_id))
    saved = record(tmp_path, job_id)
    assert saved["backend"] == "file" and isinstance(saved["pid"], int)
    assert 'id="active-job"' in text_of(trainer.get(f"/trainer/corpora/{corpus_id}"))  # one at a time
    start(trainer, corpus_id, status=409)
    assert cancel(trainer, job_id).status_code == 303


def test_the_worker_command_says_what_is_missing():
    missing = subprocess.run([sys.executable, "-m", "chatbot", "worker"], cwd=ROOT, capture_output=True, text=True,
                             env=clean_env())
    assert missing.returncode == 2 and "CHATBOT_TRAINER_QUEUE_URL" in missing.stderr
    unreachable = subprocess.run([sys.executable, "-m", "chatbot", "worker", "--url",
                                  f"redis://127.0.0.1:{closed_port()}/0"], cwd=ROOT, capture_output=True, text=True,
                                 env=clean_env())
    assert unreachable.returncode == 1 and "cannot reach the queue's Redis" in unreachable.stderr


def queue_ids(queue) -> list[str]:
    return Queue(queue.name, connection=queue.client).job_ids


def progressed(client, job_id: str) -> dict | None:
    state = client.get(f"/trainer/api/jobs/{job_id}").get_json()
    return state if state["total"] else None


def read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8") or None
    except OSError:
        return None


def worker_log(tmp_path: Path) -> str:
    return read(tmp_path / "worker.log") or ""


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATBOT_TRAINER_QUEUE")}
    return {**env, "PYTHONPATH": str(ROOT)}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

"""Trainer console: cancelling a running job (its process group, from any worker, never a pid that is no
longer the job's) and deleting an uploaded corpus (asked first, refused while a job trains on it, the
jobs that used it still shown)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import write_tiny_corpus
from tests.webui.trainer_support import (
    BUSY,
    STUBBORN,
    WITH_CHILD,
    add_users,
    console_config,
    corpus_id_of,
    hand_made_job,
    job_id_of,
    login,
    post_form,
    running,
    start,
    text_of,
    upload,
    wait_for,
)
from webui.trainer import file_backend, jobs, pages
from webui.trainer.processes import process_start

JOB = "20250501-000000-0000cc"


def console(make_app, tmp_path: Path, command: str = BUSY, **extra):
    return add_users(make_app(**console_config(tmp_path, TRAINER_TRAIN_COMMAND=[sys.executable, "-c", command],
                                               **extra)))


def corpus(client, tmp_path: Path, name: str = "a.csv") -> str:
    return corpus_id_of(upload(client, name, write_tiny_corpus(tmp_path / "u", "csv").read_text("utf-8")))


def cancel(client, job_id: str):
    return post_form(client, f"/trainer/jobs/{job_id}/cancel", "/trainer")  # an ended job's page has no form


def unique_ids(page: str) -> str:
    """The page, once its element ids are checked to be unique (it has more than one form now)."""
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    return page


def child_pid(tmp_path: Path, job_id: str) -> int:
    return int((tmp_path / "trainer" / "jobs" / job_id / "child.pid").read_text())


@pytest.fixture
def sleeper():
    """A process that is not the job's (it may have been given the job's old pid), started in a session of its
    own like a job; killed at the end."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    yield process
    process.kill()
    process.wait()


def test_a_running_job_and_its_child_are_cancelled_and_a_new_job_starts_right_after(make_app, tmp_path):
    app = console(make_app, tmp_path, WITH_CHILD)
    trainer = login(app, "트레이너")
    corpus_id = corpus(trainer, tmp_path)
    job_id = job_id_of(start(trainer, corpus_id))
    assert wait_for(trainer, job_id, ("running", "failed"), timeout=30)["status"] == "running"
    page = unique_ids(text_of(trainer.get(f"/trainer/jobs/{job_id}")))
    assert 'id="cancel-button"' in page and "학습 취소" in page and f'action="/trainer/jobs/{job_id}/cancel"' in page
    child = child_pid(tmp_path, job_id)
    assert running(child)

    refused = post_form(login(app, "사용자"), f"/trainer/jobs/{job_id}/cancel", "/")
    assert refused.status_code == 403 and trainer.get(f"/trainer/api/jobs/{job_id}").get_json()["status"] == "running"
    assert trainer.post(f"/trainer/jobs/{job_id}/cancel").status_code == 400  # no CSRF token

    response = cancel(trainer, job_id)
    assert response.status_code == 303 and response.headers["Location"] == f"/trainer/jobs/{job_id}"
    state = trainer.get(f"/trainer/api/jobs/{job_id}").get_json()
    assert state["status"] == "cancelled" and state["cancelled_by"] == "트레이너" and state["cancelled_at"]
    assert state["finished"] and state["error"] is None and state["fraction"] == 0.25  # the bar stays where it was
    exit_record = json.loads((tmp_path / "trainer" / "jobs" / job_id / "exit.json").read_text(encoding="utf-8"))
    assert exit_record["returncode"] == -signal.SIGTERM
    assert not running(child)  # the whole process group was stopped
    page = text_of(trainer.get(f"/trainer/jobs/{job_id}"))
    assert "학습을 취소했어요" in page and "취소됨" in page and 'id="cancel-button"' not in page
    assert f"트레이너님이 {state['cancelled_at']}(UTC)에 학습을 취소했어요" in page
    assert 'id="promote-button"' not in page
    listing = text_of(trainer.get("/trainer"))
    assert "trainer-status-cancelled" in listing and f"(트레이너, {state['cancelled_at']})" in listing

    again = job_id_of(start(trainer, corpus_id))  # at once: the cancelled job no longer holds the one slot
    assert cancel(trainer, again).status_code == 303
    assert trainer.get(f"/trainer/api/jobs/{again}").get_json()["status"] == "cancelled"


def test_a_job_that_ignores_sigterm_is_killed_after_the_grace_period(make_app, tmp_path):
    app = console(make_app, tmp_path, STUBBORN, TRAINER_CANCEL_GRACE_SECONDS=0.5)
    trainer = login(app, "트레이너")
    job_id = job_id_of(start(trainer, corpus(trainer, tmp_path)))
    assert wait_for(trainer, job_id, ("running", "failed"), timeout=30)["status"] == "running"
    child = child_pid(tmp_path, job_id)
    started = time.monotonic()
    assert cancel(trainer, job_id).status_code == 303
    assert time.monotonic() - started >= 0.5  # SIGTERM did nothing; SIGKILL after the grace period
    assert trainer.get(f"/trainer/api/jobs/{job_id}").get_json()["status"] == "cancelled"
    exit_record = json.loads((tmp_path / "trainer" / "jobs" / job_id / "exit.json").read_text(encoding="utf-8"))
    assert exit_record["returncode"] == -signal.SIGKILL and not running(child)


def test_cancelling_a_job_that_has_ended_is_a_409_on_its_page(make_app, tmp_path, tiny_model_dir):
    app = console(make_app, tmp_path)
    root = tmp_path / "trainer"
    hand_made_job(root, JOB, model=tiny_model_dir, progress=[{"stage": "done", "done": 1, "total": 1}])
    hand_made_job(root, "20250501-000000-0000cd", returncode=1)
    trainer = login(app, "트레이너")
    for job_id, status in ((JOB, "done"), ("20250501-000000-0000cd", "failed")):
        response = cancel(trainer, job_id)
        assert response.status_code == 409 and "이미 끝난 작업이라 취소할 수 없어요" in text_of(response)
        assert 'id="job-action-error"' in text_of(response)
        assert trainer.get(f"/trainer/api/jobs/{job_id}").get_json()["status"] == status
        assert not (root / "jobs" / job_id / "cancel.json").exists()
    assert cancel(trainer, "20250501-000000-ffffff").status_code == 404


def test_a_job_started_by_another_worker_is_cancelled_through_its_files(make_app, tmp_path):
    app = console(make_app, tmp_path)
    trainer = login(app, "트레이너")
    # Another gunicorn worker started it: this process has no Popen of it, only job.json's pid and start time.
    path = hand_made_job(tmp_path / "trainer", JOB, returncode=None)
    process = subprocess.Popen([sys.executable, "-c", BUSY, "--progress-file", str(path / "progress.jsonl")],
                               start_new_session=True)
    record = json.loads((path / "job.json").read_text(encoding="utf-8"))
    (path / "job.json").write_text(json.dumps({**record, "pid": process.pid, "pid_start": process_start(process.pid)}))
    threading.Thread(target=file_backend._watch, args=(process, path), daemon=True).start()  # that worker's watcher
    try:
        assert wait_for(trainer, JOB, ("running",), timeout=30)["status"] == "running"
        assert cancel(trainer, JOB).status_code == 303
        assert trainer.get(f"/trainer/api/jobs/{JOB}").get_json()["status"] == "cancelled"
        assert process.wait(timeout=10) == -signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize("start_time", ["another", "unknown"])
def test_a_pid_that_is_not_provably_the_job_s_is_never_signalled(make_app, tmp_path, sleeper, start_time):
    app = console(make_app, tmp_path)
    path = hand_made_job(tmp_path / "trainer", JOB, returncode=None, pid=sleeper.pid,
                         progress=[{"stage": "fitting", "done": 1, "total": 4}])
    record = json.loads((path / "job.json").read_text(encoding="utf-8"))
    if start_time == "another":  # the pid was given to a later process: the job reads as interrupted
        record["pid_start"] = process_start(sleeper.pid) - 1
    (path / "job.json").write_text(json.dumps(record))  # "unknown": no start time, so it reads as running
    trainer = login(app, "트레이너")
    status = trainer.get(f"/trainer/api/jobs/{JOB}").get_json()["status"]
    assert status == ("interrupted" if start_time == "another" else "running")
    response = cancel(trainer, JOB)
    assert response.status_code == 409
    message = "이미 끝난 작업" if start_time == "another" else "확인할 수 없어서 멈추지 않았어요"
    assert message in text_of(response)
    time.sleep(0.2)
    assert sleeper.poll() is None and running(sleeper.pid)
    assert not (path / "cancel.json").exists()


def test_a_cancel_before_the_process_has_a_pid_stops_it_as_soon_as_it_starts(make_app, tmp_path, monkeypatch):
    app = console(make_app, tmp_path)
    trainer = login(app, "트레이너")
    corpus_id = corpus(trainer, tmp_path)
    popen = subprocess.Popen

    def cancelled_first(command, **kwargs):  # another worker cancels while this one is starting the process
        with app.app_context():
            state = jobs.cancel_job(Path(kwargs["cwd"]), "관리자")
        assert state["status"] == "cancelled"
        return popen(command, **kwargs)

    monkeypatch.setattr(file_backend.subprocess, "Popen", cancelled_first)
    job_id = job_id_of(start(trainer, corpus_id))
    monkeypatch.undo()
    exit_file = tmp_path / "trainer" / "jobs" / job_id / "exit.json"
    deadline = time.monotonic() + 10
    while not exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(exit_file.read_text(encoding="utf-8"))["returncode"] == -signal.SIGTERM
    state = trainer.get(f"/trainer/api/jobs/{job_id}").get_json()
    assert state["status"] == "cancelled" and state["cancelled_by"] == "관리자"


def test_a_corpus_is_deleted_only_once_confirmed_and_the_jobs_that_used_it_still_show(make_app, tmp_path,
                                                                                      tiny_model_dir):
    app = console(make_app, tmp_path)
    trainer = login(app, "트레이너")
    corpus_id = corpus(trainer, tmp_path, "지울 코퍼스.csv")
    folder = tmp_path / "trainer" / "corpora" / corpus_id
    path = hand_made_job(tmp_path / "trainer", JOB, model=tiny_model_dir,
                         progress=[{"stage": "done", "done": 1, "total": 1}])
    record = json.loads((path / "job.json").read_text(encoding="utf-8"))
    (path / "job.json").write_text(json.dumps({**record, "corpora": [{"id": corpus_id, "name": "지울 코퍼스.csv"}],
                                               "data": [str(next(folder.glob("*.csv")))]}, ensure_ascii=False))
    assert f'href="/trainer/corpora/{corpus_id}"' in text_of(trainer.get(f"/trainer/jobs/{JOB}"))
    page = unique_ids(text_of(trainer.get(f"/trainer/corpora/{corpus_id}")))
    assert 'id="delete-button"' in page and 'data-confirm="delete-dialog"' in page
    assert '<dialog id="delete-dialog"' in page

    for answer in ({}, {"confirm": "no"}):  # no JavaScript, or not confirmed: the confirmation page
        asked = post_form(trainer, f"/trainer/corpora/{corpus_id}/delete", f"/trainer/corpora/{corpus_id}", answer)
        assert asked.status_code == 200 and "코퍼스를 지울까요?" in text_of(asked) and folder.is_dir()
    assert "지울 코퍼스.csv" in text_of(asked) and 'name="confirm" type="hidden" value="yes"' in text_of(asked)
    refused = post_form(login(app, "사용자"), f"/trainer/corpora/{corpus_id}/delete", "/", {"confirm": "yes"})
    assert refused.status_code == 403 and folder.is_dir()

    deleted = post_form(trainer, f"/trainer/corpora/{corpus_id}/delete", f"/trainer/corpora/{corpus_id}",
                        {"confirm": "yes"})
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/trainer"
    assert not folder.exists() and not list(folder.parent.iterdir())  # no trash left behind
    listing = text_of(trainer.get("/trainer"))
    assert "코퍼스 &#39;지울 코퍼스.csv&#39;을(를) 지웠어요" in listing
    assert f"/trainer/corpora/{corpus_id}" not in listing
    assert trainer.get(f"/trainer/corpora/{corpus_id}").status_code == 404
    job_page = trainer.get(f"/trainer/jobs/{JOB}")
    assert job_page.status_code == 200
    job_text = unique_ids(text_of(job_page))
    assert "지울 코퍼스.csv" in job_text and "삭제됨" in job_text
    assert f'href="/trainer/corpora/{corpus_id}"' not in job_text
    assert 'id="eval-accuracy"' in job_text and 'id="compare-table"' in job_text  # its model and report are its own
    assert trainer.get(f"/trainer/api/jobs/{JOB}").get_json()["status"] == "done"
    again = post_form(trainer, f"/trainer/corpora/{corpus_id}/delete", "/trainer", {"confirm": "yes"})
    assert again.status_code == 404


def test_a_corpus_cannot_be_deleted_while_a_job_trains_on_it(make_app, tmp_path):
    app = console(make_app, tmp_path)
    trainer = login(app, "트레이너")
    used, other = corpus(trainer, tmp_path, "a.csv"), corpus(trainer, tmp_path, "b.csv")
    job_id = job_id_of(start(trainer, used))
    try:
        assert wait_for(trainer, job_id, ("running", "failed"), timeout=30)["status"] == "running"
        page = text_of(trainer.get(f"/trainer/corpora/{used}"))
        assert 'id="delete-in-use"' in page and 'id="delete-button" class="ghost-button" disabled' in page
        for answer in ({"confirm": "yes"}, {}):
            refused = post_form(trainer, f"/trainer/corpora/{used}/delete", f"/trainer/corpora/{used}", answer)
            assert refused.status_code == 409
            assert f"진행 중인 학습 작업({job_id})이 이 코퍼스로 학습하고 있어서" in text_of(refused)
            assert (tmp_path / "trainer" / "corpora" / used).is_dir()
        deleted = post_form(trainer, f"/trainer/corpora/{other}/delete", f"/trainer/corpora/{other}",
                            {"confirm": "yes"})
        assert deleted.status_code == 303  # a corpus the job does not use goes
    finally:
        assert cancel(trainer, job_id).status_code == 303
    deleted = post_form(trainer, f"/trainer/corpora/{used}/delete", f"/trainer/corpora/{used}", {"confirm": "yes"})
    assert deleted.status_code == 303 and not (tmp_path / "trainer" / "corpora" / used).exists()
    assert text_of(trainer.get(f"/trainer/jobs/{job_id}")).count("삭제됨") == 1


def test_a_corpus_deleted_while_its_training_is_being_started_starts_no_job(make_app, tmp_path, monkeypatch):
    app = console(make_app, tmp_path)
    trainer = login(app, "트레이너")
    corpus_id = corpus(trainer, tmp_path)

    found = pages.get_corpus

    def deleted_meanwhile(corpus_id: str):  # another request deletes it right after this one found it
        result = found(corpus_id)
        pages.delete_corpus(corpus_id, "관리자")
        return result

    monkeypatch.setattr(pages, "get_corpus", deleted_meanwhile)
    response = post_form(trainer, f"/trainer/corpora/{corpus_id}/train", "/trainer")
    assert response.status_code == 404 and "찾는 항목이 없어요" in text_of(response)
    assert not list((tmp_path / "trainer" / "jobs").glob("2*"))

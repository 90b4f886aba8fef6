"""Helpers for the trainer console tests: accounts, CSRF form posts, uploads, stand-ins for the training
command, and job folders built by hand following the training command's file contract (job.json,
progress.jsonl, exit.json, model/)."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from webui.auth import create_user
from webui.extensions import db

PASSWORD = "비밀번호1234"
USERS = {"트레이너": "trainer", "관리자": "admin", "사용자": "user"}

# Stand-ins for the training command (TRAINER_TRAIN_COMMAND), speaking its progress-file contract.
PROGRESS = ("import json,sys,time; p=sys.argv[sys.argv.index('--progress-file')+1]; "
            "say=lambda d: open(p,'a').write(json.dumps(d)+'\\n'); ")
BUSY = PROGRESS + "say({'time':'t','stage':'fitting','done':1,'total':4}); time.sleep(60)"
FAIL = PROGRESS + ("say({'stage':'failed','error':'코퍼스에 문제가 있어요','problems':['a.csv:3: empty text']}); "
                   "print('학습 실패'); sys.exit(1)")
# BUSY with a child process of its own (as data loaders are), whose pid goes to child.pid in the job folder.
WITH_CHILD = PROGRESS + ("import subprocess; c=subprocess.Popen([sys.executable,'-c','import time; time.sleep(60)']); "
                         "open('child.pid','w').write(str(c.pid)); "
                         "say({'time':'t','stage':'fitting','done':1,'total':4}); time.sleep(60)")
# WITH_CHILD that ignores SIGTERM, and so does its child (an ignored signal stays ignored across exec).
STUBBORN = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); " + WITH_CHILD


def console_config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """Settings for a console app: its own trainer folder, no base corpus, no rate limits."""
    return {"TRAINER_DIR": str(tmp_path / "trainer"), "TRAINER_BASE_CORPUS": None, "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "test secret key", **extra}


def add_users(app: Flask) -> Flask:
    """A trainer, an admin and a plain user, all with PASSWORD."""
    with app.app_context():
        for name, role in USERS.items():
            create_user(name, PASSWORD, role=role)
        db.session.commit()
    return app


def login(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return client


def csrf_token(client: FlaskClient, page: str) -> str:
    html = client.get(page).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, f"{page} has no form with a CSRF token"
    return match.group(1)


def post_form(client: FlaskClient, path: str, from_page: str, data: dict | None = None, **kwargs: Any):
    return client.post(path, data={"csrf_token": csrf_token(client, from_page), **(data or {})}, **kwargs)


def upload(client: FlaskClient, name: str, content: bytes | str):
    """POST a corpus file from the console's start page (the response is not followed)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return post_form(client, "/trainer/corpora", "/trainer", {"corpus": (io.BytesIO(data), name)},
                     content_type="multipart/form-data")


def start(client: FlaskClient, corpus_id: str, status: int = 303):
    """Press the corpus page's train button; the response (a redirect to the new job's page)."""
    response = post_form(client, f"/trainer/corpora/{corpus_id}/train", f"/trainer/corpora/{corpus_id}")
    assert response.status_code == status, text_of(response)[:3000]
    return response


def job_id_of(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def corpus_id_of(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def text_of(response) -> str:
    return response.get_data(as_text=True)


def hand_made_job(trainer_dir: Path, job_id: str, *, model: Path | None = None, progress: list[dict] = (),
                  returncode: int | None = 0, pid: int | None = None, evaluation: dict | None = None) -> Path:
    """A job folder as the console and the training command leave it. ``returncode`` None: no exit.json."""
    path = trainer_dir / "jobs" / job_id
    path.mkdir(parents=True)
    (path / "job.json").write_text(json.dumps({
        "id": job_id, "corpora": [], "data": [], "command": [], "created_by": "트레이너",
        "created_at": "2025-05-01T00:00:00+00:00", "pid": pid}), encoding="utf-8")
    (path / "progress.jsonl").write_text("".join(json.dumps(p) + "\n" for p in progress), encoding="utf-8")
    (path / "log.txt").write_text("학습 기록\n", encoding="utf-8")
    if returncode is not None:
        (path / "exit.json").write_text(json.dumps({"returncode": returncode, "finished": "2025-05-01T00:01:00+00:00"}))
    if model is not None:
        shutil.copytree(model, path / "model")
        shutil.rmtree(path / "model" / "evaluation", ignore_errors=True)  # only what the test gives
        if evaluation is not None:
            folder = path / "model" / "evaluation"
            folder.mkdir()
            for name, content in evaluation.items():
                data = content if isinstance(content, bytes) else content.encode("utf-8")
                (folder / name).write_bytes(data)
    return path


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def running(pid: int) -> bool:
    """Whether the process runs (a zombie, which nobody may reap in a container, has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_for(client: FlaskClient, job_id: str, statuses: tuple[str, ...], timeout: float = 120.0) -> dict:
    """Poll the job API until its status is one of ``statuses``; the last state."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/trainer/api/jobs/{job_id}")
        assert response.status_code == 200, response.get_data(as_text=True)
        state = response.get_json()
        if state["status"] in statuses or time.monotonic() > deadline:
            return state
        time.sleep(0.3)

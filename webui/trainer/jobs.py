"""Training jobs: ``python -m chatbot train`` in a subprocess, its state in files under ``TRAINER_DIR/jobs/<id>/``.

- ``job.json``: id, corpora, data paths, command, who started it and when, the pid (and its start time,
  so a recycled pid is not mistaken for the job).
- ``progress.jsonl``: the trainer's ``--progress-file`` lines ``{"time", "stage", "done", "total"}``, ending
  with ``{"stage": "done", ...}`` or ``{"stage": "failed", "error", "problems"}``.
- ``log.txt``: the command's output; ``exit.json``: its return code, written by a watcher thread.
- ``model/``: the trained model directory.
- ``cancel.json``: who cancelled the job and when; once its processes are gone the job is ``cancelled``.

The state is read from these files alone, so any worker, and a restarted server, sees the same job. A
job whose process is gone without an ``exit.json`` or a final progress line was ``interrupted``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import chatbot
from chatbot.model_dir import ModelDir
from webui.observability import current_request_id
from webui.releases import folder_lock
from webui.trainer.processes import alive, any_left, group_members, process_start, same_process, signal_group
from webui.trainer.storage import (
    cancel_grace_seconds,
    ids,
    new_id,
    now,
    read_json,
    train_command,
    trainer_dir,
    write_json,
)

logger = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "interrupted", "cancelled")
START_GRACE_SECONDS = 60  # a job.json without a pid is "queued" this long (its Popen is under way), then interrupted
LOG_TAIL_BYTES = 4000
CANCEL = "cancel.json"
KILL_WAIT_SECONDS = 3.0  # after SIGKILL, how long a cancel waits for the processes to be gone
ENDED_MESSAGE = "이미 끝난 작업이라 취소할 수 없어요."
UNKNOWN_PROCESS_MESSAGE = ("이 작업의 프로세스가 학습을 시작한 그 프로세스인지 확인할 수 없어서 멈추지 않았어요. "
                           "서버에서 직접 확인해 주세요.")


class JobBusy(RuntimeError):
    """Another job is queued or running: one at a time (training takes every core)."""

    def __init__(self, job_id: str):
        super().__init__(job_id)
        self.job_id = job_id


class NotCancelled(RuntimeError):
    """A cancel refused: the job has ended, or its process cannot be told apart from a later one."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@contextlib.contextmanager
def jobs_lock() -> Iterator[None]:
    """The advisory lock (``jobs/.lock``) under which a job starts, is cancelled, or a corpus is deleted."""
    root = trainer_dir() / "jobs"
    root.mkdir(parents=True, exist_ok=True)
    with folder_lock(root):
        yield


def start_job(data: list[Path], corpora: list[dict[str, Any]], created_by: str) -> str:
    """Start training on ``data`` in a subprocess and return the new job's id; JobBusy when a job is active,
    FileNotFoundError when a data file is gone (a corpus deleted meanwhile)."""
    root = trainer_dir() / "jobs"
    with jobs_lock():  # the check and the new job.json together: two workers cannot both start one
        busy = active_job()
        if busy is not None:
            raise JobBusy(busy)
        missing = [p for p in data if not p.exists()]
        if missing:
            raise FileNotFoundError(str(missing[0]))
        job_id = new_id()
        path = root / job_id
        path.mkdir()
        command = [*train_command(), *(arg for p in data for arg in ("--data", str(p))),
                   "--out", str(path / "model"), "--progress-file", str(path / "progress.jsonl")]
        record: dict[str, Any] = {"id": job_id, "corpora": corpora, "data": [str(p) for p in data],
                                  "command": command, "created_by": created_by, "created_at": now(), "pid": None,
                                  "request_id": current_request_id()}
        write_json(path / "job.json", record)
    try:
        with (path / "log.txt").open("wb") as log:
            # A session of its own: a Ctrl-C or a worker restart of the server does not kill the training.
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       cwd=path, env=_environment(), start_new_session=True)
    except OSError as exc:
        logger.error("Training job %s did not start: %s", job_id, exc)
        write_json(path / "exit.json",
                   {"returncode": None, "finished": now(), "error": f"학습을 시작하지 못했어요: {exc}"})
        return job_id
    with jobs_lock():  # a cancel that came before the pid was known is seen here, or sees the pid
        write_json(path / "job.json", {**record, "pid": process.pid, "pid_start": process_start(process.pid)})
        if (path / CANCEL).exists():
            signal_group(process.pid, signal.SIGTERM)  # our child, not reaped before the watcher starts
    threading.Thread(target=_watch, args=(process, path), name=f"trainer-job-{job_id}", daemon=True).start()
    logger.info("Training job %s started by %s (pid %d): %s", job_id, created_by, process.pid, command)
    return job_id


def cancel_job(path: Path, cancelled_by: str) -> dict[str, Any]:
    """Cancel a queued or running job from any worker and return its state: record who and when in
    ``cancel.json``, send SIGTERM to the job's process group, and SIGKILL after ``cancel_grace_seconds``
    to what is left, waiting until the processes are gone (so a new job can start at once).

    NotCancelled for a job that has ended, and for a pid that cannot be proven to be the job's process
    (no recorded start time, or another one now): that pid is never signalled."""
    with jobs_lock():
        if job_state(path)["status"] not in ACTIVE:
            raise NotCancelled(ENDED_MESSAGE)
        record = read_json(path / "job.json") or {}
        pid = record.get("pid")
        if pid is not None and not same_process(record):
            raise NotCancelled(UNKNOWN_PROCESS_MESSAGE)
        if read_json(path / CANCEL) is None:  # a second cancel keeps the first one's name and time
            write_json(path / CANCEL, {"cancelled_by": cancelled_by, "cancelled_at": now()})
        if pid is None:
            logger.info("Training job %s cancelled by %s before its process started", path.name, cancelled_by)
            return job_state(path)  # start_job sees cancel.json when it records the pid, and stops it
        members = group_members(pid)  # the leader is the job's, so every process of its group is
        signal_group(pid, signal.SIGTERM)
    logger.info("Training job %s cancelled by %s: SIGTERM to process group %d", path.name, cancelled_by, pid)
    grace = cancel_grace_seconds()
    if not _wait_ended(path, pid, grace):
        if same_process(record) or any_left(members, pid):  # the group id cannot have been given out again
            logger.warning("Training job %s still running %gs after SIGTERM: SIGKILL", path.name, grace)
            signal_group(pid, signal.SIGKILL)
        _wait_ended(path, pid, KILL_WAIT_SECONDS)
    return job_state(path)


def _wait_ended(path: Path, pgid: int, seconds: float) -> bool:
    """Wait up to ``seconds`` for the job to read as ended and its process group to be gone."""
    deadline = time.monotonic() + seconds
    while True:
        if job_state(path)["status"] not in ACTIVE and not group_members(pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _environment() -> dict[str, str]:
    """The server's environment, with the library the server uses first on the path (a server run from a
    checkout without installing it), and unbuffered output for a live log."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    library = str(Path(chatbot.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (library, env.get("PYTHONPATH", "")) if p)
    return env


def _watch(process: subprocess.Popen, path: Path) -> None:
    """Wait for the process and record its return code (the thread that reaps it).

    Where the system has ``waitid``, the ended process is left unreaped (``WNOWAIT``) until exit.json is
    written: its pid stays taken, so a reader never sees the job's process gone without its exit.json (it
    would call the job interrupted for that moment)."""
    code = None
    if hasattr(os, "waitid"):
        with contextlib.suppress(ChildProcessError, OSError):
            info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
            if info is not None:
                code = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
    if code is None:
        code = process.wait()
    write_json(path / "exit.json", {"returncode": code, "finished": now()})
    process.wait()  # reaps it (returns at once when already reaped)
    logger.info("Training job %s ended with return code %d", path.name, code)


def active_job() -> str | None:
    """The id of a queued or running job, if any."""
    return next((job_id for job_id in ids("jobs") if job_state(trainer_dir() / "jobs" / job_id)["status"] in ACTIVE),
                None)


def active_job_on(corpus_id: str) -> str | None:
    """The id of the queued or running job that trains on the uploaded corpus ``corpus_id``, if any."""
    busy = active_job()
    record = read_json(trainer_dir() / "jobs" / busy / "job.json") if busy else None
    corpora = record.get("corpora") if isinstance(record, dict) else None
    return busy if any(isinstance(c, dict) and c.get("id") == corpus_id for c in corpora or []) else None


def list_jobs() -> list[dict[str, Any]]:
    """Every job's record and state, newest first."""
    jobs = []
    for job_id in ids("jobs"):
        path = trainer_dir() / "jobs" / job_id
        record = read_json(path / "job.json")
        if isinstance(record, dict):
            jobs.append({**record, **job_state(path)})
    return jobs


def job_state(path: Path) -> dict[str, Any]:
    """What the job page and ``GET /trainer/api/jobs/<id>`` show: status (queued, running, done, failed,
    interrupted, cancelled), the last progress line's stage/done/total and fraction, error and problems,
    times, who cancelled it and when, log tail."""
    record = read_json(path / "job.json") or {}
    progress = read_progress(path / "progress.jsonl")
    last = progress[-1] if progress else {}
    final = next((p for p in reversed(progress) if p.get("stage") in ("done", "failed")), None)
    ended = read_json(path / "exit.json")
    ended = ended if isinstance(ended, dict) else None
    status, error, problems = _status(path, record, progress, final, ended)
    cancel = read_json(path / CANCEL)
    cancel = cancel if isinstance(cancel, dict) else {}
    # Cancelled once its process is gone, whatever it ended with (a model that came in the meantime is
    # not offered); a job cancelled before its pid was known is cancelled at once (start_job stops it).
    if cancel and (status not in ACTIVE or record.get("pid") is None):
        status, error, problems = "cancelled", None, []
    done, total = _number(last.get("done")), _number(last.get("total"))
    fraction = 1.0 if status == "done" else _fraction(last, done, total)
    finished = (ended or {}).get("finished") or (final or {}).get("time") or cancel.get("cancelled_at")
    return {"id": path.name, "status": status, "stage": last.get("stage"), "done": done, "total": total,
            "fraction": round(fraction, 4), "error": error, "problems": problems,
            "started": record.get("created_at"), "finished": finished if status in FINISHED else None,
            "cancelled_by": cancel.get("cancelled_by"), "cancelled_at": cancel.get("cancelled_at"),
            "log_tail": log_tail(path / "log.txt")}


def _status(path: Path, record: dict[str, Any], progress: list[dict[str, Any]], final: dict[str, Any] | None,
            ended: dict[str, Any] | None) -> tuple[str, str | None, list[str]]:
    """The status from the process's files and its pid, with the error and problems of a failed job."""
    if ended is not None or (final is not None and not alive(record)):
        code = ended.get("returncode") if ended is not None else (0 if final["stage"] == "done" else 1)
        if code == 0 and ModelDir(path / "model").exists() and (final is None or final["stage"] == "done"):
            return "done", None, []
        error = ((final or {}).get("error") or (ended or {}).get("error")
                 or (f"학습 프로세스가 코드 {code}(으)로 끝났어요. 아래 기록을 확인해 주세요." if code
                     else "학습이 끝났지만 모델 폴더가 만들어지지 않았어요."))
        return "failed", error, [str(p) for p in (final or {}).get("problems") or []]
    if record.get("pid") is None:
        status = "queued" if _age(record) < START_GRACE_SECONDS else "interrupted"
    elif alive(record):
        status = "running" if progress else "queued"
    else:
        status = "interrupted"
    if status == "interrupted":
        return status, "서버가 지켜보지 못하는 사이에 학습이 중단됐어요. 다시 학습을 시작해 주세요.", []
    return status, None, []


def read_progress(path: Path) -> list[dict[str, Any]]:
    """The progress file's JSON objects in order; a line being written (no newline yet) or garbled is skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    lines = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            item = json.loads(line)
            if isinstance(item, dict):
                lines.append(item)
    return lines


def log_tail(path: Path) -> str:
    """The last few KB of the job's output (progress bars rewrite a line with ``\\r``: the last state of each)."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
            data = handle.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(line.rsplit("\r", 1)[-1] for line in lines[-30:])


def _fraction(last: dict[str, Any], done: int, total: int) -> float:
    """The run's share done: the line's own ``fraction`` when it has one (progress inside a step, such as a
    network's training steps: ``training.progress.ProgressLog.within``), else its steps done of the total."""
    within = last.get("fraction")
    if isinstance(within, int | float) and not isinstance(within, bool) and 0 <= within <= 1:
        return float(within)
    return min(1.0, done / total) if total else 0.0


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _age(record: dict[str, Any]) -> float:
    try:
        return time.time() - datetime.fromisoformat(str(record.get("created_at"))).timestamp()
    except ValueError:
        return float("inf")

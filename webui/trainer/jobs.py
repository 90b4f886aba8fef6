"""Training jobs: ``python -m chatbot train`` in a subprocess, its state in files under ``TRAINER_DIR/jobs/<id>/``.

- ``job.json``: id, corpora, data paths, command, who started it and when, the pid (and its start time,
  so a recycled pid is not mistaken for the job).
- ``progress.jsonl``: the trainer's ``--progress-file`` lines ``{"time", "stage", "done", "total"}``, ending
  with ``{"stage": "done", ...}`` or ``{"stage": "failed", "error", "problems"}``.
- ``log.txt``: the command's output; ``exit.json``: its return code, written by a watcher thread.
- ``model/``: the trained model directory.

The state is read from these files alone, so any worker, and a restarted server, sees the same job. A
job whose process is gone without an ``exit.json`` or a final progress line was ``interrupted``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import chatbot
from webui.releases import folder_lock
from webui.trainer.storage import ids, new_id, now, read_json, train_command, trainer_dir, write_json

logger = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "interrupted")
START_GRACE_SECONDS = 60  # a job.json without a pid is "queued" this long (its Popen is under way), then interrupted
LOG_TAIL_BYTES = 4000


class JobBusy(RuntimeError):
    """Another job is queued or running: one at a time (training takes every core)."""

    def __init__(self, job_id: str):
        super().__init__(job_id)
        self.job_id = job_id


def start_job(data: list[Path], corpora: list[dict[str, Any]], created_by: str) -> str:
    """Start training on ``data`` in a subprocess and return the new job's id; JobBusy when a job is active."""
    root = trainer_dir() / "jobs"
    root.mkdir(parents=True, exist_ok=True)
    with folder_lock(root):  # the check and the new job.json together: two workers cannot both start one
        busy = active_job()
        if busy is not None:
            raise JobBusy(busy)
        job_id = new_id()
        path = root / job_id
        path.mkdir()
        command = [*train_command(), *(arg for p in data for arg in ("--data", str(p))),
                   "--out", str(path / "model"), "--progress-file", str(path / "progress.jsonl")]
        record: dict[str, Any] = {"id": job_id, "corpora": corpora, "data": [str(p) for p in data],
                                  "command": command, "created_by": created_by, "created_at": now(), "pid": None}
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
    write_json(path / "job.json", {**record, "pid": process.pid, "pid_start": _process_start(process.pid)})
    threading.Thread(target=_watch, args=(process, path), name=f"trainer-job-{job_id}", daemon=True).start()
    logger.info("Training job %s started by %s (pid %d): %s", job_id, created_by, process.pid, command)
    return job_id


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
    interrupted), the last progress line's stage/done/total and fraction, error and problems, times, log tail."""
    record = read_json(path / "job.json") or {}
    progress = read_progress(path / "progress.jsonl")
    last = progress[-1] if progress else {}
    final = next((p for p in reversed(progress) if p.get("stage") in ("done", "failed")), None)
    ended = read_json(path / "exit.json")
    has_model = (path / "model" / "pipeline.yaml").is_file()
    error, problems = None, []
    if isinstance(ended, dict) or (final is not None and not _alive(record)):
        code = ended.get("returncode") if isinstance(ended, dict) else (0 if final["stage"] == "done" else 1)
        ok = code == 0 and has_model and (final is None or final["stage"] == "done")
        status = "done" if ok else "failed"
        if not ok:
            error = ((final or {}).get("error") or (ended or {}).get("error")
                     or (f"학습 프로세스가 코드 {code}(으)로 끝났어요. 아래 기록을 확인해 주세요." if code
                         else "학습이 끝났지만 모델 폴더가 만들어지지 않았어요."))
            problems = [str(p) for p in (final or {}).get("problems") or []]
    elif record.get("pid") is None:
        status = "queued" if _age(record) < START_GRACE_SECONDS else "interrupted"
    elif _alive(record):
        status = "running" if progress else "queued"
    else:
        status = "interrupted"
    if status == "interrupted":
        error = "서버가 지켜보지 못하는 사이에 학습이 중단됐어요. 다시 학습을 시작해 주세요."
    done, total = _number(last.get("done")), _number(last.get("total"))
    fraction = 1.0 if status == "done" else (min(1.0, done / total) if total else 0.0)
    finished = (ended or {}).get("finished") if isinstance(ended, dict) else (final or {}).get("time")
    return {"id": path.name, "status": status, "stage": last.get("stage"), "done": done, "total": total,
            "fraction": round(fraction, 4), "error": error, "problems": problems,
            "started": record.get("created_at"), "finished": finished if status in FINISHED else None,
            "log_tail": log_tail(path / "log.txt")}


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


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _age(record: dict[str, Any]) -> float:
    try:
        return time.time() - datetime.fromisoformat(str(record.get("created_at"))).timestamp()
    except ValueError:
        return float("inf")


def _alive(record: dict[str, Any]) -> bool:
    """Whether the job's process still exists (and is the same process, not a later one given its pid)."""
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    recorded = record.get("pid_start")
    return recorded is None or _process_start(pid) in (None, recorded)


def _process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux's /proc), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None

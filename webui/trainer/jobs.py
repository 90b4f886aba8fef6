"""Training jobs as the console sees them: start, read, list and cancel, whichever backend runs them
(``backends.py``: subprocesses of this machine by default, an RQ queue with ``TRAINER_QUEUE_URL``).

Every job has a folder ``TRAINER_DIR/jobs/<id>/`` with its ``job.json`` (id, corpora, data paths,
command, who started it and when, the backend), the command's ``progress.jsonl`` and ``log.txt``, the
trained ``model/``, and ``cancel.json`` once cancelled; the backend says whether it is queued,
running or how it ended.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from webui.observability import current_request_id
from webui.trainer.backends import (
    ACTIVE,
    CANCEL,
    ENDED_MESSAGE,
    FILE,
    FINISHED,
    QUEUE,
    JobBackend,
    JobBusy,
    NotCancelled,
    cancel_record,
    jobs_lock,
    queue_configured,
    read_progress,
    with_cancel,
)
from webui.trainer.file_backend import FileBackend
from webui.trainer.storage import ids, new_id, now, read_json, train_command, trainer_dir, write_json

__all__ = ["ACTIVE", "CANCEL", "ENDED_MESSAGE", "FINISHED", "JobBusy", "NotCancelled", "active_job",
           "active_job_on", "cancel_job", "job_state", "jobs_lock", "list_jobs", "read_progress", "start_job"]

logger = logging.getLogger(__name__)

LOG_TAIL_BYTES = 4000


def configured_backend() -> JobBackend:
    """The backend new jobs go to: the queue when ``TRAINER_QUEUE_URL`` is set, else subprocesses. Chosen here,
    above both backends (they build on ``backends.py``)."""
    return _backend(QUEUE if queue_configured() else FILE)


def backend_for(record: dict[str, Any]) -> JobBackend:
    """The backend that started the job of ``record`` (a record without ``backend`` predates the queue)."""
    return _backend(QUEUE if record.get("backend") == QUEUE else FILE)


def _backend(name: str) -> JobBackend:
    if name == QUEUE:
        from webui.trainer.rq_backend import QueueBackend  # rq is imported only where a queue is used

        return QueueBackend()
    return FileBackend()


def start_job(data: list[Path], corpora: list[dict[str, Any]], created_by: str, **extra: Any) -> str:
    """Start training on ``data`` and return the new job's id; JobBusy when a job is active and the
    backend runs one at a time, FileNotFoundError when a data file is gone (a corpus deleted meanwhile).
    ``extra`` fields join the job's record."""
    root = trainer_dir() / "jobs"
    backend = configured_backend()
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
        record: dict[str, Any] = {"request_id": current_request_id(), **extra,
                                  "id": job_id, "corpora": corpora, "data": [str(p) for p in data],
                                  "command": command, "created_by": created_by, "created_at": now(),
                                  "backend": backend.name, "pid": None}
        write_json(path / "job.json", record)
    backend.start(path, record)
    return job_id


def cancel_job(path: Path, cancelled_by: str) -> dict[str, Any]:
    """Cancel a queued or running job from any worker (or any web machine, with the queue) and return its
    state; NotCancelled for a job that has ended, or one whose process cannot be proven to be the job's."""
    record = _record(path)
    backend_for(record).cancel(path, record, cancelled_by)
    return job_state(path)


def active_job() -> str | None:
    """The id of the queued or running job that keeps a new one from starting, if any (none with the queue,
    where jobs wait for a worker)."""
    if not configured_backend().one_at_a_time:
        return None
    return next(iter(active_jobs()), None)


def active_jobs() -> list[str]:
    """The ids of the queued and running jobs, newest first."""
    return [job_id for job_id, _ in _active_records()]


def active_job_on(corpus_id: str) -> str | None:
    """The id of a queued or running job that trains on the uploaded corpus ``corpus_id``, if any."""
    for job_id, record in _active_records():
        if any(isinstance(c, dict) and c.get("id") == corpus_id for c in record.get("corpora") or []):
            return job_id
    return None


def _active_records() -> list[tuple[str, dict[str, Any]]]:
    """The queued and running jobs' ids and records, newest first (each ``job.json`` read once)."""
    found = []
    for job_id in ids("jobs"):
        path = trainer_dir() / "jobs" / job_id
        record = _record(path)
        if job_state(path, record)["status"] in ACTIVE:
            found.append((job_id, record))
    return found


def list_jobs() -> list[dict[str, Any]]:
    """Every job's record and state, newest first."""
    jobs = []
    for job_id in ids("jobs"):
        path = trainer_dir() / "jobs" / job_id
        record = read_json(path / "job.json")
        if isinstance(record, dict):
            jobs.append({**record, **job_state(path, record)})
    return jobs


def job_state(path: Path, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the job page and ``GET /trainer/api/jobs/<id>`` show: status (queued, running, done, failed,
    interrupted, cancelled), the last progress line's stage/done/total and fraction, error and problems,
    times, who cancelled it and when, log tail. ``record``: the job's ``job.json`` when the caller has read it."""
    record = _record(path) if record is None else record
    state = backend_for(record).status(path, record)
    status = with_cancel(path, state)
    cancel = cancel_record(path)
    error, problems = (None, []) if status == "cancelled" else (state["error"], state["problems"])
    last = state["progress"]
    done, total = _number(last.get("done")), _number(last.get("total"))
    fraction = 1.0 if status == "done" else _fraction(last, done, total)
    finished = state["finished"] or cancel.get("cancelled_at")
    return {"id": path.name, "status": status, "stage": last.get("stage"), "done": done, "total": total,
            "fraction": round(fraction, 4), "error": error, "problems": problems,
            "started": record.get("created_at"), "finished": finished if status in FINISHED else None,
            "cancelled_by": cancel.get("cancelled_by"), "cancelled_at": cancel.get("cancelled_at"),
            "log_tail": log_tail(path / "log.txt")}


def job_status(path: Path) -> str:
    """Only the job's status, as ``job_state`` gives it, without reading its log (``/metrics`` counts them)."""
    record = _record(path)
    return with_cancel(path, backend_for(record).status(path, record))


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


def _record(path: Path) -> dict[str, Any]:
    record = read_json(path / "job.json")
    return record if isinstance(record, dict) else {}


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

"""Where a training job runs, behind one interface: the console (``webui.trainer.jobs``) calls a
``JobBackend`` and cannot tell which one it is.

- ``FileBackend`` (``file_backend.py``, the default): a subprocess of the web machine that got the
  request; its state in files under ``TRAINER_DIR/jobs/<id>/`` and its pid. One job at a time.
- ``QueueBackend`` (``rq_backend.py``, with ``TRAINER_QUEUE_URL`` set): an RQ job that
  ``python -m chatbot worker`` runs on any machine that shares ``TRAINER_DIR``; its state in Redis.

Either way a job has a folder under ``TRAINER_DIR/jobs/<id>/`` with its ``job.json`` (whose
``backend`` says which backend reads it, so a job started before a change of setting is still read
right), the training command's ``progress.jsonl``, ``log.txt`` and ``model/``, and ``cancel.json``
once cancelled.
"""

from __future__ import annotations

import contextlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from flask import current_app

from webui.releases import folder_lock
from webui.trainer.storage import read_json, trainer_dir

ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "interrupted", "cancelled")
CANCEL = "cancel.json"
ENDED_MESSAGE = "이미 끝난 작업이라 취소할 수 없어요."
FILE, QUEUE = "file", "queue"


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


class Status(TypedDict):
    """What a backend knows of a job: its status (one of ACTIVE or FINISHED), the error and problems of a
    failed job, the last progress line, when it finished, and whether it has started (a job cancelled
    before it started reads as cancelled at once)."""

    status: str
    error: str | None
    problems: list[str]
    progress: dict[str, Any]
    finished: str | None
    started: bool


class JobBackend(ABC):
    """How jobs are started, read and cancelled; the job folder and its ``job.json`` exist before ``start``."""

    name: str
    # Whether an active job keeps a new one from starting (a subprocess takes the web machine's cores; a
    # queue lets jobs wait for a free worker).
    one_at_a_time: bool

    @abstractmethod
    def start(self, path: Path, record: dict[str, Any]) -> None:
        """Run the job whose folder is ``path`` (its ``job.json`` is ``record``, with its ``command``)."""

    @abstractmethod
    def status(self, path: Path, record: dict[str, Any]) -> Status:
        """The job's status as this backend sees it (``cancel.json`` is applied by the caller)."""

    @abstractmethod
    def cancel(self, path: Path, record: dict[str, Any], cancelled_by: str) -> None:
        """Stop a queued or running job (``cancel.json`` is written); NotCancelled when it cannot be."""


@contextlib.contextmanager
def jobs_lock() -> Iterator[None]:
    """The advisory lock (``jobs/.lock``) under which a job starts, is cancelled, or a corpus is deleted."""
    root = trainer_dir() / "jobs"
    root.mkdir(parents=True, exist_ok=True)
    with folder_lock(root):
        yield


def cancel_record(path: Path) -> dict[str, Any]:
    """``cancel.json``: who cancelled the job and when; empty when nobody did."""
    cancel = read_json(path / CANCEL)
    return cancel if isinstance(cancel, dict) else {}


def with_cancel(path: Path, status: Status) -> str:
    """The status once ``cancel.json`` is counted: a cancelled job is ``cancelled`` once it has ended,
    whatever it ended with (a model that came in the meantime is not offered), and at once when it had
    not started."""
    if cancel_record(path) and (status["status"] not in ACTIVE or not status["started"]):
        return "cancelled"
    return status["status"]


def queue_configured() -> bool:
    """Whether ``TRAINER_QUEUE_URL`` names a Redis for training jobs."""
    return bool(str(current_app.config.get("TRAINER_QUEUE_URL") or "").strip())


def read_progress(path: Path) -> list[dict[str, Any]]:
    """The progress file's JSON objects in order; a line being written (no newline yet) or garbled is skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return progress_lines(text)


def progress_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects of a progress file's text, in order (garbled lines skipped)."""
    lines = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            item = json.loads(line)
            if isinstance(item, dict):
                lines.append(item)
    return lines


def record_age(record: dict[str, Any]) -> float:
    """Seconds since the job's ``created_at`` (infinite when it is unreadable)."""
    try:
        return time.time() - datetime.fromisoformat(str(record.get("created_at"))).timestamp()
    except ValueError:
        return float("inf")

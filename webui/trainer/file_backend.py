"""The one-machine backend: ``python -m chatbot train`` in a subprocess of the web machine that got the
request, its state in files under ``TRAINER_DIR/jobs/<id>/``.

- ``job.json``: as every backend's, plus the pid (and its start time, so a recycled pid is not mistaken
  for the job).
- ``progress.jsonl``: the trainer's ``--progress-file`` lines ``{"time", "stage", "done", "total"}``, ending
  with ``{"stage": "done", ...}`` or ``{"stage": "failed", "error", "problems"}``.
- ``log.txt``: the command's output; ``exit.json``: its return code, written by a watcher thread.
- ``cancel.json``: who cancelled the job and when; once its processes are gone the job is ``cancelled``.

The state is read from these files alone, so any worker, and a restarted server, sees the same job. A
job whose process is gone without an ``exit.json`` or a final progress line was ``interrupted``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from chatbot.model_dir import ModelDir
from webui.trainer.backends import (
    ACTIVE,
    CANCEL,
    ENDED_MESSAGE,
    FILE,
    JobBackend,
    NotCancelled,
    Status,
    jobs_lock,
    read_progress,
    record_age,
    with_cancel,
)
from webui.trainer.processes import (
    alive,
    any_left,
    group_members,
    process_start,
    same_process,
    signal_group,
    training_environment,
)
from webui.trainer.storage import cancel_grace_seconds, now, read_json, write_json

logger = logging.getLogger(__name__)

START_GRACE_SECONDS = 60  # a job.json without a pid is "queued" this long (its Popen is under way), then interrupted
KILL_WAIT_SECONDS = 3.0  # after SIGKILL, how long a cancel waits for the processes to be gone
UNKNOWN_PROCESS_MESSAGE = ("이 작업의 프로세스가 학습을 시작한 그 프로세스인지 확인할 수 없어서 멈추지 않았어요. "
                           "서버에서 직접 확인해 주세요.")
INTERRUPTED_MESSAGE = "서버가 지켜보지 못하는 사이에 학습이 중단됐어요. 다시 학습을 시작해 주세요."


class FileBackend(JobBackend):
    """Subprocesses of this machine, one job at a time."""

    name, one_at_a_time = FILE, True

    def start(self, path: Path, record: dict[str, Any]) -> None:
        """Start the job's command in a session of its own and a thread that records its exit."""
        job_id, command = record["id"], record["command"]
        try:
            with (path / "log.txt").open("wb") as log:
                # A session of its own: a Ctrl-C or a worker restart of the server does not kill the training.
                process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           cwd=path, env=training_environment(), start_new_session=True)
        except OSError as exc:
            logger.error("Training job %s did not start: %s", job_id, exc)
            write_json(path / "exit.json",
                       {"returncode": None, "finished": now(), "error": f"학습을 시작하지 못했어요: {exc}"})
            return
        with jobs_lock():  # a cancel that came before the pid was known is seen here, or sees the pid
            write_json(path / "job.json", {**record, "pid": process.pid, "pid_start": process_start(process.pid)})
            if (path / CANCEL).exists():
                signal_group(process.pid, signal.SIGTERM)  # our child, not reaped before the watcher starts
        threading.Thread(target=_watch, args=(process, path), name=f"trainer-job-{job_id}", daemon=True).start()
        logger.info("Training job %s started by %s (pid %d): %s", job_id, record.get("created_by"), process.pid,
                    command)

    def cancel(self, path: Path, record: dict[str, Any], cancelled_by: str) -> None:
        """Send SIGTERM to the job's process group, and SIGKILL after ``cancel_grace_seconds`` to what is
        left, waiting until the processes are gone (so a new job can start at once). A pid that cannot be
        proven to be the job's process (no recorded start time, or another one now) is never signalled."""
        with jobs_lock():
            record = read_json(path / "job.json") or {}
            if with_cancel(path, self.status(path, record)) not in ACTIVE:
                raise NotCancelled(ENDED_MESSAGE)
            pid = record.get("pid")
            if pid is not None and not same_process(record):
                raise NotCancelled(UNKNOWN_PROCESS_MESSAGE)
            if read_json(path / CANCEL) is None:  # a second cancel keeps the first one's name and time
                write_json(path / CANCEL, {"cancelled_by": cancelled_by, "cancelled_at": now()})
            if pid is None:
                logger.info("Training job %s cancelled by %s before its process started", path.name, cancelled_by)
                return  # start sees cancel.json when it records the pid, and stops it
            members = group_members(pid)  # the leader is the job's, so every process of its group is
            signal_group(pid, signal.SIGTERM)
        logger.info("Training job %s cancelled by %s: SIGTERM to process group %d", path.name, cancelled_by, pid)
        grace = cancel_grace_seconds()
        if not self._wait_ended(path, pid, grace):
            if same_process(record) or any_left(members, pid):  # the group id cannot have been given out again
                logger.warning("Training job %s still running %gs after SIGTERM: SIGKILL", path.name, grace)
                signal_group(pid, signal.SIGKILL)
            self._wait_ended(path, pid, KILL_WAIT_SECONDS)

    def _wait_ended(self, path: Path, pgid: int, seconds: float) -> bool:
        """Wait up to ``seconds`` for the job to read as ended and its process group to be gone."""
        deadline = time.monotonic() + seconds
        while True:
            record = read_json(path / "job.json") or {}
            if with_cancel(path, self.status(path, record)) not in ACTIVE and not group_members(pgid):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def status(self, path: Path, record: dict[str, Any]) -> Status:
        """The status from the process's files and its pid, with the error and problems of a failed job."""
        progress = read_progress(path / "progress.jsonl")
        last = progress[-1] if progress else {}
        final = next((p for p in reversed(progress) if p.get("stage") in ("done", "failed")), None)
        ended = read_json(path / "exit.json")
        ended = ended if isinstance(ended, dict) else None
        finished = (ended or {}).get("finished") or (final or {}).get("time")
        started = record.get("pid") is not None

        def state(status: str, error: str | None = None, problems: list[str] | None = None) -> Status:
            return Status(status=status, error=error, problems=problems or [], progress=last,
                          finished=finished, started=started)

        if ended is not None or (final is not None and not alive(record)):
            code = ended.get("returncode") if ended is not None else (0 if final["stage"] == "done" else 1)
            if code == 0 and ModelDir(path / "model").exists() and (final is None or final["stage"] == "done"):
                return state("done")
            error = ((final or {}).get("error") or (ended or {}).get("error")
                     or (f"학습 프로세스가 코드 {code}(으)로 끝났어요. 아래 기록을 확인해 주세요." if code
                         else "학습이 끝났지만 모델 폴더가 만들어지지 않았어요."))
            return state("failed", error, [str(p) for p in (final or {}).get("problems") or []])
        if not started:
            status = "queued" if record_age(record) < START_GRACE_SECONDS else "interrupted"
        elif alive(record):
            status = "running" if progress else "queued"
        else:
            status = "interrupted"
        return state(status, INTERRUPTED_MESSAGE if status == "interrupted" else None)


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


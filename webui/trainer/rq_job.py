"""What ``python -m chatbot worker`` runs: the training command of one queued job, and the RQ worker
class that runs it.

The job runs ``python -m chatbot train ... --progress-file`` as a subprocess of RQ's work horse, in the
horse's process group: RQ's stop command (``send_stop_job_command``, what a cancel sends) kills that
group, the training with it. While it runs, the last progress line is copied into the RQ job's meta
(``meta["progress"]``), so any web machine shows the live bar; the output goes to the shared job
folder's ``log.txt`` and, at the end, ``exit.json`` records the return code there too (the state once
Redis has forgotten the job). The folder's paths come from the web machine: every machine mounts
``TRAINER_DIR`` at the same path.

A worker that dies (SIGKILL, a lost machine) stops sending heartbeats; its horse notices that its parent
is gone and kills its process group, and RQ's ``StartedJobRegistry.cleanup`` (which the console runs
when it reads a job) marks the job failed with ``AbandonedJobError`` once the heartbeat has lapsed:
``TrainingWorker`` keeps that lapse short (a few heartbeats, not RQ's fixed minute).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rq import Worker, get_current_job
from rq.job import Job
from rq.timeouts import JobTimeoutException

from webui.trainer.backends import CANCEL, progress_lines
from webui.trainer.processes import training_environment
from webui.trainer.storage import now, write_json

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
TERM_GRACE_SECONDS = 5.0  # a cancel seen in cancel.json: SIGTERM, then SIGKILL after this long
MISSING_FOLDER_MESSAGE = ("이 작업자에서 작업 폴더 {path}가 보이지 않아요. 웹 서버와 작업자가 TRAINER_DIR을 "
                          "같은 경로로 함께 써야 해요.")
TIMEOUT_MESSAGE = ("학습이 제한 시간({seconds}초)을 넘겨서 멈췄어요. 더 작은 코퍼스로 학습하거나 "
                   "TRAINER_JOB_TIMEOUT을 늘려 주세요.")
EXIT_MESSAGE = "학습 프로세스가 코드 {code}(으)로 끝났어요. 아래 기록을 확인해 주세요."


class TrainingFailed(RuntimeError):
    """The training command failed (or was stopped); the message is the console's error."""


class TrainingWorker(Worker):
    """RQ's forking worker, with a job's heartbeat that lapses after a few missed beats: a worker killed
    mid-job has its job marked failed within ``3 × job_monitoring_interval + 5`` seconds of its last beat."""

    def get_heartbeat_ttl(self, job: Job) -> int:
        interval = int(self.job_monitoring_interval)
        if job.timeout and job.timeout > 0:
            interval = max(1, min(interval, int(job.timeout - self.current_job_working_time)))
        return interval + 2 * int(self.job_monitoring_interval) + 5


def run_training(folder: str, command_prefix: list[str] | None, arguments: list[str]) -> dict[str, Any]:
    """Run the training command in ``folder`` (the shared job folder) and return its return code; the
    command is ``command_prefix`` (the web's ``TRAINER_TRAIN_COMMAND``) or this worker's own
    ``python -m chatbot train``, then ``arguments``. TrainingFailed when it fails or is cancelled."""
    job = get_current_job()
    path = Path(folder)
    if not path.is_dir():
        raise _failed(job, MISSING_FOLDER_MESSAGE.format(path=path))
    if (path / CANCEL).exists():
        raise _failed(job, "학습을 시작하기 전에 취소됐어요.")
    command = [*(command_prefix or [sys.executable, "-m", "chatbot", "train"]), *arguments]
    parent = os.getppid()
    with (path / "log.txt").open("wb") as log:
        # The horse's process group (no session of its own): RQ's stop command kills the training too.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=path, env=training_environment())
    logger.info("Training job %s (request %s): pid %d: %s", path.name, (job.meta if job else {}).get("request_id"),
                process.pid, command)
    try:
        code, cancelled = _follow(job, process, path, parent)
    except JobTimeoutException:
        _end(process)
        write_json(path / "exit.json", {"returncode": process.returncode, "finished": now()})
        raise _failed(job, TIMEOUT_MESSAGE.format(seconds=job.timeout if job else "?")) from None
    finally:
        _end(process)
    write_json(path / "exit.json", {"returncode": code, "finished": now()})
    if cancelled:
        raise _failed(job, "학습이 취소됐어요.")
    if code != 0:
        final = _final(path)
        raise _failed(job, str(final.get("error") or EXIT_MESSAGE.format(code=code)),
                      [str(p) for p in final.get("problems") or []])
    if job is not None:
        job.meta["finished"] = now()
        with contextlib.suppress(Exception):
            job.save_meta()
    return {"returncode": code}


def _follow(job: Job | None, process: subprocess.Popen, path: Path, parent: int) -> tuple[int, bool]:
    """Copy the last progress line into the job's meta until the process ends; stop it when the job is
    cancelled in its folder (a cancel that came before the stop command could reach this horse), and
    kill this horse's process group when the worker that forked it is gone."""
    shown: dict[str, Any] | None = None
    cancelled = False
    while True:
        code = process.poll()
        last = _last_progress(path)
        if job is not None and last and last != shown:
            shown = last
            job.meta["progress"] = last
            with contextlib.suppress(Exception):  # a Redis hiccup must not stop the training
                job.save_meta()
        if code is not None:
            return code, cancelled
        if os.getppid() != parent:  # the worker died: its job is abandoned, so nothing of it may go on
            logger.error("Training job %s: the worker is gone; stopping the training", path.name)
            if os.getpgrp() == os.getpid():
                os.killpg(os.getpgrp(), signal.SIGKILL)
            process.kill()
        if not cancelled and (path / CANCEL).exists():
            cancelled = True
            _end(process)
        time.sleep(POLL_SECONDS)


def _end(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after a grace period, to a process that still runs; reaps it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(TERM_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _progress(path: Path) -> list[dict[str, Any]]:
    try:
        return progress_lines((path / "progress.jsonl").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []


def _last_progress(path: Path) -> dict[str, Any]:
    lines = _progress(path)
    return lines[-1] if lines else {}


def _final(path: Path) -> dict[str, Any]:
    """The progress file's ``failed`` line (its error and problems), if the command wrote one."""
    return next((p for p in reversed(_progress(path)) if p.get("stage") == "failed"), {})


def _failed(job: Job | None, message: str, problems: list[str] | None = None) -> TrainingFailed:
    """Record the console's error (and problems) in the job's meta, and the exception that fails the job."""
    if job is not None:
        job.meta.update(error=message, problems=problems or [], finished=now())
        with contextlib.suppress(Exception):
            job.save_meta()
    return TrainingFailed(message)

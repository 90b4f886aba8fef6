"""The queue backend (``TRAINER_QUEUE_URL`` set): a training job is an RQ job on ``TRAINER_QUEUE_NAME``
that ``python -m chatbot worker`` runs on any machine sharing ``TRAINER_DIR`` (``rq_job.py``).

Its state is Redis's, so every web machine reads the same job: RQ's status, the progress line the
worker copies into the job's meta, and the error it records there. A cancel from any web machine
cancels a queued job (``Job.cancel``) or sends RQ's stop command to the worker running it
(``send_stop_job_command``); ``cancel.json`` in the job folder records who and when, and the worker
also stops a training it sees cancelled there (a cancel that raced the job's start). Reading a job
runs RQ's ``StartedJobRegistry.cleanup`` first, so a job whose worker died reads as interrupted
(RQ marks it failed, ``AbandonedJobError``) rather than running forever. Once Redis has forgotten a
job (``KEEP_SECONDS`` after it ended), its folder's ``exit.json`` tells how it ended.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import current_app
from redis import Redis, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.results import Result

from chatbot.model_dir import ModelDir
from webui.errors import ApiError
from webui.trainer.backends import (
    ACTIVE,
    CANCEL,
    ENDED_MESSAGE,
    QUEUE,
    JobBackend,
    NotCancelled,
    Status,
    cancel_record,
    jobs_lock,
    queue_configured,
    read_progress,
    record_age,
    with_cancel,
)
from webui.trainer.storage import now, read_json, train_command, write_json

logger = logging.getLogger(__name__)

JOB_FUNCTION = "webui.trainer.rq_job.run_training"
KEEP_SECONDS = 30 * 24 * 3600  # how long Redis keeps an ended job (then its folder's files tell)
ENQUEUE_GRACE_SECONDS = 60  # a job.json whose RQ job is not there yet is "queued" this long
STOP_WAIT_SECONDS = 10.0  # how long a cancel waits for the worker to report the job stopped
WAITING = (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED, JobStatus.CREATED)
UNAVAILABLE_MESSAGE = "학습 작업 대기열(Redis)에 연결할 수 없어요. 잠시 뒤에 다시 시도해 주세요."
NOT_QUEUED_MESSAGE = "학습 작업을 대기열에 넣지 못했어요: {error}"
WORKER_LOST_MESSAGE = "학습하던 작업자(worker)가 멈춰서 학습이 중단됐어요. 다시 학습을 시작해 주세요."
LOST_MESSAGE = "작업 대기열에서 이 작업을 찾을 수 없어요. 다시 학습을 시작해 주세요."
TIMEOUT_MESSAGE = "학습이 제한 시간을 넘겨서 멈췄어요. 더 작은 코퍼스로 학습하거나 TRAINER_JOB_TIMEOUT을 늘려 주세요."
NO_MODEL_MESSAGE = "학습이 끝났지만 모델 폴더가 만들어지지 않았어요."


class QueueBackend(JobBackend):
    """RQ jobs in Redis, run by ``python -m chatbot worker``; jobs wait in the queue for a free worker."""

    name, one_at_a_time = QUEUE, False

    def start(self, path: Path, record: dict[str, Any]) -> None:
        """Put the job on the queue with the time limit; a Redis that cannot be reached fails the job with
        that error (in its ``exit.json``), as a command that cannot start fails a subprocess job."""
        prefix = train_command()
        configured = current_app.config["TRAINER_TRAIN_COMMAND"]
        arguments = record["command"][len(prefix):]
        with jobs_lock():  # a cancel that came before the job was queued is seen here
            if (path / CANCEL).exists():
                return
            try:
                queue().enqueue(JOB_FUNCTION, str(path), prefix if configured else None, arguments,
                                job_id=record["id"], job_timeout=int(current_app.config["TRAINER_JOB_TIMEOUT"]),
                                result_ttl=KEEP_SECONDS, failure_ttl=KEEP_SECONDS,
                                description=f"training job {record['id']} by {record.get('created_by')}",
                                meta={"request_id": record.get("request_id")})  # the request that started it
            except RedisError as exc:
                logger.error("Training job %s was not queued: %s", record["id"], exc)
                write_json(path / "exit.json", {"returncode": None, "finished": now(),
                                                "error": NOT_QUEUED_MESSAGE.format(error=exc)})
                return
        logger.info("Training job %s queued on %s by %s", record["id"], queue_name(), record.get("created_by"))

    def status(self, path: Path, record: dict[str, Any]) -> Status:
        """RQ's status of the job, with the progress and error its worker put in the meta (read from its
        folder when the queue has since been switched off)."""
        if not queue_configured():
            return _from_files(path, record)
        try:
            connection = redis_connection()
            job = Job.fetch(str(record.get("id")), connection=connection)
            rq_status = job.get_status(refresh=False)
            if rq_status == JobStatus.STARTED:  # its worker may have died: RQ fails a job whose heartbeat lapsed
                StartedJobRegistry(job.origin, connection=connection).cleanup()
                job.refresh()
                rq_status = job.get_status(refresh=False)
        except NoSuchJobError:
            return _from_files(path, record)
        except RedisError as exc:
            raise _unavailable(exc) from exc
        meta = job.meta or {}
        progress = meta.get("progress") if isinstance(meta.get("progress"), dict) else {}

        def state(status: str, error: str | None = None, problems: list[str] | None = None) -> Status:
            return Status(status=status, error=error, problems=problems or [], progress=progress,
                          finished=meta.get("finished") or _iso(job.ended_at), started=rq_status not in WAITING)

        if rq_status in WAITING:
            return state("queued")
        if rq_status == JobStatus.STARTED:
            return state("running")
        if rq_status == JobStatus.FINISHED:
            return state("done") if ModelDir(path / "model").exists() else state("failed", NO_MODEL_MESSAGE)
        if rq_status in (JobStatus.STOPPED, JobStatus.CANCELED):
            return state("cancelled")
        result = job.latest_result()
        reason = (result.exc_string or "") if result is not None and result.type == Result.Type.FAILED else ""
        if meta.get("error"):
            return state("failed", str(meta["error"]), [str(p) for p in meta.get("problems") or []])
        if "AbandonedJobError" in reason or "Work-horse terminated unexpectedly" in reason:
            return state("interrupted", WORKER_LOST_MESSAGE)
        if "JobTimeoutException" in reason:
            return state("failed", TIMEOUT_MESSAGE)
        last_line = reason.strip().splitlines()[-1] if reason.strip() else "알 수 없는 오류"
        return state("failed", f"학습 작업이 실패했어요: {last_line}")

    def cancel(self, path: Path, record: dict[str, Any], cancelled_by: str) -> None:
        """Cancel a queued job, or send RQ's stop command to the worker running it, from any web machine;
        then wait a few seconds for the worker to report it stopped."""
        job_id = str(record.get("id"))
        try:
            with jobs_lock():
                if with_cancel(path, self.status(path, record)) not in ACTIVE:
                    raise NotCancelled(ENDED_MESSAGE)
                if not cancel_record(path):  # a second cancel keeps the first one's name and time
                    write_json(path / CANCEL, {"cancelled_by": cancelled_by, "cancelled_at": now()})
                self._stop(job_id)
            logger.info("Training job %s cancelled by %s", job_id, cancelled_by)
            deadline = time.monotonic() + STOP_WAIT_SECONDS
            while with_cancel(path, self.status(path, record)) in ACTIVE and time.monotonic() < deadline:
                time.sleep(0.1)
        except RedisError as exc:
            raise _unavailable(exc) from exc

    def _stop(self, job_id: str) -> None:
        connection = redis_connection()
        try:
            job = Job.fetch(job_id, connection=connection)
        except NoSuchJobError:
            return  # not queued yet: start() sees cancel.json
        if job.get_status() in WAITING:
            try:
                job.cancel()
                return
            except InvalidJobOperation:  # cancelled meanwhile
                return
        try:
            send_stop_job_command(connection, job_id)
        except InvalidJobOperation:  # taken by a worker but not running yet: its horse sees cancel.json
            logger.info("Training job %s is not running yet; its worker will see the cancel", job_id)


def redis_connection() -> Redis:
    """A client for ``TRAINER_QUEUE_URL``, one per app and URL (its connection pool is shared by threads)."""
    url = str(current_app.config["TRAINER_QUEUE_URL"]).strip()
    clients = current_app.extensions.setdefault("trainer_queue", {})
    if url not in clients:
        try:
            clients[url] = Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=5.0)
        except ValueError as exc:  # not a redis:// URL: as unreachable as a Redis that is down
            raise RedisConnectionError(f"TRAINER_QUEUE_URL is not a Redis URL: {exc}") from exc
    return clients[url]


def queue_name() -> str:
    return str(current_app.config["TRAINER_QUEUE_NAME"] or "training")


def queue() -> Queue:
    """The RQ queue of training jobs."""
    return Queue(queue_name(), connection=redis_connection())


def _from_files(path: Path, record: dict[str, Any]) -> Status:
    """A job Redis does not have: still being queued, forgotten after ``KEEP_SECONDS`` (its ``exit.json``
    tells how it ended), or lost (Redis emptied)."""
    ended = read_json(path / "exit.json")
    progress = read_progress(path / "progress.jsonl")
    last = progress[-1] if progress else {}
    if isinstance(ended, dict):
        finished = ended.get("finished")
        if ended.get("returncode") == 0 and ModelDir(path / "model").exists():
            return Status(status="done", error=None, problems=[], progress=last, finished=finished, started=True)
        final = next((p for p in reversed(progress) if p.get("stage") == "failed"), {})
        error = final.get("error") or ended.get("error") or LOST_MESSAGE
        return Status(status="failed", error=str(error), problems=[str(p) for p in final.get("problems") or []],
                      progress=last, finished=finished, started=ended.get("returncode") is not None)
    young = record_age(record) < ENQUEUE_GRACE_SECONDS
    return Status(status="queued" if young else "interrupted", error=None if young else LOST_MESSAGE,
                  problems=[], progress=last, finished=None, started=False)


def _unavailable(exc: Exception) -> ApiError:
    logger.error("The training queue's Redis cannot be reached: %s", exc)
    return ApiError(503, "queue_unavailable", UNAVAILABLE_MESSAGE)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


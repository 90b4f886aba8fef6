"""Helpers for the training-queue tests: the real Redis (a db of its own, and only these tests' keys
removed afterwards), real ``python -m chatbot worker`` processes, and two console apps ("two web
machines") that share one database, one ``TRAINER_DIR`` and one queue."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.webui.trainer_support import add_users, console_config

ROOT = Path(__file__).resolve().parents[2]
QUEUE_URL = os.environ.get("TEST_QUEUE_URL", "redis://127.0.0.1:6379/9")  # a db the other tests do not use


def redis_or_skip() -> Any:
    """A client of the test Redis; the test is skipped, saying why, where none answers."""
    import redis

    client = redis.Redis.from_url(QUEUE_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {QUEUE_URL} for the training queue ({exc}); .ci/run starts one")
    return client


@dataclass
class TrainingQueue:
    """One test's queue: its name (unique) and the workers started on it."""

    client: Any
    name: str = field(default_factory=lambda: f"test-training-{secrets.token_hex(4)}")
    workers: list[subprocess.Popen] = field(default_factory=list)

    def config(self, tmp_path: Path, **extra: Any) -> dict[str, Any]:
        """A console app's settings on this queue, with a database and trainer folder shared by every app
        the test makes (machines behind one address)."""
        return console_config(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'shared.db'}",
                              TRAINER_QUEUE_URL=QUEUE_URL, TRAINER_QUEUE_NAME=self.name, **extra)

    def start_worker(self, log: Path, *extra: str) -> subprocess.Popen:
        """``python -m chatbot worker`` on this queue (a heartbeat every 2 s), its output in ``log``."""
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                                          if p))
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "chatbot", "worker", "--url", QUEUE_URL, "--queue", self.name,
                 "--name", f"{self.name}-w{len(self.workers)}", "--heartbeat", "2", *extra],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.workers.append(process)
        return process

    def stop_workers(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # warm shutdown: after the job under way
            try:
                process.wait(timeout=1.5)
            except subprocess.TimeoutExpired:  # a job runs: a second signal (RQ ignores one within 1 s) stops it
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def remove_keys(self) -> None:
        """Delete this test's keys only: its queue's and workers' (named after the queue) and its jobs'."""
        ours = [key for key in self.client.scan_iter(match="rq:*", count=1000)
                if self.name.encode() in key or any(job_id.encode() in key for job_id in self.job_ids())]
        if ours:
            self.client.delete(*ours)
        for members in ("rq:queues", "rq:workers"):
            stale = [m for m in self.client.smembers(members) if self.name.encode() in m]
            if stale:
                self.client.srem(members, *stale)

    def job_ids(self) -> list[str]:
        return getattr(self, "_job_ids", [])

    def remember(self, job_id: str) -> str:
        self._job_ids = [*self.job_ids(), job_id]
        return job_id


def training_queue() -> Iterator[TrainingQueue]:
    """A queue of its own on the test Redis (for a fixture); its workers stopped and its keys removed afterwards."""
    q = TrainingQueue(redis_or_skip())
    try:
        yield q
    finally:
        q.stop_workers()
        q.remove_keys()


def apps(make_app: Callable[..., Flask], config: dict[str, Any], count: int = 2) -> list[Flask]:
    """``count`` console apps with the same settings (web machines); the users made once, in the shared database."""
    made = [make_app(**config) for _ in range(count)]
    add_users(made[0])
    return made


def rq_job(queue: TrainingQueue, job_id: str) -> Any:
    """The RQ job, as Redis has it now."""
    from rq.job import Job

    return Job.fetch(job_id, connection=queue.client)


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)

"""The chat server as a subprocess for load runs: gunicorn or waitress, its own database and instance
folder, readiness, a SIGKILL of its whole process group, a restart on the same port.

Used by ``benchmarks/chat_throughput.py`` and ``tests/load/``; builds on ``benchmarks/server_process.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import REPO_ROOT
from benchmarks.server_process import HOST, free_port, log_tail, proc_stats, process_tree, wait_until_ready

# Load runs measure the chat path, not the per-client limits that another part of the app adds.
LOAD_ENV = {"CHATBOT_RATELIMIT_ENABLED": "0", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


@dataclass
class ChatServer:
    """``python -m chatbot serve`` on ``port`` with ``DATABASE_URL`` and ``CHATBOT_INSTANCE_PATH`` set.

    ``workers`` above 1 is gunicorn (gthread workers); 1 is waitress. ``command`` replaces the whole
    command line (e.g. gunicorn with ``webui/gunicorn_conf.py``); ``{port}`` in it is filled in."""

    model: Path
    database_url: str
    workdir: Path
    workers: int = 2
    threads: int = 4
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] | None = None
    startup_timeout: float = 120.0
    process: subprocess.Popen | None = None
    health: dict[str, Any] = field(default_factory=dict)
    starts: int = 0

    @property
    def instance_path(self) -> Path:
        return self.workdir / "instance"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"server-{self.starts}.log"

    def argv(self) -> list[str]:
        if self.command:
            return [part.format(port=self.port) for part in self.command]
        return [sys.executable, "-m", "chatbot", "serve", "--model", str(self.model), "--host", HOST,
                "--port", str(self.port), "--workers", str(self.workers), "--threads", str(self.threads)]

    def start(self) -> dict[str, Any]:
        """Start the server (again, on the same port and database) and wait for ``/healthz``; its health."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the server is already running")
        self.starts += 1
        self.instance_path.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **LOAD_ENV, **self.env, "DATABASE_URL": self.database_url,
               "CHATBOT_INSTANCE_PATH": str(self.instance_path)}
        with self.log_path.open("wb") as log_file:
            # Its own session: the master and its workers form one process group that kill() ends at once.
            self.process = subprocess.Popen(self.argv(), cwd=REPO_ROOT, env=env, stdout=log_file,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        try:
            self.health = wait_until_ready(self.process, self.port, self.startup_timeout)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n--- server log ---\n{self.log_tail()}") from exc
        return self.health

    def pids(self) -> list[int]:
        """The master and its workers."""
        return process_tree(self.process.pid) if self.process is not None else []

    def stats(self) -> dict[str, Any]:
        """CPU seconds, memory, processes and threads of the server's process tree so far."""
        return proc_stats(self.process.pid) if self.process is not None else {}

    def kill(self) -> None:
        """SIGKILL the whole process group (master and workers): a crash, no shutdown code runs."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self._wait_group_gone()

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (gunicorn finishes the requests in flight), then SIGKILL the group after ``timeout``."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        code = self.process.returncode
        try:  # workers orphaned by a dead master must not outlive the run
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self._wait_group_gone()
        return code

    def _wait_group_gone(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    def __enter__(self) -> ChatServer:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def promote_model(new_model: Path, served: Path) -> str:
    """Put ``new_model`` live at ``served`` as a trainer does: ``python -m chatbot promote NEW --model
    SERVED`` (validates, copies into a release folder, swaps the symlink atomically); its output line."""
    done = subprocess.run([sys.executable, "-m", "chatbot", "promote", str(new_model), "--model", str(served)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    if done.returncode != 0:
        raise RuntimeError(f"promote failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def stored_user_messages(database_url: str) -> Counter[tuple[str, str]]:
    """``(conversation_id, text)`` of every user message in the database, counted, read directly."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT conversation_id, text FROM messages WHERE role = 'user'")).all()
    finally:
        engine.dispose()
    return Counter((conversation_id, body) for conversation_id, body in rows)

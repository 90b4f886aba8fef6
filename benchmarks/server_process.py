"""The server under test, as a subprocess: a free port, readiness, CPU and memory, shutdown.

Used by ``benchmarks/api_latency.py``; Linux ``/proc`` gives the process figures (empty elsewhere).
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HOST = "127.0.0.1"  # traffic never leaves this machine


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def redact(url: str) -> str:
    """A database URL without its password, for the report."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def check_database_driver(url: str) -> None:
    """Fail early, with the fix, when the URL needs a PostgreSQL driver that is not installed."""

    scheme = urlsplit(url).scheme
    if not scheme.startswith("postgres"):
        return
    module = "psycopg" if scheme.endswith("+psycopg") else "psycopg2"
    if importlib.util.find_spec(module) is None:
        package = "psycopg[binary]" if module == "psycopg" else "psycopg2-binary"
        raise SystemExit(f"error: {redact(url)} needs the {module} driver, which is not installed in "
                         f"{sys.executable}: pip install {package} (or leave --database-url out to use SQLite)")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (gunicorn workers), Linux /proc only."""
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        try:
            queue.extend(int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split())
        except (OSError, ValueError):
            pass
    return pids


def proc_stats(pid: int) -> dict[str, Any]:
    """The server's processes, OS threads, memory and CPU seconds so far, summed over the process
    tree (Linux /proc; empty elsewhere)."""
    stats: dict[str, Any] = {}
    for process in process_tree(pid):
        try:
            for line in Path(f"/proc/{process}/status").read_text().splitlines():
                if line.startswith("Threads:"):
                    stats["os_threads"] = stats.get("os_threads", 0) + int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    stats["rss_mib"] = round(stats.get("rss_mib", 0) + int(line.split()[1]) / 1024, 1)
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            stats["cpu_seconds"] = stats.get("cpu_seconds", 0) + cpu
            stats["processes"] = stats.get("processes", 0) + 1
        except (OSError, ValueError, IndexError):
            pass
    return stats


def wait_until_ready(server: subprocess.Popen, port: int, timeout: float) -> dict[str, Any]:
    """Poll ``/healthz`` until it answers 200; raise RuntimeError if the server dies or takes too long."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode} before it was ready")
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            body = response.read()
            if response.status == 200:
                return json.loads(body)
            last = f"{response.status} {body[:200]!r}"
        except (OSError, http.client.HTTPException) as exc:
            last = f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
        time.sleep(0.25)
    raise RuntimeError(f"/healthz was not ready after {timeout:.0f} s (last: {last})")


def stop(server: subprocess.Popen) -> int | None:
    """Terminate the server, killing it if it does not stop within 10 s."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    return server.returncode


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def http_json(port: int, method: str, path: str, body: Any = None, timeout: float = 10.0) -> tuple[int, Any]:
    """One request on a new connection (so each call may reach another worker): ``(status, decoded JSON)``, or
    the first 300 characters of a body that is not JSON. OSError and HTTPException reach the caller."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        headers = {"Accept": "application/json", **({"Content-Type": "application/json"} if payload else {})}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw[:300].decode("utf-8", "replace")


def fetch_json(port: int, path: str, timeout: float = 10.0) -> tuple[int, Any]:
    """``GET path``: ``http_json``'s answer."""
    return http_json(port, "GET", path, timeout=timeout)

"""nginx in front of the chat server, configured with docs/deployment.md's own server block, for the
issue 23 load test: what production puts between clients and gunicorn is what the test measures."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from benchmarks.load_client import HOST
from benchmarks.server_process import fetch_json, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT_DOC = REPO_ROOT / "docs" / "deployment.md"
# The block under this heading is the documented (and tested) nginx configuration.
HEADING = "### What sits in front: nginx"
TEMP_FOLDERS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str:
    """``$NGINX_BINARY``, else nginx on the PATH or in /usr/sbin; a skip without one (a failure under ``CI=true``,
    where ``.ci/run`` installs Debian's nginx)."""
    found = os.environ.get("NGINX_BINARY") or shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found:
        return found
    reason = "no nginx binary (apt-get install nginx, or set NGINX_BINARY to one)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true needs nginx: {reason}", pytrace=False)
    pytest.skip(reason)


def documented_server_block() -> str:
    """The ```nginx block of docs/deployment.md's section on nginx."""
    text = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    section = text.split(HEADING, 1)[1]
    match = re.search(r"```nginx\n(.*?)```", section, re.S)
    assert match, f"docs/deployment.md has no ```nginx block under {HEADING!r}"
    return match.group(1)


def seconds_of(block: str, directive: str) -> float:
    """The value of a timeout directive in the ``server`` block (not the ``upstream`` one, which has a
    ``keepalive_timeout`` of its own), e.g. ``client_header_timeout 10s;``."""
    server_part = block.split("\nserver {", 1)[-1]
    match = re.search(rf"^\s*{directive}\s+(\d+)s;", server_part, re.M)
    assert match, f"the documented nginx block sets no {directive} in seconds"
    return float(match.group(1))


def local_server_block(block: str, listen_port: int, app_port: int) -> str:
    """The documented block with this machine's addresses: one upstream server (the test's gunicorn),
    plain http on ``listen_port`` (no certificate lines)."""
    lines, upstream_done = [], False
    for line in block.splitlines():
        stripped = line.strip()
        if re.match(r"server\s+\S+:\d+;", stripped):
            if not upstream_done:
                lines.append(f"    server {HOST}:{app_port};")
                upstream_done = True
            continue
        if stripped.startswith("listen "):
            lines.append(f"    listen {HOST}:{listen_port};")
        elif not stripped.startswith("ssl_certificate"):
            lines.append(line)
    return "\n".join(lines)


def write_config(folder: Path, server_block: str) -> Path:
    """A whole nginx.conf around ``server_block``, with every file inside ``folder``."""
    for name in TEMP_FOLDERS:
        (folder / name).mkdir(parents=True, exist_ok=True)
    temp_paths = "\n".join(f"    {name}_temp_path {folder / name};" for name in TEMP_FOLDERS)
    user = "user root;\n" if os.geteuid() == 0 else ""  # as root, workers would run as nobody
    config = folder / "nginx.conf"
    config.write_text(f"""{user}daemon off;
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} info;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp_paths}
{server_block}
}}
""", encoding="utf-8")
    return config


class Nginx:
    """nginx on a free port of 127.0.0.1 in front of the chat server on ``app_port``."""

    def __init__(self, binary: str, folder: Path, app_port: int):
        self.folder = folder
        self.port = free_port()
        self.block = documented_server_block()
        self.config = write_config(folder, local_server_block(self.block, self.port, app_port))
        self.process = subprocess.Popen([binary, "-p", str(folder), "-c", str(self.config), "-e", "stderr"],
                                        stdout=subprocess.DEVNULL, stderr=(folder / "stderr.log").open("wb"),
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        self._wait_until_ready()

    def _wait_until_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                status, _ = fetch_json(self.port, "/healthz", timeout=5)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"nginx did not answer /healthz within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        logs = [self.folder / "stderr.log", self.folder / "error.log"]
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in logs if p.exists())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # nginx's fast shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

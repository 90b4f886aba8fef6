"""SIGHUP to a real ``python -m chatbot serve`` (waitress, one process) reloads the model at once."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from webui.releases import model_version

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int) -> dict | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        return json.loads(conn.getresponse().read())
    except OSError:
        return None
    finally:
        conn.close()


def test_sighup_reloads_the_model_in_a_running_server(tiny_model_dir: Path, tmp_path: Path):
    releases = tmp_path / "models" / "releases"
    first, second = releases / "one", releases / "two"
    shutil.copytree(tiny_model_dir, first)
    shutil.copytree(tiny_model_dir, second)
    meta = json.loads((second / "meta.json").read_text(encoding="utf-8"))
    (second / "meta.json").write_text(json.dumps({**meta, "created_at": "2025-02-01T00:00:00+00:00"}))
    served = tmp_path / "models" / "default"
    os.symlink("releases/one", served)
    port = _free_port()
    # MODEL_CHECK_SECONDS=0 turns the watching off, so only the signal can bring the new model in.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'hup.db'}", "MODEL_CHECK_SECONDS": "0",
           "SECRET_KEY": "sighup test"}
    command = [sys.executable, "-m", "chatbot", "serve", "--model", str(served), "--vision-model",
               str(tmp_path / "no-vision"), "--host", "127.0.0.1", "--port", str(port), "--threads", "2"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        health, deadline = None, time.monotonic() + 60
        while health is None and time.monotonic() < deadline:
            assert server.poll() is None, server.stdout.read().decode(errors="replace")
            health = _health(port)
            time.sleep(0.2)
        assert health is not None and health["model"]["version"] == model_version(first)
        tmp_link = served.with_name(".link")
        os.symlink("releases/two", tmp_link)
        os.replace(tmp_link, served)
        time.sleep(0.3)
        assert _health(port)["model"]["version"] == model_version(first)  # watching is off
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _health(port)["model"]["version"] != model_version(second):
            time.sleep(0.1)
        health = _health(port)
        assert health["model"]["version"] == model_version(second) and health["status"] == "ok"
        assert server.poll() is None  # SIGHUP did not stop the server
    finally:
        server.terminate()
        server.wait(timeout=30)

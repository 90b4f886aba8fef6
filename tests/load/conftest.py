"""Fixtures of the load suite: trained models, a database of its own, and servers that always stop.

The suite is CI-only (``-m load``, excluded by default): each test runs the real server (gunicorn,
2 workers) on a free port of 127.0.0.1 with its own database and instance folder, drives it with
``benchmarks/load_client.py`` for ``LOAD_SECONDS`` (default 60) and then counts what the database
holds. ``test_idle_connections.py`` runs waitress (``serve``) and gunicorn behind nginx (``serve-prod``
with docs/deployment.md's server block) against 150 idle connections. With ``TEST_DATABASE_URL`` set
(a PostgreSQL server), each test gets a fresh database there instead of a SQLite file.
``test_two_apps_scenario.py`` runs two such servers and a training worker on PostgreSQL and Redis (its own
fixtures and ``scenario_support.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # benchmarks/ is a folder of scripts, importable from the checkout
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.chat_server import ChatServer  # noqa: E402

CORPUS_DIR = REPO_ROOT / "data" / "corpus"
TRAIN_TIMEOUT = 300


def train(out: Path, seed: int = 0) -> Path:
    """``python -m chatbot train`` on the project's corpus, as a trainer runs it."""
    command = [sys.executable, "-m", "chatbot", "train", "--data", str(CORPUS_DIR), "--out", str(out),
               "--seed", str(seed)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=TRAIN_TIMEOUT,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, f"training failed:\n{done.stderr[-2000:]}"
    return out


@pytest.fixture(scope="session")
def default_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``models/default`` when it is trained, else the default model trained into a temporary folder."""
    served = REPO_ROOT / "models" / "default"
    if (served / "pipeline.yaml").is_file():
        return served.resolve()
    return train(tmp_path_factory.mktemp("load_model") / "default")


@pytest.fixture(scope="session")
def second_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another model trained from the same corpus with another seed: a new version to promote."""
    return train(tmp_path_factory.mktemp("load_model_b") / "retrained", seed=1)


@pytest.fixture
def database_url(database_uri: str) -> str:
    """The server's database: the suite's ``database_uri`` (a SQLite file in tmp_path, or with
    ``TEST_DATABASE_URL`` a fresh PostgreSQL schema, dropped afterwards), with the psycopg 3 driver named."""
    from webui.database import fix_database_uri

    return fix_database_uri(database_uri)


@pytest.fixture
def start_server(tmp_path: Path, database_url: str, default_model: Path) -> Iterator[Callable[..., ChatServer]]:
    """Start a gunicorn server (2 workers × 4 threads by default) on a free port; every one started
    is stopped when the test ends, whatever happened."""
    servers: list[ChatServer] = []

    def start(model: Path | None = None, **options) -> ChatServer:
        server = ChatServer(model or default_model, database_url, tmp_path / f"server{len(servers)}", **options)
        servers.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()

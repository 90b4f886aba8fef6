"""Where the trainer console keeps its files, and its settings.

Everything lives on disk under ``TRAINER_DIR`` (default ``<instance>/trainer``): ``corpora/<id>/`` and
``jobs/<id>/``. No database table: every gunicorn worker, and a restarted server, reads the same
state, and a training subprocess can write its progress there without knowing about the app.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import abort, current_app

ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


def trainer_dir() -> Path:
    """``TRAINER_DIR`` (default ``trainer`` in the instance folder)."""
    return Path(current_app.config["TRAINER_DIR"])


def max_upload_bytes() -> int:
    """The largest corpus file the console takes (``TRAINER_MAX_UPLOAD_BYTES``, default 5 MB)."""
    return int(current_app.config["TRAINER_MAX_UPLOAD_BYTES"])


def cancel_grace_seconds() -> float:
    """How long a cancelled job's processes get to end after SIGTERM before SIGKILL
    (``TRAINER_CANCEL_GRACE_SECONDS``, default 5)."""
    return float(current_app.config["TRAINER_CANCEL_GRACE_SECONDS"])


def base_corpus() -> Path | None:
    """The corpus a job may add to an upload (``TRAINER_BASE_CORPUS``, default the checkout's data/corpus);
    None when it is not configured or does not exist."""
    configured = current_app.config["TRAINER_BASE_CORPUS"]
    if not configured:
        return None
    path = Path(str(configured))
    return path if path.exists() else None


def train_command() -> list[str]:
    """The command before ``--data``: ``TRAINER_TRAIN_COMMAND`` (a list of arguments), else this Python's
    ``-m chatbot train``. Training runs in its own process: the web app never imports ``training``."""
    configured = current_app.config["TRAINER_TRAIN_COMMAND"]
    if configured:
        return [str(arg) for arg in configured]
    return [sys.executable, "-m", "chatbot", "train"]


def new_id() -> str:
    """A new corpus or job id: the UTC time (so ids sort by age) and 6 random hex digits."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def folder(kind: str, item_id: str) -> Path:
    """``TRAINER_DIR/<kind>/<id>`` for an id of the right shape that exists; a 404 otherwise, so an id
    from a URL can never name a path outside the trainer's folder."""
    if not ID.match(item_id):
        abort(404)
    path = trainer_dir() / kind / item_id
    if not path.is_dir():
        abort(404)
    return path


def ids(kind: str) -> list[str]:
    """The ids under ``TRAINER_DIR/<kind>``, newest first."""
    root = trainer_dir() / kind
    if not root.is_dir():
        return []
    return sorted((p.name for p in root.iterdir() if p.is_dir() and ID.match(p.name)), reverse=True)


def read_json(path: Path) -> Any:
    """A JSON file's content, or None when it is missing or unreadable (a half-written file never is:
    ``write_json`` renames into place)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically (a temporary file renamed into place)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def now() -> str:
    """The current UTC time as ISO 8601 seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

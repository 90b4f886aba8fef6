"""One promotion for the admin API and the trainer console: the atomic release swap, then a reload here.

Both callers put a trained directory live the same way, so a fix to one is a fix to both; each
caller decides only which folder it may promote (the admin API: a path inside the allowed folders;
the console: a finished job's own model)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import current_app

from webui.errors import ApiError
from webui.lifecycle import ReloadError, get_holder
from webui.releases import ReleaseError, promote

logger = logging.getLogger(__name__)

NO_MODEL_PATH_MESSAGE = "이 서버는 모델 경로 없이 실행 중이라 모델을 교체할 수 없습니다."


def require_model_path() -> str:
    """The served model path, or a 409 when the server runs without one (a bot given in its config)."""
    holder = get_holder()
    if holder.model_dir is None:
        raise ApiError(409, "no_model_path", NO_MODEL_PATH_MESSAGE)
    return holder.model_dir


def promote_and_reload(folder: Path) -> dict[str, Any]:
    """Make ``folder`` the served model (validated, copied into a release, link swapped, old releases
    pruned) and load it in this process; other processes notice the new link by themselves.

    Returns the holder's state with ``previous_version``, ``release`` and ``pruned``. Raises ApiError:
    409 without a model path, 400 when the model is refused (the live one is unchanged), 422 when it
    was promoted but did not load here (the previous bot keeps answering)."""
    served = require_model_path()
    holder = get_holder()
    keep = int(current_app.config["MODEL_KEEP_RELEASES"])
    previous = holder.served.version
    try:
        done = promote(folder, served, keep)
    except ReleaseError as exc:
        logger.warning("Promotion of %s refused: %s", folder, exc)
        raise ApiError(400, "invalid_model", f"이 폴더의 모델은 승격할 수 없습니다: {exc}") from exc
    try:
        holder.reload()
    except ReloadError as exc:
        raise load_failed(exc) from exc
    return {**holder.state(), "previous_version": previous, "release": done.release.name,
            "pruned": list(done.pruned)}


def load_failed(exc: Exception) -> ApiError:
    """The 422 for a model that did not load: the previous one is still served."""
    return ApiError(422, "model_load_failed", f"모델을 불러오지 못했습니다. 이전 모델로 계속 응답합니다. ({exc})")

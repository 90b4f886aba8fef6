"""Admin JSON API for the served model: its state, reload now, promote a trained directory (admins only)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request

from webui.auth import role_required
from webui.errors import ApiError
from webui.lifecycle import ReloadError, get_holder
from webui.promotion import load_failed, promote_and_reload, require_model_path
from webui.releases import list_releases

logger = logging.getLogger(__name__)

bp = Blueprint("admin_api", __name__, url_prefix="/api/admin")


@bp.get("/model")
@role_required("admin")
def model_state() -> tuple[Response, int]:
    """What this process serves, the last load error, and the release folders.
    ---
    get:
      summary: 이 프로세스가 쓰는 모델, 마지막 불러오기 오류, 릴리스 폴더
      security: [{session: []}, {token: []}]
      responses:
        200: {description: "모델 상태", json: AdminModel}
        403: Forbidden
    """
    holder = get_holder()
    state = holder.state()
    state.update(check_seconds=holder.check_seconds, loading=holder.loading, last_error=holder.last_error,
                 releases=list_releases(holder.model_dir) if holder.model_dir else [])
    return jsonify(state), 200


@bp.post("/models/reload")
@role_required("admin")
def reload_model() -> tuple[Response, int]:
    """Load the model at the served path now, in this process (other processes notice a change by themselves).
    ---
    post:
      summary: 모델을 지금 이 프로세스에 다시 불러와요
      description: 다른 프로세스는 바뀐 모델을 스스로 알아채요.
      security: [{session: []}, {token: []}]
      responses:
        200: {description: "불러온 모델", json: Reloaded}
        422: UnprocessableContent
    """
    holder = get_holder()
    previous = holder.served.version
    try:
        holder.reload()
    except ReloadError as exc:
        raise load_failed(exc) from exc
    return jsonify({**holder.state(), "previous_version": previous}), 200


@bp.post("/models/promote")
@role_required("admin")
def promote_model() -> tuple[Response, int]:
    """Promote ``{"path": DIR}`` (inside the models folder or ``TRAINED_MODELS_DIR``), then reload here.
    ---
    post:
      summary: 학습한 모델 폴더를 승격하고 이 프로세스에 불러와요
      security: [{session: []}, {token: []}]
      requestBody: PromoteRequest
      responses:
        200: {description: "승격한 모델", json: Promoted}
        409: {description: "이 서버에는 모델 경로가 없어요(no_model_path; 설정의 BOT으로 시작한 서버).", json: Error}
        422: UnprocessableContent
    """
    served = require_model_path()
    payload = request.get_json(silent=True)
    path = payload.get("path") if isinstance(payload, dict) else None
    if not isinstance(path, str) or not path.strip():
        raise ApiError(400, "missing_path", '승격할 모델 폴더(path)를 문자열로 보내 주세요. 예: {"path": "models/new"}')
    return jsonify(promote_and_reload(allowed_model_path(path, served))), 200


def allowed_model_path(path: str, served: str) -> Path:
    """``path`` resolved, when it lies inside the served path's folder (``models/``) or ``TRAINED_MODELS_DIR``;
    a 400 otherwise, so the API cannot be pointed at arbitrary folders of the machine."""
    roots = [Path(os.path.abspath(served)).parent]
    if current_app.config["TRAINED_MODELS_DIR"]:
        roots.append(Path(str(current_app.config["TRAINED_MODELS_DIR"])))
    base = roots[0]
    candidate = Path(os.path.realpath(path if os.path.isabs(path) else base.parent / path))
    for root in roots:
        real_root = os.path.realpath(root)
        if os.path.commonpath([real_root, candidate]) == real_root and str(candidate) != real_root:
            if not candidate.is_dir():
                raise ApiError(400, "invalid_path", "모델 폴더를 찾을 수 없습니다. 경로를 확인해 주세요.")
            return candidate
    allowed = ", ".join(str(r) for r in roots)
    raise ApiError(400, "invalid_path", f"모델 폴더는 다음 위치 안에 있어야 합니다: {allowed}")


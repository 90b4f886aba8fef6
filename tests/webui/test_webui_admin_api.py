"""The admin model API: only admins; state, reload now, promote a directory from the allowed folders."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from webui import create_app
from webui.auth import create_user
from webui.extensions import db
from webui.releases import live_release, model_version

FAST_HASH = "pbkdf2:sha256:1000"
ENDPOINTS = [("get", "/api/admin/model"), ("post", "/api/admin/models/reload"), ("post", "/api/admin/models/promote")]


def variant(tiny_model_dir: Path, dest: Path, day: int) -> Path:
    """A copy of the tiny model with its own training time, hence its own version."""
    shutil.copytree(tiny_model_dir, dest)
    meta = json.loads((dest / "meta.json").read_text(encoding="utf-8"))
    (dest / "meta.json").write_text(json.dumps({**meta, "created_at": f"2025-03-{day:02d}T00:00:00+00:00"}))
    return dest


@pytest.fixture
def setup(tmp_path: Path, tiny_model_dir: Path):
    models = tmp_path / "models"
    first = variant(tiny_model_dir, models / "releases" / "first", 1)
    served = models / "default"
    os.symlink("releases/first", served)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "PASSWORD_HASH_METHOD": FAST_HASH,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'admin.db'}", "MODEL_DIR": str(served),
                      "MODEL_CHECK_SECONDS": 0, "UPLOAD_FOLDER": str(tmp_path / "uploads")})
    with app.app_context():
        create_user("관리자", "관리자비밀번호1", role="admin")
        create_user("사용자", "사용자비밀번호1")
        db.session.commit()
    return {"app": app, "models": models, "served": served, "first": first, "tiny": tiny_model_dir}


def login(app, username: str, password: str):
    client = app.test_client()
    response = client.post("/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return client


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_admin_endpoints_answer_401_to_guests_and_403_to_plain_users(setup, method, path):
    guest = getattr(setup["app"].test_client(), method)(path, json={})
    assert guest.status_code == 401 and guest.get_json()["error"]["code"] == "login_required"
    user = getattr(login(setup["app"], "사용자", "사용자비밀번호1"), method)(path, json={})
    assert user.status_code == 403 and user.get_json()["error"]["code"] == "forbidden"


def test_an_admin_sees_the_model_and_reloads_it_now(setup):
    admin = login(setup["app"], "관리자", "관리자비밀번호1")
    state = admin.get("/api/admin/model")
    assert state.status_code == 200
    assert state.get_json()["version"] == model_version(setup["first"]) and state.get_json()["degraded"] is False
    assert state.get_json()["releases"] == [{"version": "first", "live": True}]
    second = variant(setup["tiny"], setup["models"] / "releases" / "second", 2)
    link = setup["served"].with_name(".link")
    os.symlink("releases/second", link)
    os.replace(link, setup["served"])  # watching is off in this app: only the reload brings it in
    reloaded = admin.post("/api/admin/models/reload")
    assert reloaded.status_code == 200
    assert reloaded.get_json()["version"] == model_version(second)
    assert reloaded.get_json()["previous_version"] == model_version(setup["first"])
    serving = model_version(second)
    (second / "pipeline.yaml").write_text("version: 1\npipeline: [", encoding="utf-8")
    failed = admin.post("/api/admin/models/reload")
    assert failed.status_code == 422 and failed.get_json()["error"]["code"] == "model_load_failed"
    assert admin.get("/healthz").get_json()["model"]["version"] == serving  # still served


def test_an_admin_promotes_a_directory_inside_the_models_folder(setup):
    admin = login(setup["app"], "관리자", "관리자비밀번호1")
    incoming = variant(setup["tiny"], setup["models"] / "incoming" / "v2", 2)
    response = admin.post("/api/admin/models/promote", json={"path": "models/incoming/v2"})
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["version"] == model_version(incoming) == data["release"]
    assert data["previous_version"] == model_version(setup["first"])
    assert live_release(setup["served"]).name == model_version(incoming)
    assert admin.get("/healthz").get_json()["model"]["version"] == model_version(incoming)


@pytest.mark.parametrize(("body", "code"), [
    ({}, "missing_path"),
    ({"path": 42}, "missing_path"),
    ({"path": "/etc"}, "invalid_path"),
    ({"path": "models/../outside"}, "invalid_path"),
    ({"path": "models/no-such-folder"}, "invalid_path"),
    ({"path": "models/broken"}, "invalid_model"),
])
def test_promote_refuses_paths_outside_the_allowed_folders_and_broken_models(setup, tmp_path, body, code):
    variant(setup["tiny"], tmp_path / "outside", 3)
    (setup["models"] / "broken").mkdir()
    (setup["models"] / "broken" / "pipeline.yaml").write_text("version: 1\npipeline: [", encoding="utf-8")
    admin = login(setup["app"], "관리자", "관리자비밀번호1")
    response = admin.post("/api/admin/models/promote", json=body)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == code
    assert live_release(setup["served"]).name == "first"


def test_trained_models_dir_allows_a_second_folder(setup, tmp_path):
    trained = variant(setup["tiny"], tmp_path / "trained" / "v4", 4)
    setup["app"].config["TRAINED_MODELS_DIR"] = str(tmp_path / "trained")
    admin = login(setup["app"], "관리자", "관리자비밀번호1")
    response = admin.post("/api/admin/models/promote", json={"path": str(trained)})
    assert response.status_code == 200 and response.get_json()["version"] == model_version(trained)

"""The model holder: swaps under load, failed loads, promotions noticed by requests, degraded start and recovery."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from chatbot.reply import Reply
from webui import create_app
from webui.lifecycle import HOLDER_KEY
from webui.releases import model_version


class NamedBot:
    """A bot named after its directory; ``gate`` (an Event) holds a reply to "slow" until set."""

    def __init__(self, name: str, gate: threading.Event | None = None, started: threading.Event | None = None):
        self.name, self.gate, self.started = name, gate, started
        self.meta = {"created_at": "2025-01-01T00:00:00+00:00", "tokenizer": "fake", "intents": ["x"]}

    def reply(self, text, context=None, **_extra) -> Reply:
        if text == "slow" and self.gate is not None:
            self.started.set()
            assert self.gate.wait(10)
        return Reply(text=f"{self.name}: {text}", intent="x", confidence=1.0)


def fake_model(root: Path, name: str) -> Path:
    """A directory that looks like a model (its files set the version); NamedBot serves it."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(f"version: 1\n# {name}\n", encoding="utf-8")
    (folder / "meta.json").write_text(json.dumps({"created_at": "2025-01-01T00:00:00+00:00", "name": name}))
    return folder


def point(link: Path, target: Path) -> None:
    """Repoint ``link`` atomically, as a promotion does."""
    tmp = link.with_name(".tmp-link")
    os.symlink(target, tmp)
    os.replace(tmp, link)


def make_app(tmp_path: Path, model_dir: Path, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/t.db",
                       "MODEL_DIR": str(model_dir), "UPLOAD_FOLDER": str(tmp_path / "uploads"), **config})


@pytest.fixture
def models(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "models"
    found = {name: fake_model(root / "releases", name) for name in ("a", "b", "bad")}
    found["link"] = root / "default"
    os.symlink(found["a"], found["link"])
    return found


def named_loader(gate=None, started=None, delay: float = 0.0, calls: list | None = None):
    def load(path: str, _vision: str | None) -> NamedBot:
        if calls is not None:
            calls.append(path)
        time.sleep(delay)
        name = Path(path).name
        if name == "bad":
            raise ValueError("components/05_classifier is missing")
        return NamedBot(name, gate, started)

    return load


def test_a_request_in_flight_keeps_its_bot_while_a_new_model_is_swapped_in(tmp_path, models):
    gate, started = threading.Event(), threading.Event()
    app = make_app(tmp_path, models["link"], MODEL_LOADER=named_loader(gate, started), MODEL_CHECK_SECONDS=60)
    holder = app.extensions[HOLDER_KEY]
    slow: dict = {}
    worker = threading.Thread(target=lambda: slow.update(r=app.test_client().post("/api/chat",
                                                                                 json={"message": "slow"})))
    worker.start()
    assert started.wait(10)  # the reply to "slow" is under way on model a
    point(models["link"], models["b"])
    assert holder.check() and holder.wait(10)
    assert holder.served.version == model_version(models["b"]) != model_version(models["a"])
    fresh = app.test_client().post("/api/chat", json={"message": "hi"})
    assert fresh.get_json()["reply"] == "b: hi"  # new requests get the new model at once
    gate.set()
    worker.join(10)
    assert slow["r"].status_code == 200 and slow["r"].get_json()["reply"] == "a: slow"


def test_a_failed_load_keeps_the_old_model_and_logs_why(tmp_path, models, caplog):
    app = make_app(tmp_path, models["link"], MODEL_LOADER=named_loader(), MODEL_CHECK_SECONDS=60)
    holder, client = app.extensions[HOLDER_KEY], app.test_client()
    point(models["link"], models["bad"])
    with caplog.at_level(logging.ERROR, logger="webui.lifecycle"):
        assert holder.check() and holder.wait(10)
    assert "Could not load the new model" in caplog.text and "05_classifier is missing" in caplog.text
    health = client.get("/healthz").get_json()
    assert (health["status"], health["model"]["version"]) == ("ok", model_version(models["a"]))
    assert "05_classifier" in health["model"]["error"]
    assert client.post("/api/chat", json={"message": "hi"}).get_json()["reply"] == "a: hi"
    assert not holder.check()  # the same broken directory is not retried on every check
    point(models["link"], models["b"])
    assert holder.check() and holder.wait(10)
    assert client.post("/api/chat", json={"message": "hi"}).get_json()["reply"] == "b: hi"


def test_a_promotion_is_picked_up_within_the_check_interval_and_no_request_waits(tmp_path, models):
    app = make_app(tmp_path, models["link"], MODEL_LOADER=named_loader(delay=0.0), MODEL_CHECK_SECONDS=0.3)
    holder, client = app.extensions[HOLDER_KEY], app.test_client()
    holder._loader = named_loader(delay=1.0)  # from now on a load takes a second
    point(models["link"], models["b"])
    promoted, slowest, version = time.monotonic(), 0.0, None
    while time.monotonic() - promoted < 5:
        began = time.monotonic()
        version = client.get("/healthz").get_json()["model"]["version"]
        slowest = max(slowest, time.monotonic() - began)
        if version == model_version(models["b"]):
            break
        time.sleep(0.05)
    assert version == model_version(models["b"])
    assert time.monotonic() - promoted < 0.3 + 1.0 + 1.5  # the interval, the load, and slack for a busy machine
    assert slowest < 0.8  # the 1 s load ran in the background


def test_only_one_load_runs_at_a_time(tmp_path, models):
    calls: list[str] = []
    app = make_app(tmp_path, models["link"], MODEL_LOADER=named_loader(), MODEL_CHECK_SECONDS=60)
    holder = app.extensions[HOLDER_KEY]
    holder._loader = named_loader(delay=0.3, calls=calls)
    point(models["link"], models["b"])
    barrier = threading.Barrier(8)
    started: list[bool] = []

    def race() -> None:
        barrier.wait()
        started.append(holder.check(force=True))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert holder.wait(10)
    assert started.count(True) == 1 and len(calls) == 1


def test_a_path_missing_for_a_moment_keeps_the_model(tmp_path, models):
    app = make_app(tmp_path, models["link"], MODEL_LOADER=named_loader(), MODEL_CHECK_SECONDS=60)
    holder = app.extensions[HOLDER_KEY]
    models["link"].unlink()
    assert not holder.check()
    health = app.test_client().get("/healthz").get_json()
    assert (health["degraded"], health["model"]["version"]) == (False, model_version(models["a"]))
    os.symlink(models["a"], models["link"])
    assert not holder.check()  # back where it was: nothing to load


def test_a_given_bot_is_served_and_nothing_is_watched(app):
    holder = app.extensions[HOLDER_KEY]
    assert holder.model_dir is None and not holder.check(force=True)
    assert len(holder.served.version) == 8 and not holder.served.degraded


def test_a_corrupt_model_starts_degraded_then_recovers_when_a_model_appears(tmp_path, tiny_model_dir, caplog):
    served = tmp_path / "models" / "default"
    served.mkdir(parents=True)
    (served / "pipeline.yaml").write_text("version: 1\npipeline: [", encoding="utf-8")  # truncated YAML
    with caplog.at_level(logging.ERROR, logger="webui.lifecycle"):
        app = make_app(tmp_path, served, MODEL_CHECK_SECONDS=0.1, VISION_MODEL_DIR=str(tmp_path / "no-vision"))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("DEGRADED")]
    assert len(lines) == 1
    assert lines[0].startswith(f"DEGRADED: could not load the model from '{served}': ")
    assert "serving the rule-based stand-in. Train one with: python -m chatbot train" in lines[0]
    client = app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["status"] == "degraded" and health.get_json()["degraded"] is True
    assert health.get_json()["model"]["version"] is None and health.get_json()["model"]["error"]
    greeting = client.post("/api/chat", json={"message": "안녕하세요"}).get_json()
    assert greeting["intent"] == "greet" and "준비" in greeting["reply"]

    staged = tmp_path / "models" / ".staged"
    shutil.copytree(tiny_model_dir, staged)
    shutil.rmtree(served)
    staged.rename(served)  # as `chatbot train` does: a complete directory renamed into place
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and client.get("/healthz").get_json()["degraded"]:
        time.sleep(0.1)
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["model"]["version"] == model_version(tiny_model_dir)
    assert health["model"]["tokenizer"] == "kiwi" and health["model"]["intents"] == 3
    reply = client.post("/api/chat", json={"message": "점심 뭐 먹지"}).get_json()
    assert reply["intent"] == "food"

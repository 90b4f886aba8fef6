"""Two web apps and one training worker on this machine, sharing PostgreSQL, Redis and one storage folder
(issue 23): a corpus uploaded on app A, trained by the worker, watched and cancelled from app B, trained
again, promoted from B, and then both apps answer with the new model within the documented delay.

Real processes only: two ``python -m chatbot serve --workers 2`` apps (gunicorn, two workers each) with
the same ``DATABASE_URL``, ``CHATBOT_SHARED_DIR`` (the trainer's folder, the uploads, the served-model link),
``CHATBOT_TRAINER_QUEUE_URL`` and secret key, and one ``python -m chatbot worker``. The database is a fresh
schema in ``TEST_DATABASE_URL`` when that is set, else a fresh database on the local PostgreSQL server
(``TEST_POSTGRES_URL``), dropped afterwards; Redis is database 11 (``SCENARIO_QUEUE_URL``), emptied
afterwards. The timings are printed (``-s``) and quoted in docs/deployment.md.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from scenario_support import (
    DESK,
    QUEUE_URL,
    Browser,
    TrainingWorker,
    add_user,
    desk_corpus,
    location_id,
    redis_or_skip,
)

from benchmarks.chat_server import ChatServer, promote_model
from tests.webui.queue_support import wait_until
from tests.webui.trainer_support import running

pytestmark = pytest.mark.load

# The documented delay: every worker process looks for a new model at most MODEL_CHECK_SECONDS after a
# request, then loads it in the background (README "Updating the model", docs/deployment.md item 5).
MODEL_CHECK_SECONDS = 2.0
MODEL_LOAD_SECONDS = 3.0  # what docs/deployment.md allows a worker for loading a linear model in the background
DOCUMENTED_DELAY = MODEL_CHECK_SECONDS + MODEL_LOAD_SECONDS
PROBES = 8  # fresh connections per app and round, so that both of its workers answer
TRAIN_TIMEOUT = 300
QUESTION = "혹시 도서관 몇 시에 열어요?"


@pytest.fixture
def shared_database(request: pytest.FixtureRequest) -> str:
    """PostgreSQL for both apps: a fresh schema in ``TEST_DATABASE_URL``, else a fresh database."""
    from webui.database import fix_database_uri

    name = "database_uri" if os.environ.get("TEST_DATABASE_URL") else "postgres_url"
    return fix_database_uri(request.getfixturevalue(name))


def served_versions(app: ChatServer, probes: int = PROBES) -> set:
    """The model versions ``/healthz`` reports over ``probes`` fresh connections (each may reach another worker)."""
    versions = set()
    for _ in range(probes):
        health = Browser(app.port).get("/healthz")
        assert health.status == 200, health.text[:300]
        versions.add(health.json()["model"]["version"])
    return versions


def ask(app: ChatServer) -> dict:
    response = Browser(app.port).post_json("/api/chat", {"message": QUESTION})
    assert response.status == 200, response.text[:500]
    return response.json()


def test_two_apps_and_a_worker_train_cancel_promote_and_serve_the_new_model(
        tmp_path: Path, shared_database: str, default_model: Path) -> None:
    redis = redis_or_skip()
    shared = tmp_path / "shared"  # the one storage folder every "machine" mounts
    served = shared / "models" / "default"
    promote_model(default_model, served)
    worker = TrainingWorker(tmp_path / "worker.log")
    # The one setting for the shared folder: the trainer's folder and the uploads are inside it (the served
    # link too, which ChatServer names with --model all the same).
    env = {"CHATBOT_SECRET_KEY": "scenario secret key", "CHATBOT_SHARED_DIR": str(shared),
           "CHATBOT_TRAINER_QUEUE_URL": QUEUE_URL,
           "CHATBOT_TRAINER_QUEUE_NAME": worker.queue, "CHATBOT_MODEL_CHECK_SECONDS": str(MODEL_CHECK_SECONDS)}
    apps = [ChatServer(served, shared_database, tmp_path / name, workers=2, threads=4, env=env) for name in "AB"]
    began = time.monotonic()
    try:
        for app in apps:
            app.start()
        worker.start()
        add_user(shared_database, "트레이너", "trainer")
        add_user(shared_database, "관리자", "admin")
        timings = run_scenario(*apps, worker, redis, shared)
        timings["total scenario (with starting the processes)"] = time.monotonic() - began
        print("\ntwo-apps scenario:", ", ".join(f"{what} {seconds:.1f} s" for what, seconds in timings.items()))
    except BaseException:
        for app, name in zip(apps, "AB", strict=True):
            print(f"--- app {name} log ---\n{app.log_tail(80)}")
        print(f"--- worker log ---\n{worker.log_tail()}")
        raise
    finally:
        worker.stop()
        for app in apps:
            app.stop()
        redis.flushdb()  # the scenario's own database number only


def run_scenario(app_a: ChatServer, app_b: ChatServer, worker: TrainingWorker, redis, shared: Path) -> dict:
    from rq.job import Job, JobStatus

    timings: dict[str, float] = {}
    here, there = Browser(app_a.port).login("트레이너"), Browser(app_b.port).login("관리자")
    old = served_versions(app_a) | served_versions(app_b)
    assert len(old) == 1 and None not in old, old
    assert ask(app_a)["intent"] != "library_hours"  # the default model does not know the help desk

    # Upload on A; B sees the same corpus (the shared folder).
    corpus_id = location_id(here.post_form("/trainer/corpora", "/trainer", file=("corpus", "desk.csv", desk_corpus())))
    assert there.get(f"/trainer/corpora/{corpus_id}").status == 200

    # Start on A, with the base corpus too (the console's own option: a longer run to watch); B watches it.
    page = f"/trainer/corpora/{corpus_id}"
    first = location_id(here.post_form(f"{page}/train", page, {"base": "y"}))
    state = wait_until(lambda: progressed(there.job(first)), 120, "B to see the first job running with progress")
    assert state["status"] == "running" and state["stage"] and state["done"] >= 1, state
    assert Job.fetch(first, connection=redis).get_status() == JobStatus.STARTED
    training = worker.children()  # RQ's work horse and the training under it
    assert len(training) >= 2, f"the worker runs no training: {training}"

    # Cancel from B, the app that did not start it; both apps read it as cancelled, and the worker is free.
    cancelled_at = time.monotonic()
    cancelled = there.post_form(f"/trainer/jobs/{first}/cancel", f"/trainer/jobs/{first}")
    assert cancelled.status == 303 and cancelled.headers["location"].endswith(f"/trainer/jobs/{first}"), cancelled.text
    for browser in (here, there):
        state = browser.job(first)
        assert state["status"] == "cancelled" and state["cancelled_by"] == "관리자" and state["finished"], state
    wait_until(lambda: worker_free(worker, redis), 30, "the worker to be free after the cancel")
    wait_until(lambda: not any(running(pid) for pid in training), 10, "the cancelled training's processes to end")
    timings["cancel until the worker was free"] = time.monotonic() - cancelled_at
    assert Job.fetch(first, connection=redis).get_status() == JobStatus.STOPPED
    assert not (shared / "trainer" / "jobs" / first / "model" / "meta.json").exists()

    # Train again, from B on the upload alone, to done; A sees it done too.
    trained_at = time.monotonic()
    second = location_id(there.post_form(f"{page}/train", page))
    state = wait_until(lambda: ended(here.job(second)), TRAIN_TIMEOUT, "the second job to end")
    assert state["status"] == "done" and state["fraction"] == 1.0, state
    timings["second job, queued to done"] = time.monotonic() - trained_at
    assert there.job(second)["status"] == "done"
    assert Job.fetch(second, connection=redis).get_status() == JobStatus.FINISHED

    # Promote from B; every worker of both apps serves the new version within the documented delay. Both
    # apps are probed right up to the promotion, as traffic would, so their workers have looked for a new
    # model moments before it and must wait out MODEL_CHECK_SECONDS (the worst case, not a lucky first look).
    keep_probing(app_a, app_b, MODEL_CHECK_SECONDS + 1)
    started = time.monotonic()
    promoted = there.post_form(f"/trainer/jobs/{second}/promote", f"/trainer/jobs/{second}", {"confirm": "yes"})
    assert promoted.status == 303, promoted.text[:1500]
    promoted_at = time.monotonic()
    timings["promotion request"] = promoted_at - started
    assert "새 모델(버전 " in there.get(f"/trainer/jobs/{second}").text  # the console's success message
    new = {Path(os.path.realpath(shared / "models" / "default")).name}  # the release folder: the version
    assert new != old and new <= {p.name for p in (shared / "models" / "releases").iterdir()}, new
    swapped: dict[str, float] = {}
    while len(swapped) < 2 and time.monotonic() < promoted_at + DOCUMENTED_DELAY + 20:
        for name, app in (("A", app_a), ("B", app_b)):
            if name not in swapped and served_versions(app) == new:
                swapped[name] = time.monotonic() - promoted_at
        time.sleep(0.1)
    timings["until A served the new model"] = swapped.get("A", float("inf"))
    timings["until B served the new model"] = swapped.get("B", float("inf"))
    assert len(swapped) == 2 and max(swapped.values()) <= DOCUMENTED_DELAY, timings
    # Eight fresh connections can all reach the worker that swapped first while the other is still loading
    # (CI, 2026-12-08: one worker of A answered 8 probes with the new version 0.15 s before the other had
    # loaded it), so "every worker" is checked once the documented delay is over, when it must hold.
    time.sleep(max(0.0, promoted_at + DOCUMENTED_DELAY - time.monotonic()))
    (version,) = new
    for app in (app_a, app_b):
        assert served_versions(app, 20) == new
        for _ in range(4):  # fresh connections: both workers answer from the help desk
            reply = ask(app)
            assert reply["intent"] == "library_hours" and reply["reply"] == DESK["library_hours"][0], reply
        # Every worker process of the app logged loading the new version: two lines per app.
        loaded = app.log_path.read_text(encoding="utf-8").count(f"Model version {version} loaded")
        assert loaded == 2, f"{loaded} of the app's 2 workers logged loading {version}"
    assert second in worker.log.read_text(encoding="utf-8")  # the worker trained it, not a web app
    return timings


def keep_probing(app_a: ChatServer, app_b: ChatServer, seconds: float) -> None:
    """Ask both apps' ``/healthz`` steadily for ``seconds``, as a load balancer and users would."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        served_versions(app_a, 2), served_versions(app_b, 2)
        time.sleep(0.1)


def progressed(state: dict) -> dict | None:
    return state if state["status"] == "running" and state["fraction"] > 0 else None


def ended(state: dict) -> dict | None:
    return state if state["status"] not in ("queued", "running") else None


def worker_free(worker: TrainingWorker, redis) -> bool:
    """The worker is idle in Redis, on no job, and its work horse and the training have ended."""
    state, job_id = worker.rq_state(redis)
    return state == "idle" and job_id is None and not worker.children()

"""Watching the app: request ids, one JSON log line per request, and ``/metrics`` (issue 23).

``/readyz`` has its own file (``test_webui_readiness.py``)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chatbot.reply import Reply
from tests.webui.conftest import FakeBot
from webui.observability import ACCESS_LOGGER, REQUEST_ID_HEADER, configure_logging, log_formatter, start_request

REPO_ROOT = Path(__file__).resolve().parents[2]
GENERATED = re.compile(r"[0-9a-f]{32}")


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus exposition (labels in any order), or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name + "{" if labels else name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if labels else {}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


# --- request ids -----------------------------------------------------------------------------------

def test_a_safe_request_id_comes_back_and_others_are_replaced(client):
    given = "lb-7f3a.2:9"
    assert client.get("/healthz", headers={REQUEST_ID_HEADER: given}).headers[REQUEST_ID_HEADER] == given
    made = client.get("/healthz").headers[REQUEST_ID_HEADER]
    assert GENERATED.fullmatch(made)
    assert client.get("/healthz").headers[REQUEST_ID_HEADER] != made  # one per request
    for bad in ("has space", "x" * 65, "a\"b", "줄바꿈", ""):
        returned = client.get("/healthz", headers={REQUEST_ID_HEADER: bad}).headers[REQUEST_ID_HEADER]
        assert GENERATED.fullmatch(returned), bad


def test_a_refused_request_gets_an_id_too(client):
    response = client.post("/api/chat", json={"message": "안녕"}, headers={"Origin": "https://evil.example",
                                                                         REQUEST_ID_HEADER: "refused-1"})
    assert response.status_code == 403 and response.headers[REQUEST_ID_HEADER] == "refused-1"


# --- the log lines ---------------------------------------------------------------------------------

def access_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == ACCESS_LOGGER]


def test_one_json_line_per_request_with_its_fields(client, caplog):
    caplog.set_level(logging.INFO, logger="webui")
    client.post("/api/chat", json={"message": "안녕"}, headers={REQUEST_ID_HEADER: "req-1"})
    client.get("/nowhere")
    records = access_records(caplog)
    assert len(records) == 2
    line = json.loads(log_formatter("json").format(records[0]))
    assert {k: line[k] for k in ("level", "logger", "method", "path", "status", "request_id", "user_id",
                                 "remote_addr")} == {
        "level": "INFO", "logger": ACCESS_LOGGER, "method": "POST", "path": "/api/chat", "status": 200,
        "request_id": "req-1", "user_id": None, "remote_addr": "127.0.0.1"}
    assert isinstance(line["duration_ms"], float) and 0 < line["duration_ms"] < 60_000
    assert "time" in line and "\n" not in log_formatter("json").format(records[0])
    assert json.loads(log_formatter("json").format(records[1]))["status"] == 404


def test_the_line_names_a_logged_in_user(client, caplog):
    response = client.post("/api/register", json={"username": "기록이", "password": "비밀번호1234"})
    user_id = response.get_json()["user"]["id"]
    caplog.set_level(logging.INFO, logger="webui")
    client.get("/api/conversations")
    assert access_records(caplog)[-1].user_id == user_id


def test_a_chat_request_is_one_line_with_its_exchange(client, caplog):
    caplog.set_level(logging.INFO, logger="webui")
    body = client.post("/api/chat", json={"message": "안녕"}, headers={REQUEST_ID_HEADER: "chat-42"}).get_json()
    assert [r.name for r in caplog.records if r.levelno == logging.INFO] == [ACCESS_LOGGER]
    line = json.loads(log_formatter("json").format(access_records(caplog)[-1]))
    assert (line["request_id"], line["path"], line["conversation_id"], line["message_id"], line["intent"],
            line["fallback"]) == ("chat-42", "/api/chat", body["conversation_id"], body["message_id"], "echo", False)
    assert line["message"].endswith(f"ms (conversation {body['conversation_id']})")  # text lines name it too
    client.get("/api/conversations")
    assert "conversation_id" not in vars(access_records(caplog)[-1])  # the fields belong to that request alone


def test_a_training_job_keeps_the_request_id(make_app, tmp_path):
    app = make_app(TRAINER_DIR=str(tmp_path / "trainer"), TRAINER_TRAIN_COMMAND=[sys.executable, "-c", "pass"])
    data = tmp_path / "corpus.csv"
    data.write_text("text,intent\n안녕,greet\n", encoding="utf-8")
    from webui.trainer.jobs import start_job

    with app.test_request_context("/trainer/corpora/x/train", method="POST", headers={REQUEST_ID_HEADER: "job-7"}):
        start_request()  # the app's first hook, as for the console's form
        job_id = start_job([data], [{"id": "x", "name": "corpus"}], "tester")
    record = json.loads((tmp_path / "trainer" / "jobs" / job_id / "job.json").read_text(encoding="utf-8"))
    assert record["request_id"] == "job-7"


def test_configure_logging_formats_the_handlers_a_server_gave_the_app(client):
    """As under gunicorn: the app's loggers write to the server's handler, which then writes JSON lines
    with request ids (and text lines with them in text mode)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    saved = {name: (logging.getLogger(name).handlers, logging.getLogger(name).level, logging.getLogger(name).propagate)
             for name in ("webui", "chatbot")}
    try:
        for name in saved:
            logger = logging.getLogger(name)
            logger.handlers, logger.propagate = [handler], False
            logger.setLevel(logging.INFO)
        configure_logging("json")
        configure_logging("json")  # again: still one filter, one line per record
        client.get("/healthz", headers={REQUEST_ID_HEADER: "srv-1"})
        logging.getLogger("chatbot.somewhere").warning("outside any request")
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [(line["logger"], line["request_id"]) for line in lines] == [
            (ACCESS_LOGGER, "srv-1"), ("chatbot.somewhere", None)]
        configure_logging("text")
        client.get("/healthz", headers={REQUEST_ID_HEADER: "srv-2"})
        assert "[srv-2] GET /healthz 200" in stream.getvalue().splitlines()[-1]
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)


def test_configure_logging_without_server_handlers_writes_request_lines_through_the_root(client):
    """As ``python -m chatbot serve`` (waitress): the root logger's handler at WARNING gets the request lines
    too, as JSON, while the rest of the app stays at its level."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    lines_logger = logging.getLogger(ACCESS_LOGGER)
    saved = (root.level, lines_logger.level, logging.getLogger("webui").handlers)
    try:
        logging.getLogger("webui").handlers = []
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
        lines_logger.setLevel(logging.NOTSET)
        configure_logging("json")
        client.get("/healthz", headers={REQUEST_ID_HEADER: "root-1"})
        logging.getLogger("webui.somewhere").info("not shown: the app stays at WARNING")
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [(line["logger"], line["path"], line["request_id"]) for line in lines] == [
            (ACCESS_LOGGER, "/healthz", "root-1")]
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        lines_logger.setLevel(saved[1])
        logging.getLogger("webui").handlers = saved[2]


def test_an_unknown_log_format_stops_the_start(make_app):
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        make_app(LOG_FORMAT="xml")


# --- /metrics --------------------------------------------------------------------------------------

class ToolBot(FakeBot):
    """Answers ``/help`` as a command and ``날씨`` through an action, like the library's bot."""

    def reply(self, text: str, context: dict[str, Any] | None = None, image: Any = None) -> Any:
        if text == "/help":
            return Reply("도움말이에요.", intent="help", confidence=1.0, source="command")
        if text == "/nothing":
            return Reply("없는 명령이에요.", intent="command_unknown", confidence=1.0, source="command")
        if text == "날씨":
            return Reply("맑아요.", intent="weather", confidence=0.9, source="action:weather")
        return super().reply(text, context, image)


def test_metrics_are_off_by_default(client):
    assert client.get("/metrics").status_code == 404
    assert "chatbot.metrics" not in client.application.extensions


def test_metrics_count_replies_by_intent_fallback_command_and_action(make_app):
    client = make_app(METRICS=True, BOT=ToolBot()).test_client()
    for message in ("안녕", "또 안녕", FakeBot.FALLBACK, "/help", "/nothing", "날씨"):
        assert client.post("/api/chat", json={"message": message}).status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "chatbot_replies_total", intent="echo", fallback="false") == 2
    assert sample(text, "chatbot_replies_total", intent="none", fallback="true") == 1
    assert sample(text, "chatbot_replies_total", intent="help", fallback="false") == 1
    assert sample(text, "chatbot_commands_total", command="help") == 1
    assert sample(text, "chatbot_commands_total", command="unknown") == 1
    assert sample(text, "chatbot_actions_total", action="weather") == 1
    assert sample(text, "chatbot_http_request_duration_seconds_count", method="POST", route="/api/chat") == 6


def test_metrics_label_routes_by_rule_and_errors_by_code(make_app):
    client = make_app(METRICS=True).test_client()
    for n in range(3):
        assert client.get(f"/api/conversations/missing-{n}").status_code == 404
    client.get("/no/such/page")
    client.post("/api/chat", json={"message": 5})
    text = client.get("/metrics").get_data(as_text=True)
    route = "/api/conversations/<conversation_id>"
    assert sample(text, "chatbot_http_request_duration_seconds_count", method="GET", route=route) == 3
    assert "missing-0" not in text  # the path never becomes a label
    assert sample(text, "chatbot_http_request_duration_seconds_count", method="GET", route="<unmatched>") == 1
    assert sample(text, "chatbot_http_errors_total", status="404", code="conversation_not_found") == 3
    assert sample(text, "chatbot_http_errors_total", status="404", code="http_404") == 1  # a page: HTML, no code
    assert sample(text, "chatbot_http_errors_total", status="400", code="invalid_type") == 1


def test_metrics_show_the_served_model_and_the_training_jobs(make_app, tmp_path):
    jobs = tmp_path / "trainer" / "jobs"
    for job_id, files in {"20240101-000000-aaaaaa": {"exit.json": {"returncode": 1, "finished": "x"}},
                          "20240101-000001-bbbbbb": {"exit.json": {"returncode": 1, "finished": "x"}},
                          "20240101-000002-cccccc": {"exit.json": {"returncode": -15, "finished": "x"},
                                                     "cancel.json": {"cancelled_by": "a", "cancelled_at": "x"}},
                          "20240101-000003-dddddd": {}}.items():
        (jobs / job_id).mkdir(parents=True)
        (jobs / job_id / "job.json").write_text(json.dumps({"id": job_id, "created_at": "2999-01-01T00:00:00+00:00",
                                                            "pid": None}), encoding="utf-8")
        for name, content in files.items():
            (jobs / job_id / name).write_text(json.dumps(content), encoding="utf-8")
    app = make_app(METRICS=True, TRAINER_DIR=str(tmp_path / "trainer"))
    text = app.test_client().get("/metrics").get_data(as_text=True)
    version = app.extensions["chatbot.model"].served.version
    assert version and sample(text, "chatbot_model_info", version=version, degraded="false") == 1
    assert sample(text, "chatbot_training_jobs", state="failed") == 2
    assert sample(text, "chatbot_training_jobs", state="cancelled") == 1
    assert sample(text, "chatbot_training_jobs", state="queued") == 1  # no pid yet, made "now" (in 2999)
    assert sample(text, "chatbot_training_jobs", state="done") == 0
    assert sample(text, "chatbot_training_jobs_active") == 1


def test_a_metrics_token_is_required_when_set(make_app):
    client = make_app(METRICS=True, METRICS_TOKEN="s3cret-token").test_client()
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "metrics_token_required"
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "metrics_token_wrong"
    assert client.get("/metrics", headers={"Authorization": "Basic s3cret-token"}).status_code == 401
    good = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert good.status_code == 200 and good.mimetype == "text/plain"
    assert "chatbot_http_errors_total" in good.get_data(as_text=True)


WORKER = """
import sys
sys.path.insert(0, {root!r})
from tests.webui.conftest import FakeBot
from webui import create_app
app = create_app({{"TESTING": True, "SQLALCHEMY_DATABASE_URI": {db!r}, "BOT": FakeBot(), "METRICS": True,
                  "UPLOAD_FOLDER": {uploads!r}}})
client = app.test_client()
for _ in range(int(sys.argv[1])):
    assert client.post("/api/chat", json={{"message": "안녕"}}).status_code == 200
if sys.argv[2] == "scrape":
    sys.stdout.write(client.get("/metrics").get_data(as_text=True))
"""


def test_workers_share_one_registry_in_multiprocess_mode(tmp_path):
    """Like gunicorn's workers: three processes on one PROMETHEUS_MULTIPROC_DIR; a scrape of any adds them up,
    and a dead worker's model gauge goes away with ``child_exit``."""
    from webui import gunicorn_conf

    shared = tmp_path / "metrics"
    shared.mkdir()
    script = WORKER.format(root=str(REPO_ROOT), db=f"sqlite:///{tmp_path / 'mp.db'}", uploads=str(tmp_path / "up"))
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    env.pop("CHATBOT_METRICS", None)

    def worker(chats: int, mode: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-c", script, str(chats), mode], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    worker(2, "-")
    worker(3, "-")
    text = worker(1, "scrape").stdout
    assert sample(text, "chatbot_replies_total", intent="echo", fallback="false") == 6
    assert sample(text, "chatbot_http_request_duration_seconds_count", method="POST", route="/api/chat") == 6
    pids = set(re.findall(r'chatbot_model_info\{[^}]*pid="(\d+)"', text))
    assert len(pids) == 3, text  # one series per worker that served (liveall)
    dead = next(iter(pids))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
        gunicorn_conf.child_exit(None, type("Worker", (), {"pid": int(dead)})())
    assert not list(shared.glob(f"gauge_liveall_{dead}.db"))


def test_gunicorn_master_prepares_the_metrics_folder(tmp_path, monkeypatch):
    from webui import gunicorn_conf

    monkeypatch.delenv("CHATBOT_METRICS", raising=False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert gunicorn_conf.prepare_metrics_dir() is None  # metrics off: nothing to share
    monkeypatch.setenv("CHATBOT_METRICS", "1")
    folder = tmp_path / "given"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"old run")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    assert gunicorn_conf.prepare_metrics_dir() == str(folder) and not list(folder.iterdir())
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    made = gunicorn_conf.prepare_metrics_dir()
    assert made and Path(made).is_dir() and os.environ["PROMETHEUS_MULTIPROC_DIR"] == made
    Path(made).rmdir()


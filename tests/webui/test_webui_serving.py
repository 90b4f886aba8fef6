"""Production serving: the gunicorn config file as gunicorn reads it, and the master's database step."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from gunicorn.app.base import Application
from sqlalchemy import create_engine, inspect

from webui import create_app
from webui.extensions import db
from webui.gunicorn_conf import SCHEMA_READY_ENV, bind_address, prepare_database, run_schema_step

CONF = Path(__file__).resolve().parents[2] / "webui" / "gunicorn_conf.py"


class ConfigProbe(Application):
    """gunicorn's own loading of a config file, without serving anything."""

    def load_config(self) -> None:
        self.load_config_from_file(str(CONF))

    def load(self) -> Any:
        raise AssertionError("not served")


def test_the_config_file_reads_the_environment(monkeypatch):
    for name, value in {"HOST": "0.0.0.0", "PORT": "8123", "WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "2",
                        "GUNICORN_KEEPALIVE": "65", "GUNICORN_ACCESS_LOG": "-"}.items():
        monkeypatch.setenv(name, value)
    cfg = ConfigProbe().cfg
    assert cfg.bind == ["0.0.0.0:8123"]
    assert (cfg.workers, cfg.threads, cfg.worker_class_str) == (3, 2, "gthread")
    assert (cfg.keepalive, cfg.accesslog) == (65, "-")
    assert cfg.preload_app is False  # every worker loads its own model after the fork
    assert cfg.wsgi_app == "webui.wsgi:app"
    assert cfg.control_socket_disable is True
    assert cfg.on_starting.__doc__.startswith("gunicorn hook")  # ours, not gunicorn's no-op default


def test_the_defaults_use_every_core_and_log_no_requests(monkeypatch):
    for name in ("HOST", "PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "GUNICORN_ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    cfg = ConfigProbe().cfg
    assert cfg.bind == ["127.0.0.1:5000"]
    assert (cfg.workers, cfg.threads) == (os.cpu_count() or 1, 4)
    assert cfg.timeout == 120 and cfg.graceful_timeout == 30
    assert cfg.accesslog is None
    assert cfg.reuse_port is True  # a socket per worker: keep-alive connections spread over the workers
    monkeypatch.setenv("GUNICORN_REUSE_PORT", "0")
    assert ConfigProbe().cfg.reuse_port is False


def test_ipv6_hosts_are_bracketed():
    assert bind_address("::1", 80) == "[::1]:80"
    assert bind_address("0.0.0.0", 80) == "0.0.0.0:80"


def test_the_master_creates_the_schema_and_keeps_no_connection(tmp_path, monkeypatch):
    import webui

    real_create_app, made = webui.create_app, []

    def spy(config: dict[str, Any]) -> Any:
        made.append(real_create_app(config))
        return made[-1]

    monkeypatch.setattr(webui, "create_app", spy)
    prepare_database({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'prod.db'}"})
    (app,) = made
    assert app.config["DATABASE_ONLY"] is True  # no model in the master
    with app.app_context():
        assert db.engine.pool.checkedin() == 0  # disposed: no connection for a forked worker to inherit
        assert {"conversations", "messages", "attachments"} <= set(inspect(db.engine).get_table_names())


def test_an_unreachable_database_stops_the_master_with_one_line():
    with pytest.raises(RuntimeError, match="check DATABASE_URL") as excinfo:
        prepare_database({"SQLALCHEMY_DATABASE_URI": "postgresql://postgres@127.0.0.1:1/none",
                          "DATABASE_CONNECT_TIMEOUT": 2})
    assert "\n" not in str(excinfo.value)


def test_the_masters_schema_step_runs_in_a_child_and_tells_the_workers(tmp_path, monkeypatch):
    """The master never imports the app (fresh code on HUP); the workers learn that the schema is ready."""
    monkeypatch.setenv(SCHEMA_READY_ENV, "")  # so that the signal set below is undone after the test
    monkeypatch.delenv(SCHEMA_READY_ENV)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    with pytest.raises(RuntimeError, match="check DATABASE_URL.*OperationalError"):
        run_schema_step()
    assert SCHEMA_READY_ENV not in os.environ
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'child.db'}")
    run_schema_step()
    assert os.environ[SCHEMA_READY_ENV] == "1"
    assert "messages" in inspect(create_engine(f"sqlite:///{tmp_path / 'child.db'}")).get_table_names()


def test_a_worker_that_starts_during_an_outage_boots_and_answers_503(fake_bot):
    """With the schema prepared by the master, a worker's start needs no database: one restarted while
    the database is down still serves (503), instead of failing to boot, which stops gunicorn."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql://postgres@127.0.0.1:1/none", "AUTO_MIGRATE": False,
                      "BOT": fake_bot, "SECRET_KEY": "test"})
    response = app.test_client().post("/api/chat", json={"message": "안녕"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "database_unavailable"


def test_the_wsgi_app_reads_its_models_uploads_and_proxies_from_the_environment(tmp_path, monkeypatch, fake_bot):
    import runpy

    from werkzeug.middleware.proxy_fix import ProxyFix

    import webui

    real_create_app, configs = webui.create_app, []

    def spy(config: dict[str, Any]) -> Any:  # the real app, with the fake bot instead of loading models
        configs.append(dict(config))
        return real_create_app({**config, "BOT": fake_bot, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'w.db'}"})

    monkeypatch.setattr(webui, "create_app", spy)
    monkeypatch.setenv("CHATBOT_MODEL", "/srv/models/default")
    monkeypatch.setenv("CHATBOT_VISION_MODEL", "/srv/models/vision")
    monkeypatch.setenv("UPLOAD_FOLDER", "/srv/uploads")
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    monkeypatch.setenv(SCHEMA_READY_ENV, "1")
    app = runpy.run_module("webui.wsgi")["app"]
    assert configs[-1] == {"MODEL_DIR": "/srv/models/default", "VISION_MODEL_DIR": "/srv/models/vision"}
    assert app.config["UPLOAD_FOLDER"] == "/srv/uploads" and app.config["SCHEMA_READY"]  # the master's signal
    assert isinstance(app.wsgi_app, ProxyFix) and (app.wsgi_app.x_for, app.wsgi_app.x_proto) == (1, 1)
    monkeypatch.delenv("TRUSTED_PROXIES")
    monkeypatch.delenv("UPLOAD_FOLDER")
    monkeypatch.delenv(SCHEMA_READY_ENV)
    monkeypatch.delenv("CHATBOT_MODEL")
    app = runpy.run_module("webui.wsgi")["app"]
    assert not isinstance(app.wsgi_app, ProxyFix)  # by default no proxy is trusted
    assert configs[-1]["MODEL_DIR"] == "models/default"
    assert app.config["UPLOAD_FOLDER"] == os.path.join(app.instance_path, "uploads") and not app.config["SCHEMA_READY"]


def test_the_config_file_sets_every_server_option():
    """``make serve-prod`` (the config file) and ``chatbot serve --workers`` (server_options) run alike."""
    import webui.gunicorn_conf as conf

    options = conf.server_options("127.0.0.1", 5000, 2, 4)
    assert {name: getattr(conf, name, "missing") for name in options if name != "bind"} == {
        name: value for name, value in options.items() if name != "bind"} | {"workers": conf.workers}

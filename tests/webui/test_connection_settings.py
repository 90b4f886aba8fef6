"""The servers' connection settings (issue 23): the SERVER_* settings reach waitress (`serve`) and gunicorn
(`serve-prod`), bad values stop `serve` with the variable named, and the open-files limit makes room.
tests/load/test_idle_connections.py checks what they are for, against real servers."""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap

import pytest
from waitress.adjustments import Adjustments

import webui.gunicorn_conf as conf
from webui import cli
from webui.settings import BY_NAME

SERVER_SETTINGS = [name for name in BY_NAME if name.startswith("SERVER_")]


def test_waitress_gets_the_documented_connection_settings(monkeypatch):
    for name in SERVER_SETTINGS:
        monkeypatch.delenv(f"CHATBOT_{name}", raising=False)
    options = cli.waitress_options()
    fitting = conf.allow_open_files(1000)  # 1000 unless this machine's hard limit on open files is low
    assert options == {"connection_limit": fitting, "backlog": 2048, "channel_timeout": 15, "cleanup_interval": 2,
                       "asyncore_use_poll": True}
    adjustments = Adjustments(**options)  # waitress knows every one of them by that name
    assert (adjustments.connection_limit, adjustments.channel_timeout) == (fitting, 15)


def test_the_environment_sets_the_waitress_connection_settings(monkeypatch):
    monkeypatch.setenv("CHATBOT_SERVER_IDLE_TIMEOUT", "40")
    monkeypatch.setenv("CHATBOT_SERVER_CLEANUP_INTERVAL", "5")
    monkeypatch.setenv("CHATBOT_SERVER_CONNECTION_LIMIT", "300")
    options = cli.waitress_options()
    assert (options["channel_timeout"], options["cleanup_interval"], options["connection_limit"]) == (40, 5, 300)


@pytest.mark.parametrize(("value", "message"), [("soon", "is not a whole number"), ("0", "must be at least 1")])
def test_a_bad_connection_setting_stops_serve_naming_the_variable(value, message, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("CHATBOT_SERVER_IDLE_TIMEOUT", value)
    args = argparse.Namespace(model=str(tmp_path), vision_model=None, host="127.0.0.1", port=0, workers=1, threads=1)
    assert cli.serve(args) == 2  # before any app or socket exists
    error = capsys.readouterr().err
    assert "CHATBOT_SERVER_IDLE_TIMEOUT" in error and message in error


def test_gunicorn_reads_the_same_settings_with_the_same_defaults(monkeypatch):
    assert conf.CONNECTION_LIMIT == BY_NAME["SERVER_CONNECTION_LIMIT"].default
    assert conf.BACKLOG == BY_NAME["SERVER_BACKLOG"].default
    options = conf.server_options("127.0.0.1", 5000, 2, 4)
    assert (options["worker_connections"], options["backlog"], options["worker_class"]) == (1000, 2048, "gthread")
    monkeypatch.setenv("CHATBOT_SERVER_CONNECTION_LIMIT", "64")
    assert conf.server_options("127.0.0.1", 5000, 2, 4)["worker_connections"] == 64


LIMITS_SCRIPT = textwrap.dedent("""
    import resource, sys
    from webui.gunicorn_conf import allow_open_files, fit_worker_connections
    soft, hard = int(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    class Cfg:
        worker_connections = 1000
        def set(self, name, value):
            setattr(self, name, value)

    class Server:
        cfg = Cfg()

    fitting = allow_open_files(1000)
    fit_worker_connections(Server)
    print(fitting, resource.getrlimit(resource.RLIMIT_NOFILE)[0], Server.cfg.worker_connections)
""")


def open_files_after(soft: int, hard: int) -> list[int]:
    """In a child process with these limits on open files: what fits, the new soft limit, and the
    worker_connections that fit_worker_connections leaves."""
    done = subprocess.run([sys.executable, "-c", LIMITS_SCRIPT, str(soft), str(hard)], capture_output=True,
                          text=True, timeout=60, check=True)
    return [int(word) for word in done.stdout.split()]


def test_the_open_files_limit_is_raised_to_fit_the_connections():
    resource = pytest.importorskip("resource")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 1128:
        pytest.skip(f"this machine's hard limit on open files is {hard}")
    assert open_files_after(256, 1200) == [1000, 1128, 1000]  # 1000 connections + 128 other files


def test_under_a_low_hard_limit_fewer_connections_are_allowed():
    pytest.importorskip("resource")
    assert open_files_after(256, 300) == [172, 300, 172]  # the soft limit can rise only to the hard one

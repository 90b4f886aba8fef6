"""gunicorn's settings, in the Python file gunicorn reads: ``gunicorn -c webui/gunicorn_conf.py`` (``make serve-prod``).

It reads the server's environment itself and never imports the app (the master stays free of the
model and of database connections; see ``run_schema_step``). Environment variables (gunicorn's own
``GUNICORN_CMD_ARGS`` overrides any of them)::

    HOST, PORT              where to listen (127.0.0.1:5000; behind a balancer, HOST=0.0.0.0)
    WEB_CONCURRENCY         worker processes (default: the number of CPU cores)
    GUNICORN_THREADS        request threads per worker (default 4)
    GUNICORN_TIMEOUT        seconds a silent worker may live, model loading included (default 120)
    GUNICORN_GRACEFUL_TIMEOUT  seconds to finish in-flight requests on a stop or reload (default 30)
    GUNICORN_KEEPALIVE      seconds an idle keep-alive connection stays open (default 5)
    GUNICORN_REUSE_PORT     1: a listening socket per worker (SO_REUSEPORT), connections spread evenly (default
                            1; 0: one socket shared by the workers, gunicorn's default)
    GUNICORN_ACCESS_LOG     "-" for stdout, or a file; unset: no access log
    GUNICORN_LOG_LEVEL      gunicorn's and the app's log level (default info)
    PROMETHEUS_MULTIPROC_DIR  with CHATBOT_METRICS on: where workers share their metrics (emptied at start;
                            unset: a new temporary folder)
    CHATBOT_*, DATABASE_URL  the app's settings, read by the app (``webui/settings.py``, README's table)

docs/deployment.md explains the choices and how to run several machines on one database.
``python -m chatbot serve --workers N`` uses the same settings through ``server_options``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

APP_LOGGERS = ("webui", "chatbot")
SCHEMA_READY_ENV = "CHATBOT_SCHEMA_READY"
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def env_int(name: str, default: int) -> int:
    """A whole number from the environment, else ``default``."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def bind_address(host: str, port: int) -> str:
    """gunicorn's ``bind`` for ``host`` and ``port`` (IPv6 addresses in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def server_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """The gunicorn settings of this app, for a config file or a custom gunicorn application."""
    return {
        "bind": bind_address(host, port),
        "workers": workers,
        # Threads in each process: one process per core runs Python, and its threads overlap the
        # waits (database, socket I/O). The model is shared by a process's threads, not copied.
        "worker_class": "gthread",
        "threads": threads,
        # The master kills a worker that has not reported for this long. A gthread worker reports from
        # its main loop while requests run in threads, so this bounds booting (loading the model takes
        # seconds, longer on a cold disk) and a wedged process, not a slow request.
        "timeout": env_int("GUNICORN_TIMEOUT", 120),
        # On SIGTERM (a deploy, a scale-down) workers stop accepting and get this long to answer the
        # requests they hold; a chat reply takes well under a second.
        "graceful_timeout": env_int("GUNICORN_GRACEFUL_TIMEOUT", 30),
        # Browsers reuse connections for the page's requests. Behind a load balancer, set it above the
        # balancer's idle timeout (e.g. 65 for 60), or the balancer may reuse a connection just closed.
        "keepalive": env_int("GUNICORN_KEEPALIVE", 5),
        # With one shared listening socket the workers race to accept, and long-lived keep-alive
        # connections can all land on one worker (one core): measured, half the throughput in some
        # runs. Each worker listens on its own SO_REUSEPORT socket instead, and the kernel spreads new
        # connections over them. The cost: connections still waiting in a stopping worker's queue are
        # reset (a worker restart or a HUP; a model promotion restarts nothing). docs/deployment.md.
        "reuse_port": env_int("GUNICORN_REUSE_PORT", 1) == 1,
        # Each worker loads the model itself after the fork: tokenizer backends are native libraries
        # not documented as fork-safe (webui/cli.py), and a database pool must never cross a fork.
        "preload_app": False,
        "accesslog": os.environ.get("GUNICORN_ACCESS_LOG") or None,  # a balancer usually logs requests
        "loglevel": os.environ.get("GUNICORN_LOG_LEVEL", "info"),
        # gunicorn's runtime control socket has one default path per user; two servers on one machine
        # would fight over it, and nothing here uses it.
        "control_socket_disable": True,
        "child_exit": child_exit,  # a hook: a dead worker's metrics are dropped (multiprocess mode)
    }


def route_app_logs() -> None:
    """Send the app's log records (outages, model loading, a line per request) to gunicorn's error log, at
    its level, formatted as ``LOG_FORMAT`` says (JSON: gunicorn's own lines too)."""
    from webui import observability, settings

    error_log = logging.getLogger("gunicorn.error")
    for name in APP_LOGGERS:
        app_logger = logging.getLogger(name)
        app_logger.handlers = list(error_log.handlers)
        app_logger.setLevel(error_log.level)
        app_logger.propagate = False
    log_format = settings.environment_value("LOG_FORMAT") or settings.BY_NAME["LOG_FORMAT"].default
    observability.configure_logging(str(log_format))


def prepare_metrics_dir() -> str | None:
    """With ``CHATBOT_METRICS`` on, before the workers exist: the folder where they share their metrics
    (``PROMETHEUS_MULTIPROC_DIR``, emptied of an earlier run's files; unset: a new temporary one, set in the
    environment the workers inherit). prometheus-client reads it when a worker imports it."""
    from webui import settings

    if not settings.environment_value("METRICS"):
        return None
    folder = os.environ.get(METRICS_DIR_ENV, "").strip()
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for old in Path(folder).glob("*.db"):  # a previous server's counts, and its dead workers' files
            old.unlink(missing_ok=True)
    else:
        folder = tempfile.mkdtemp(prefix="chatbot-metrics-")
        os.environ[METRICS_DIR_ENV] = folder
    return folder


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn hook, in the master when a worker has exited: its live gauges leave ``/metrics``."""
    if os.environ.get(METRICS_DIR_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def prepare_database(config: dict[str, Any] | None = None) -> None:
    """Create or upgrade the schema (``create_app({"DATABASE_ONLY": True})``), then close the connections
    it opened, so that a process that forks afterwards hands none to its children."""
    from webui import create_app
    from webui.extensions import db

    try:
        app = create_app({**(config or {}), "DATABASE_ONLY": True})
        with app.app_context():
            db.engine.dispose()
    except Exception as exc:  # gunicorn prints a RuntimeError as one line and exits with status 1
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise RuntimeError(f"could not create or upgrade the database schema (check DATABASE_URL): "
                           f"{type(exc).__name__}: {first_line}") from exc


def prepare_database_main() -> int:
    """``prepare_database`` as a command: its log on stderr, status 1 and the reason on the last line."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        prepare_database()
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def run_schema_step() -> None:
    """Run ``prepare_database`` in a child process. The master then never imports the app: workers load
    fresh code on a ``HUP`` reload, and no database connection or native library state exists in the
    master to be forked. Afterwards ``CHATBOT_SCHEMA_READY=1`` tells the workers (which inherit the
    environment: the ``SCHEMA_READY`` setting) that the schema is ready, so that their boot needs no
    database: a worker that restarts during a database outage still starts, answers 503 and
    recovers with the database."""
    code = "import sys; from webui.gunicorn_conf import prepare_database_main; sys.exit(prepare_database_main())"
    # Without the signal from an earlier run (a HUP): the child must upgrade, not skip as a worker does.
    env = {name: value for name, value in os.environ.items() if name != SCHEMA_READY_ENV}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env)
    lines = result.stderr.strip().splitlines()
    if result.returncode != 0:
        raise RuntimeError(lines[-1] if lines else f"the database schema step failed (status {result.returncode})")
    for line in lines:
        logging.getLogger("webui.schema").info(line)
    os.environ[SCHEMA_READY_ENV] = "1"


def on_starting(server: Any) -> None:
    """gunicorn hook, in the master before it forks: route the app's logs, prepare the metrics folder and
    the database."""
    route_app_logs()
    prepare_metrics_dir()
    run_schema_step()


def on_reload(server: Any) -> None:
    """gunicorn hook on ``HUP``, before new workers start: new code may bring new migrations."""
    route_app_logs()  # gunicorn has just set its logging up again
    try:
        run_schema_step()
    except RuntimeError as exc:  # the running workers keep serving; stopping the server would be worse
        logging.getLogger("gunicorn.error").error("Schema upgrade on reload failed: %s", exc)


_options = server_options(
    os.environ.get("HOST") or "127.0.0.1",
    env_int("PORT", 5000),
    workers=env_int("WEB_CONCURRENCY", os.cpu_count() or 1),
    threads=env_int("GUNICORN_THREADS", 4),
)
# gunicorn reads the module's names that match its settings.
wsgi_app = "webui.wsgi:app"
bind = _options["bind"]
workers = _options["workers"]
worker_class = _options["worker_class"]
threads = _options["threads"]
timeout = _options["timeout"]
graceful_timeout = _options["graceful_timeout"]
keepalive = _options["keepalive"]
reuse_port = _options["reuse_port"]
preload_app = _options["preload_app"]
accesslog = _options["accesslog"]
loglevel = _options["loglevel"]
control_socket_disable = _options["control_socket_disable"]
# child_exit is the function above: gunicorn reads it by name, as on_starting and on_reload

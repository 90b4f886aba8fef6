"""The ``serve`` sub-command (waitress, or gunicorn with ``--workers``), added to ``python -m chatbot`` through
the ``chatbot.cli`` entry point, so that the library's command line never imports the web app.

One Python process answers one request at a time under the GIL, so on a machine with several
cores a single process queues concurrent users. ``--workers N`` (N > 1) forks N gunicorn worker
processes, each loading its own copy of the model (no preloading: tokenizer backends are native
libraries that are not documented as fork-safe). The master process creates the database tables
once, before any worker starts, so workers never race to create them. The gunicorn settings live in
``webui/gunicorn_conf.py``, shared with ``make serve-prod``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from webui import settings
from webui.model_cli import register as register_model_commands


def register(subparsers: Any) -> None:
    """Add ``serve`` to the ``python -m chatbot`` argument parser."""
    parser = subparsers.add_parser(
        "serve",
        help="serve the web chat page",
        description="Serve the Korean web chat page (and its JSON API) with waitress. Other settings come "
        "from CHATBOT_* environment variables (README.md lists them).",
    )
    parser.add_argument(
        "--model",
        metavar="DIR",
        help=f"trained model directory (default: $CHATBOT_MODEL_DIR or {settings.SERVED_MODEL_DIR}, inside "
             "$CHATBOT_SHARED_DIR when set)",
    )
    parser.add_argument(
        "--vision-model",
        metavar="DIR",
        help="image model for /image, from `chatbot train-vision` (default: $CHATBOT_VISION_MODEL_DIR or "
        f"{settings.SERVED_VISION_MODEL_DIR}); without one, /image says how to train it",
    )
    parser.add_argument(
        "--host",
        default=settings.server_variable("HOST", "127.0.0.1"),
        help="address to listen on (default: $HOST or 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=settings.server_variable("PORT", "5000"),  # argparse converts string defaults
        help="port to listen on (default: $PORT or 5000)",
    )
    parser.add_argument("--threads", type=_positive_int, default=8, help="threads per process (default: 8)")
    parser.add_argument(
        "--workers",
        type=_positive_int,
        # WEB_CONCURRENCY: gunicorn's own name, which --workers above 1 runs
        default=settings.server_variable("WEB_CONCURRENCY", "1", old="WORKERS"),  # argparse converts it
        help="server processes (default: $WEB_CONCURRENCY or 1). Above 1, gunicorn forks that many workers "
        "(Linux and macOS), each with its own copy of the model; use one per CPU core",
    )
    parser.set_defaults(func=serve)
    register_model_commands(subparsers)

    from webui import account_cli

    account_cli.register(subparsers)

    from webui.trainer import worker_cli

    worker_cli.register(subparsers)


def serve(args: argparse.Namespace) -> int:
    """Build the app (with the model, or degraded without one) and serve it until interrupted; returns the exit code."""
    from chatbot.model_dir import ModelDir, ModelNotFound  # here: the web app imports without the library

    served = settings.served_model_dirs()  # here, not in the parser: `chatbot train` must not read them
    args.model = args.model or served["MODEL_DIR"]
    args.vision_model = args.vision_model or served["VISION_MODEL_DIR"]
    host_for_url = f"[{args.host}]" if ":" in args.host else args.host
    try:
        ModelDir(args.model).require()
    except ModelNotFound as exc:  # not fatal: the app starts degraded and loads the model once it appears
        print(f"warning: {exc}\nwarning: starting DEGRADED (rule-based stand-in replies) until a model appears there.",
              file=sys.stderr, flush=True)
    if args.workers > 1:
        return _serve_processes(args, host_for_url)
    try:
        connections = waitress_options()
    except ValueError as exc:  # a CHATBOT_SERVER_* value that is not a whole number of at least 1
        print(f"error: {exc}", file=sys.stderr)
        return 2

    import waitress

    from webui import create_app
    from webui.lifecycle import HOLDER_KEY, install_reload_signal
    from webui.observability import configure_logging

    try:
        app = create_app({"MODEL_DIR": args.model, "VISION_MODEL_DIR": args.vision_model})
    except Exception as exc:  # e.g. DATABASE_URL names a database that cannot be opened
        print(f"error: could not start the app (check DATABASE_URL): {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    served = app.extensions[HOLDER_KEY].served
    if served.degraded:
        print(f"warning: DEGRADED: no model could be loaded from '{args.model}' ({served.error}); "
              "serving the rule-based stand-in", file=sys.stderr, flush=True)
    install_reload_signal(app)  # SIGHUP: reload the model now
    configure_logging(str(app.config["LOG_FORMAT"]))  # a line per request, as LOG_FORMAT says
    model = "degraded" if served.degraded else f"model {served.version}"
    print(f"Serving the chat page at http://{host_for_url}:{args.port} ({model})", flush=True)
    try:
        waitress.serve(app, host=args.host, port=args.port, threads=args.threads, **connections)
    except OSError as exc:  # port in use, address not available
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def waitress_options() -> dict[str, Any]:
    """waitress's connection settings, from the ``SERVER_*`` settings (README's table). docs/deployment.md
    gives the reasons; tests/load/test_idle_connections.py checks that 150 silent connections lock no one out."""
    from webui.gunicorn_conf import allow_open_files

    limit = server_setting("SERVER_CONNECTION_LIMIT")
    fitting = allow_open_files(limit)  # the soft limit on open files is often 1024
    if fitting < limit:
        print(f"warning: only {fitting} connections fit under this process's limit on open files "
              f"(ulimit -n); CHATBOT_SERVER_CONNECTION_LIMIT asks for {limit}", file=sys.stderr, flush=True)
    return {
        # Beyond it waitress stops accepting, and new clients wait in the backlog until a connection closes.
        "connection_limit": fitting,
        "backlog": server_setting("SERVER_BACKLOG"),
        # A connection that sends nothing for this long is closed, whether idle between requests or
        # stalled in the middle of one; waitress looks for them every cleanup_interval (default 30 s).
        "channel_timeout": server_setting("SERVER_IDLE_TIMEOUT"),
        "cleanup_interval": server_setting("SERVER_CLEANUP_INTERVAL"),
        # select() (waitress's default) cannot watch a descriptor numbered above 1023; poll() can.
        "asyncore_use_poll": True,
    }


def server_setting(name: str) -> int:
    """A ``SERVER_*`` setting from the environment (``CHATBOT_<NAME>``), else its default; at least 1."""
    value = settings.environment_value(name)
    value = settings.BY_NAME[name].default if value is None else value
    if value < 1:
        raise ValueError(f"{settings.BY_NAME[name].env_name}={value} must be at least 1")
    return int(value)


def _serve_processes(args: argparse.Namespace, host_for_url: str) -> int:
    """``serve --workers N``: gunicorn, with the model loaded in every worker."""
    print(f"Serving the chat page at http://{host_for_url}:{args.port} ({args.workers} worker processes)", flush=True)
    try:
        config = {"MODEL_DIR": args.model, "VISION_MODEL_DIR": args.vision_model}
        serve_gunicorn(config, args.host, args.port, args.workers, args.threads)
    except RuntimeError as exc:  # no gunicorn on this platform
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the database cannot be opened
        print(f"error: could not start the server: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def serve_gunicorn(config: dict[str, Any], host: str, port: int, workers: int, threads: int) -> None:
    """Serve ``create_app(config)`` with gunicorn ``gthread`` workers; each worker builds its own app.

    The settings are those of ``webui/gunicorn_conf.py`` (``make serve-prod``), with the command line's
    address, workers and threads."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError as exc:  # gunicorn does not run on Windows
        raise RuntimeError("--workers above 1 needs gunicorn, which runs on Linux and macOS only") from exc

    from webui import create_app
    from webui.gunicorn_conf import (
        fit_worker_connections,
        prepare_database,
        prepare_metrics_dir,
        route_app_logs,
        server_options,
    )

    def on_starting(server: Any) -> None:  # in the master, before the fork: as gunicorn_conf.on_starting
        route_app_logs()
        prepare_metrics_dir()  # before prepare_database, whose create_app imports prometheus-client
        fit_worker_connections(server)
        prepare_database(config)  # a bad DATABASE_URL stops the server here with one line, status 1

    class ChatServer(BaseApplication):  # gunicorn's documented custom-application hook
        def load_config(self) -> None:
            for key, value in server_options(host, port, workers, threads).items():
                self.cfg.set(key, value)
            self.cfg.set("on_starting", on_starting)

        def load(self) -> Any:
            # The master prepared the schema: a worker's start needs no database (one restarting
            # during an outage still boots, and answers 503 until the database is back).
            return create_app({**config, "AUTO_MIGRATE": False})

    ChatServer().run()


def _port(value: str) -> int:
    port = _int(value, "port")
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {port}")
    return port


def _positive_int(value: str) -> int:
    number = _int(value, "value")
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _int(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be a whole number, got {value!r}") from None

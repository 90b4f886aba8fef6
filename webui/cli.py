"""The ``serve`` sub-command, contributed to the library's CLI through the ``chatbot.cli`` entry point."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from webui.model_cli import register as register_model_commands


def register(subparsers: Any) -> None:
    """Add ``serve`` to the ``python -m chatbot`` argument parser."""
    parser = subparsers.add_parser(
        "serve",
        help="serve the web chat page",
        description="Serve the Korean web chat page (and its JSON API) with waitress.",
    )
    parser.add_argument(
        "--model",
        default=os.environ.get("CHATBOT_MODEL", "models/default"),
        metavar="DIR",
        help="trained model directory (default: $CHATBOT_MODEL or models/default)",
    )
    parser.add_argument(
        "--vision-model",
        default=os.environ.get("CHATBOT_VISION_MODEL", "models/vision"),
        metavar="DIR",
        help="image model for /image, from `chatbot train-vision` (default: $CHATBOT_VISION_MODEL or "
        "models/vision); without one, /image says how to train it",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("HOST") or "127.0.0.1",
        help="address to listen on (default: $HOST or 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=os.environ.get("PORT") or "5000",  # argparse converts string defaults
        help="port to listen on (default: $PORT or 5000)",
    )
    parser.add_argument("--threads", type=_positive_int, default=8, help="threads per process (default: 8)")
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=os.environ.get("WORKERS") or "1",  # argparse converts string defaults
        help="server processes (default: $WORKERS or 1). Above 1, gunicorn forks that many workers "
        "(Linux and macOS), each with its own copy of the model; use one per CPU core",
    )
    parser.set_defaults(func=serve)
    register_model_commands(subparsers)

    from webui import account_cli

    account_cli.register(subparsers)


def serve(args: argparse.Namespace) -> int:
    """Build the app (with the model, or degraded without one) and serve it until interrupted; returns the exit code."""
    from chatbot.model_dir import ModelDir, ModelNotFound  # here: the web app imports without the library

    host_for_url = f"[{args.host}]" if ":" in args.host else args.host
    try:
        ModelDir(args.model).require()
    except ModelNotFound as exc:  # not fatal: the app starts degraded and loads the model once it appears
        print(f"warning: {exc}\nwarning: starting DEGRADED (rule-based fallback replies) until a model appears there.",
              file=sys.stderr, flush=True)
    if args.workers > 1:
        return _serve_processes(args, host_for_url)

    from webui import create_app
    from webui.extensions import HOLDER_KEY
    from webui.lifecycle import install_reload_signal
    from webui.server import serve_waitress

    try:
        app = create_app({"MODEL_DIR": args.model, "VISION_MODEL_DIR": args.vision_model})
    except Exception as exc:  # e.g. DATABASE_URL names a database that cannot be opened
        print(f"error: could not start the app (check DATABASE_URL): {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    served = app.extensions[HOLDER_KEY].served
    if served.degraded:
        print(f"warning: DEGRADED: no model could be loaded from '{args.model}' ({served.error}); "
              "serving the rule-based fallback", file=sys.stderr, flush=True)
    install_reload_signal(app)  # SIGHUP: reload the model now
    model = "degraded" if served.degraded else f"model {served.version}"
    print(f"Serving the chat page at http://{host_for_url}:{args.port} ({model})", flush=True)
    try:
        serve_waitress(app, host=args.host, port=args.port, threads=args.threads)
    except OSError as exc:  # port in use, address not available
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def _serve_processes(args: argparse.Namespace, host_for_url: str) -> int:
    """``serve --workers N``: gunicorn, with the model loaded in every worker."""
    from webui.server import serve_gunicorn

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

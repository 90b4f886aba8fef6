"""Running the app: waitress (one process, threads) or gunicorn (several processes, POSIX only).

One Python process answers one request at a time under the GIL, so on a machine with several
cores a single process queues concurrent users. ``--workers N`` (N > 1) forks N gunicorn worker
processes, each loading its own copy of the model (no preloading: tokenizer backends are native
libraries that are not documented as fork-safe). The master process creates the database tables
once, before any worker starts, so workers never race to create them.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def serve_waitress(app: Any, host: str, port: int, threads: int) -> None:
    """Serve ``app`` in this process with waitress."""
    import waitress

    waitress.serve(app, host=host, port=port, threads=threads)


def serve_gunicorn(config: dict[str, Any], host: str, port: int, workers: int, threads: int) -> None:
    """Serve ``create_app(config)`` with gunicorn ``gthread`` workers; each worker builds its own app."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError as exc:  # gunicorn does not run on Windows
        raise RuntimeError("--workers above 1 needs gunicorn, which runs on Linux and macOS only") from exc

    from webui import create_app

    create_app({**config, "DATABASE_ONLY": True})  # tables first, once, in the master

    class ChatServer(BaseApplication):  # gunicorn's documented custom-application hook
        def load_config(self) -> None:
            bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            options = {
                "bind": bind,
                "workers": workers,
                "worker_class": "gthread",
                "threads": threads,
                "keepalive": 5,
                # Loading the model takes seconds; the default 30 s also covers a slow disk.
                "timeout": 120,
                "accesslog": None,
                # gunicorn's runtime control socket has one default path per user; two servers on
                # one machine would fight over it, and nothing here uses it.
                "control_socket_disable": True,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(dict(config))

    ChatServer().run()

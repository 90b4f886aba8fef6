"""Running the app: waitress (one process, threads) or gunicorn (several processes, POSIX only).

One Python process answers one request at a time under the GIL, so on a machine with several
cores a single process queues concurrent users. ``--workers N`` (N > 1) forks N gunicorn worker
processes, each loading its own copy of the model (no preloading: tokenizer backends are native
libraries that are not documented as fork-safe). The master process creates the database tables
once, before any worker starts, so workers never race to create them. The gunicorn settings live in
``webui/gunicorn_conf.py``, shared with ``make serve-prod``.
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
    """Serve ``create_app(config)`` with gunicorn ``gthread`` workers; each worker builds its own app.

    The settings are those of ``webui/gunicorn_conf.py`` (``make serve-prod``), with the command line's
    address, workers and threads."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError as exc:  # gunicorn does not run on Windows
        raise RuntimeError("--workers above 1 needs gunicorn, which runs on Linux and macOS only") from exc

    from webui import create_app
    from webui.gunicorn_conf import prepare_database, route_app_logs, server_options

    def on_starting(_server: Any) -> None:  # in the master, before the fork: as gunicorn_conf.on_starting
        route_app_logs()
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

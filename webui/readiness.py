"""``GET /readyz``: whether this process should get users' requests (a load balancer's routing check).

``/healthz`` stays the liveness check (the process answers). ``/readyz`` answers 503, in the API's error
shape with every check beside it, while

- the app is **degraded** (serving the rule-based stand-in because the model did not load);
- the **database** does not answer ``SELECT 1`` within ``READYZ_TIMEOUT`` seconds;
- a **migration is pending**: the database's Alembic revision is older than this code's newest one, or
  there is no schema yet. A database *ahead* of this code (upgraded for a newer release during a rolling
  deploy) is ready: migrations add, and the old code keeps working until it is replaced.

and 200 with the same checks otherwise.

The database check never takes longer than ``READYZ_TIMEOUT``: it runs in a thread of its own, and a
check that has not answered by then reads as "database unavailable" (a network that drops packets can
hold a connection attempt for longer than any connect timeout promises). Probes that arrive while a check
runs wait for that one instead of starting another. On PostgreSQL the check has its own small pool, with
a connect timeout and a statement timeout, so that a pool busy with chat traffic never delays it.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from flask import Flask, Response, current_app, jsonify
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from webui.errors import error_response
from webui.extensions import db
from webui.lifecycle import HOLDER_KEY

READINESS_KEY = "chatbot.readiness"
NOT_READY_MESSAGES = {
    "model_degraded": "모델을 불러오지 못해서 지금은 요청을 받을 준비가 되지 않았어요.",
    "database_unavailable": "데이터베이스에 연결할 수 없어서 지금은 요청을 받을 준비가 되지 않았어요.",
    "migration_pending": "데이터베이스 스키마를 업그레이드해야 해서 지금은 요청을 받을 준비가 되지 않았어요.",
}


class SingleFlight:
    """Runs ``work`` in a daemon thread, one run at a time; callers arriving during a run share its result."""

    def __init__(self, work: Any) -> None:
        self.work = work
        self._lock = threading.Lock()
        self._running: dict[str, Any] | None = None

    def __call__(self, timeout: float) -> Any:
        """The result of a run (a fresh one, or the one under way); TimeoutError after ``timeout`` seconds."""
        with self._lock:
            run = self._running
            if run is None:
                run = self._running = {"done": threading.Event()}
                threading.Thread(target=self._run, args=(run,), name="readyz-check", daemon=True).start()
        if not run["done"].wait(timeout):
            raise TimeoutError(f"no answer within {timeout:g} s")
        if "error" in run:
            raise run["error"]
        return run["result"]

    def _run(self, run: dict[str, Any]) -> None:
        try:
            run["result"] = self.work()
        except Exception as exc:  # handed to the callers
            run["error"] = exc
        finally:
            with self._lock:
                self._running = None
            run["done"].set()


class Readiness:
    """The checks of one app: its model holder, its database and its migrations."""

    def __init__(self, app: Flask) -> None:
        from webui.schema import MIGRATIONS

        self.app = app
        self.timeout = float(app.config["READYZ_TIMEOUT"])
        self.heads, self.known = migration_revisions(MIGRATIONS)
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._check = SingleFlight(self._database_check)

    def engine(self) -> Engine:
        """PostgreSQL: a pool of the probe's own (made once); other databases: the app's engine."""
        from webui.database import is_postgres

        if not is_postgres(self.app):
            with self.app.app_context():
                return db.engine
        with self._engine_lock:
            if self._engine is None:
                self._engine = probe_engine(self.app.config, self.timeout)
            return self._engine

    def dispose(self) -> None:
        """Close the probe's own connections (tests, an app being thrown away)."""
        with self._engine_lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def _database_check(self) -> dict[str, Any]:
        """``SELECT 1``, then the schema's revision (run in the SingleFlight's thread)."""
        started = time.perf_counter()
        with self.engine().connect() as connection:
            connection.execute(text("SELECT 1"))
            millis = round((time.perf_counter() - started) * 1000, 1)
            revisions: set[str] = set()
            if inspect(connection).has_table("alembic_version"):
                revisions = {str(row[0]) for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
        return {"ms": millis, "revisions": revisions}

    def checks(self) -> dict[str, dict[str, Any]]:
        """Every check's outcome: ``{"model": {"ok", ...}, "database": {...}, "migrations": {...}}``."""
        holder = self.app.extensions.get(HOLDER_KEY)
        checks: dict[str, dict[str, Any]] = {}
        if holder is not None:
            holder.maybe_check()  # probes notice a promotion even when nobody chats
            served = holder.served
            checks["model"] = {"ok": not served.degraded, "version": served.version, "degraded": served.degraded}
            if served.degraded:
                checks["model"]["error"] = served.error
        try:
            found = self._check(self.timeout)
        except Exception as exc:  # unreachable, refused, timed out, or no answer in time
            from webui.database import get_outage, short_error

            get_outage(self.app).report(exc)  # logged once per outage, with the chat's 503s
            checks["database"] = {"ok": False, "error": short_error(exc)}
            checks["migrations"] = {"ok": False, "error": "unknown while the database is unavailable"}
            return checks
        checks["database"] = {"ok": True, "ms": found["ms"]}
        checks["migrations"] = self.migration_check(found["revisions"])
        return checks

    def migration_check(self, revisions: set[str]) -> dict[str, Any]:
        """Ready when the database is at this code's newest revision, or at one this code does not know."""
        current = sorted(revisions)
        heads = sorted(self.heads)
        if not revisions:
            return {"ok": False, "revision": None, "head": heads, "error": "no schema (alembic_version is empty)"}
        if revisions == self.heads or not revisions <= self.known:
            return {"ok": True, "revision": current, "head": heads}
        return {"ok": False, "revision": current, "head": heads,
                "error": "run: flask --app webui.manage db upgrade"}


def migration_revisions(directory: str) -> tuple[set[str], set[str]]:
    """The newest revisions of the migrations in ``directory`` and every revision they know."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(directory)
    return set(scripts.get_heads()), {script.revision for script in scripts.walk_revisions()}


def probe_engine(config: Any, timeout: float) -> Engine:
    """A small pool for ``/readyz`` on PostgreSQL: the app's connection options, with short timeouts."""
    from sqlalchemy.engine import make_url

    from webui.database import postgres_engine_options

    options = postgres_engine_options(config)
    url = make_url(str(config["SQLALCHEMY_DATABASE_URI"]))
    connect_args = dict(options["connect_args"])
    connect_args["connect_timeout"] = max(1, math.ceil(timeout))
    statement_ms = max(1, int(timeout * 1000))
    # libpq's ``options`` may come in the URL too (a search_path, say); connect_args would replace it, so
    # both are kept, with the statement timeout after them.
    given = [str(connect_args.get("options") or ""), str(url.query.get("options") or "")]
    connect_args["options"] = " ".join([*filter(None, given), f"-c statement_timeout={statement_ms}"])
    return create_engine(url, pool_size=1, max_overflow=1,
                         pool_timeout=timeout, pool_pre_ping=True, pool_recycle=options["pool_recycle"],
                         connect_args=connect_args)


def readyz() -> tuple[Response, int]:
    """``GET /readyz``: 200 with the checks when ready, else 503 in the error shape with the checks."""
    checks = current_app.extensions[READINESS_KEY].checks()
    failed = [name for name, check in checks.items() if not check["ok"]]
    if not failed:
        return jsonify({"status": "ready", "checks": checks}), 200
    code = {"model": "model_degraded", "database": "database_unavailable", "migrations": "migration_pending"}[failed[0]]
    response, status = error_response(503, code, NOT_READY_MESSAGES[code])
    body = response.get_json()
    body["checks"] = checks
    response = jsonify(body)
    response.headers["Retry-After"] = str(current_app.config["DATABASE_RETRY_AFTER"])
    return response, status


def init_app(app: Flask) -> None:
    """Attach the checks and ``/readyz`` (not to a ``DATABASE_ONLY`` app, which serves nothing)."""
    if app.config["DATABASE_ONLY"]:
        return
    app.extensions[READINESS_KEY] = Readiness(app)
    app.add_url_rule("/readyz", "readyz", readyz, methods=["GET"])

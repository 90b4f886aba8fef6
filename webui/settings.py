"""Every setting of the web app in one table: its default, its meaning, and how the environment sets it.

``create_app`` loads, each over the one before (flaskr's ``from_mapping``, then Flask's
``from_prefixed_env``):

1. the defaults below;
2. old environment names that still work (each logs one deprecation warning naming the new one);
3. the environment: ``CHATBOT_<NAME>`` sets ``<NAME>`` (``CHATBOT_MODEL_CHECK_SECONDS=0``);
4. the ``config`` dict given to ``create_app`` (tests, embedding).

Only this module reads the app's settings from the environment; everything else reads
``current_app.config["NAME"]``. ``markdown_table()`` writes the README's table (tests/webui/test_settings.py
checks that the two agree).
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PREFIX = "CHATBOT"
REPO_ROOT = Path(__file__).resolve().parents[1]
# Where ``serve``, ``promote`` and the WSGI app look when no MODEL_DIR/VISION_MODEL_DIR is set.
SERVED_MODEL_DIR = "models/default"
SERVED_VISION_MODEL_DIR = "models/vision"
# A chat message with a picture: the 10 MB image limit plus the form's other fields. JSON bodies
# keep their own 64 KB limit (``webui.api.MAX_JSON_BYTES``).
MAX_CONTENT_LENGTH = 10 * 1024 * 1024 + 64 * 1024
# Any non-multipart body under /api/ (JSON: login, titles, feedback...).
MAX_API_BODY_BYTES = 1024 * 1024
# Non-file form fields and parts of one request (Werkzeug's defaults are 500 KB and 1000 parts);
# the largest form we have is a chat message of 1,000 characters with a picture.
MAX_FORM_MEMORY_SIZE = 64 * 1024
MAX_FORM_PARTS = 100
FALSE_WORDS = ("0", "false", "no", "off")
TRUE_WORDS = ("1", "true", "yes", "on")
# CHATBOT_ names that are not app settings: read by the library, or before the app exists.
NOT_APP_SETTINGS = ("ALLOW_DOWNLOAD", "INSTANCE_PATH")
# Conventional names that platforms set themselves (Heroku, Render, Fly.io, docker-compose files):
# accepted without a warning, below the CHATBOT_ name.
CONVENTIONAL_NAMES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}


@dataclass(frozen=True)
class InInstance:
    """A default inside the app's instance folder (known only once the app exists)."""

    relative: str
    scheme: str = ""

    def resolve(self, instance_path: str) -> str:
        """The default for an app whose instance folder is ``instance_path``."""
        return self.scheme + os.path.join(instance_path, self.relative)

    def __str__(self) -> str:
        return f"{self.scheme}instance/{self.relative}"


@dataclass(frozen=True)
class Setting:
    """One app config key: its default, a one-line meaning, and how an environment value is read."""

    name: str
    default: Any
    meaning: str
    type: type | None = str  # bool, int, float, str; None: JSON where it parses (Flask's rule), else the text
    old_names: tuple[str, ...] = ()  # environment names that still work, with a deprecation warning
    from_environment: bool = True  # False: objects and switches that only code passes (tests, servers)

    @property
    def env_name(self) -> str | None:
        """The environment variable that sets it, if any."""
        return f"{PREFIX}_{self.name}" if self.from_environment else None


SETTINGS: tuple[Setting, ...] = (
    # --- the models
    Setting("MODEL_DIR", None, "Trained model directory to serve (`serve`, `promote` and the WSGI app use "
            f"`{SERVED_MODEL_DIR}` when unset).", old_names=("CHATBOT_MODEL",)),
    Setting("VISION_MODEL_DIR", None, "Image model for `/image` (`serve` and the WSGI app use "
            f"`{SERVED_VISION_MODEL_DIR}`); without one, `/image` says how to train it.",
            old_names=("CHATBOT_VISION_MODEL",)),
    Setting("MODEL_CHECK_SECONDS", 2.0, "How often requests look for a new model; 0: only on SIGHUP or the admin API.",
            float, old_names=("MODEL_CHECK_SECONDS",)),
    Setting("MODEL_KEEP_RELEASES", 5, "Release folders a promotion keeps, the live one included.", int),
    Setting("TRAINED_MODELS_DIR", None, "Another folder the admin API may promote models from, besides `models/`."),
    Setting("BOT", None, "A bot object to serve instead of loading `MODEL_DIR` (tests, embedding).",
            None, from_environment=False),
    Setting("MODEL_LOADER", None, "A function `(model_dir, vision_model_dir) -> bot` replacing `Bot.load` (tests).",
            None, from_environment=False),
    Setting("DATABASE_ONLY", False, "Tables only, no model (a gunicorn master, schema tools).", bool,
            from_environment=False),
    # --- the database
    Setting("SQLALCHEMY_DATABASE_URI", InInstance("chat.db", "sqlite:///"),
            "The database: `postgresql://user@host/db` for several processes or machines."),
    Setting("SQLALCHEMY_ENGINE_OPTIONS", {}, "SQLAlchemy engine options; they win over the pool settings below.",
            None),
    Setting("AUTO_MIGRATE", True, "Create or upgrade the schema at start; off where a deploy runs "
            "`flask --app webui.manage db upgrade` once.", bool, old_names=("AUTO_MIGRATE",)),
    Setting("SCHEMA_READY", False, "Set by the gunicorn master once it has prepared the schema: workers skip "
            "that step.", bool),
    Setting("DATABASE_POOL_SIZE", 5, "PostgreSQL: connections kept open per worker process.", int,
            old_names=("DATABASE_POOL_SIZE",)),
    Setting("DATABASE_MAX_OVERFLOW", 5, "PostgreSQL: extra connections opened under load.", int,
            old_names=("DATABASE_MAX_OVERFLOW",)),
    Setting("DATABASE_POOL_TIMEOUT", 5, "PostgreSQL: seconds a request waits for a free connection, then 503.", int,
            old_names=("DATABASE_POOL_TIMEOUT",)),
    Setting("DATABASE_POOL_RECYCLE", 1800, "PostgreSQL: seconds after which a connection is reopened.", int,
            old_names=("DATABASE_POOL_RECYCLE",)),
    Setting("DATABASE_CONNECT_TIMEOUT", 5, "PostgreSQL: seconds to open a connection.", int,
            old_names=("DATABASE_CONNECT_TIMEOUT",)),
    Setting("DATABASE_RETRY_AFTER", 5, "The `Retry-After` seconds of a 503 while the database is down.", int,
            old_names=("DATABASE_RETRY_AFTER",)),
    Setting("SQLITE_BUSY_TIMEOUT_MS", 5000, "SQLite: milliseconds a writer waits for another's lock, then 503.", int,
            old_names=("SQLITE_BUSY_TIMEOUT_MS",)),
    Setting("SQLITE_WRITE_LOCK", True, "SQLite: one writing request at a time in a process (faster than SQLite's "
            "busy wait).", bool),
    # --- security
    Setting("SECRET_KEY", None, "Signs sessions and CSRF tokens; unset: 32 random bytes kept in "
            "`instance/secret_key`. Machines behind one address need the same one.", old_names=("SECRET_KEY",)),
    Setting("SESSION_COOKIE_SECURE", False, "On behind HTTPS: cookies get `Secure`, responses send "
            "`Strict-Transport-Security`.", bool, old_names=("SESSION_COOKIE_SECURE",)),
    Setting("SESSION_COOKIE_SAMESITE", "Lax", "The session cookie's `SameSite` (`Strict` is stricter).", ),
    Setting("REMEMBER_COOKIE_DURATION", 30 * 24 * 3600, "Seconds a \"remember me\" login lasts.", int),
    Setting("PASSWORD_HASH_METHOD", "scrypt", "Werkzeug's password hash method for new passwords."),
    Setting("WTF_CSRF_ENABLED", True, "The CSRF check of form pages (off only in tests).", bool),
    Setting("ALLOWED_ORIGINS", "", "Comma-separated origins (`https://chat.example.com`) whose pages may call the "
            "JSON API besides the app's own.", None),
    Setting("TRUSTED_PROXIES", 0, "Reverse proxies in front of the app (a load balancer: 1); their "
            "`X-Forwarded-*` headers then count. 0 where clients reach the server directly.", int,
            old_names=("TRUSTED_PROXIES",)),
    Setting("MAX_CONTENT_LENGTH", MAX_CONTENT_LENGTH, "Bytes of any request body (a picture with its message).", int),
    Setting("MAX_API_BODY_BYTES", MAX_API_BODY_BYTES, "Bytes of a non-multipart body under `/api/`.", int),
    Setting("MAX_FORM_MEMORY_SIZE", MAX_FORM_MEMORY_SIZE, "Bytes of a form's non-file fields.", int),
    Setting("MAX_FORM_PARTS", MAX_FORM_PARTS, "Parts of one multipart form.", int),
    # --- the server's connections (issue 23; read by `serve` and gunicorn_conf.py before any app exists;
    # docs/deployment.md gives the reasons for each value)
    Setting("SERVER_CONNECTION_LIMIT", 1000, "Open connections one server process holds (waitress's "
            "`connection_limit`; each gunicorn worker's `worker_connections`); more wait in the backlog.", int),
    Setting("SERVER_IDLE_TIMEOUT", 15, "`serve` (waitress): seconds a silent connection (idle keep-alive, a request "
            "stalled half-sent) stays open; closed within this + `SERVER_CLEANUP_INTERVAL` + 1 s.", int),
    Setting("SERVER_CLEANUP_INTERVAL", 2, "`serve` (waitress): how often, in seconds, silent connections are "
            "looked for.", int),
    Setting("SERVER_BACKLOG", 2048, "Connections the kernel queues for the server while it is at its limit "
            "(Linux caps it at `net.core.somaxconn`).", int),
    # --- rate limits
    Setting("RATELIMIT_ENABLED", True, "Rate limits; off for load tests.", bool),
    Setting("RATELIMIT_STORAGE_URI", "memory://", "Where rate-limit counters live: `memory://` per process, "
            "`redis://127.0.0.1:6379/0` shared by workers and machines.", old_names=("RATELIMIT_STORAGE_URI",)),
    Setting("RATELIMIT_CHAT", "30 per minute", "Messages per client to `/api/chat` (a logged-in user, else an "
            "address)."),
    Setting("RATELIMIT_AUTH", "10 per minute", "Login and registration attempts per address."),
    Setting("RATELIMIT_DEFAULT", "300 per minute", "Every other route, per client and route (`/healthz`, `/readyz` "
            "and `/metrics` are never limited)."),
    # --- logs, metrics and probes (webui/observability.py, webui/metrics.py, webui/readiness.py)
    Setting("LOG_FORMAT", "json", "Server logs (`serve`, gunicorn): `json`, one object a line with the request id "
            "(for a log pipeline), or `text` (for reading in a terminal; `make run` uses it)."),
    Setting("METRICS", False, "`/metrics` in Prometheus' format; off: no such route.", bool),
    Setting("METRICS_TOKEN", "", "With `METRICS` on: the bearer token `/metrics` requires; empty: none (keep the "
            "route off the public address)."),
    Setting("READYZ_TIMEOUT", 1.0, "Seconds `/readyz` waits for the database before it answers 503.", float),
    # --- chat, uploads and the trainer console
    Setting("HISTORY_MESSAGES", 10, "Earlier messages of a conversation given to the bot as context.", int),
    # --- the bot's actions (chatbot.actions)
    Setting("ACTION_TIMEOUT", 5.0, "Seconds an action (a reminder, the weather...) may take before the user gets "
            "a polite apology instead.", float),
    Setting("WEATHER_URL", "", "The weather provider's URL (an Open-Meteo-style JSON API); empty: no provider, "
            "and the bot says that it cannot fetch the weather now."),
    Setting("WEATHER_API_KEY", "", "The weather provider's key, if it needs one (never logged)."),
    Setting("WEATHER_TIMEOUT", 3.0, "Seconds to wait for the weather provider.", float),
    Setting("SHARED_DIR", "", "One folder that several machines share (docs/deployment.md): when set, "
            "`UPLOAD_FOLDER`, `TRAINER_DIR` and the served models (`MODEL_DIR`, `VISION_MODEL_DIR`) default to "
            "its `uploads`, `trainer`, `models/default` and `models/vision`; empty: each machine's own folders."),
    Setting("UPLOAD_FOLDER", InInstance("uploads"), "Where pictures and tables sent in the chat are kept; "
            "shared storage when several machines serve one database.", old_names=("UPLOAD_FOLDER",)),
    Setting("TRAINER_DIR", InInstance("trainer"), "The trainer console's uploaded corpora and jobs."),
    Setting("TRAINER_MAX_UPLOAD_BYTES", 5 * 1024 * 1024, "The largest corpus file the console takes.", int),
    Setting("TRAINER_BASE_CORPUS", str(REPO_ROOT / "data" / "corpus"), "The corpus a job may add to an upload "
            "(the \"기본 코퍼스도 함께\" box); empty: none."),
    Setting("TRAINER_TRAIN_COMMAND", None, "The command before `--data`, as a JSON list; unset: this Python's "
            "`-m chatbot train`.", None),
    Setting("TRAINER_CANCEL_GRACE_SECONDS", 5.0, "Seconds a cancelled job gets between SIGTERM and SIGKILL.", float),
    # --- training jobs on a queue (webui/trainer/rq_backend.py, docs/deployment.md)
    Setting("TRAINER_QUEUE_URL", "", "Redis for training jobs (`redis://127.0.0.1:6379/1`): jobs go to an RQ queue "
            "that `python -m chatbot worker` runs, on any machine sharing `TRAINER_DIR`; empty: a subprocess of "
            "the web machine, one job at a time. Not `RATELIMIT_STORAGE_URI`'s Redis by default (see "
            "docs/deployment.md)."),
    Setting("TRAINER_QUEUE_NAME", "training", "The RQ queue of training jobs (the worker's `--queue`)."),
    Setting("TRAINER_JOB_TIMEOUT", 6 * 3600, "With the queue: seconds a training job may run before its worker "
            "stops it (failed, with the limit in its error).", int),
)
BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}
# The folders that several machines must see alike, which SHARED_DIR gives one default (the served models too:
# served_model_dirs).
SHARED = ("UPLOAD_FOLDER", "TRAINER_DIR")

_warned: set[str] = set()
_warned_lock = threading.Lock()


def defaults() -> dict[str, Any]:
    """Every setting's default (``InInstance`` ones still unresolved)."""
    return {setting.name: copy.deepcopy(setting.default) for setting in SETTINGS}  # no dict shared by two apps


def instance_path() -> str | None:
    """``CHATBOT_INSTANCE_PATH``: a server of its own (load tests) keeps its files apart from the checkout's."""
    return os.environ.get(f"{PREFIX}_INSTANCE_PATH") or None


def parse(setting: Setting, value: Any, source: str) -> Any:
    """An environment value as the setting's type; ``source`` names the variable in the error."""
    try:
        if setting.type is bool:
            return _flag(value)
        if setting.type in (int, float):
            return setting.type(value)
    except ValueError:
        kind = {bool: "on or off (1/0, true/false)", int: "a whole number", float: "a number"}[setting.type]
        raise ValueError(f"{source}={value!r} is not {kind}; set it like "
                         f"{source}={_shown(setting.default)}") from None
    return value


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in FALSE_WORDS or word == "":
            return False
        if word in TRUE_WORDS:
            return True
        raise ValueError(value)
    return bool(value)


def warn_once(old: str, new: str) -> None:
    """Log, once per process, that the environment variable ``old`` is deprecated for ``new``."""
    with _warned_lock:
        if old in _warned:
            return
        _warned.add(old)
    logger.warning("The environment variable %s is deprecated and will stop working; set %s instead", old, new)


def environment_value(name: str) -> Any:
    """The setting ``name`` as the environment gives it (its ``CHATBOT_`` name, else an old one), or None.

    For the command line, whose flags' defaults come from the environment before any app exists."""
    setting = BY_NAME[name]
    new = setting.env_name
    if new and os.environ.get(new):
        return parse(setting, os.environ[new], new)
    for old in setting.old_names:
        if os.environ.get(old):
            warn_once(old, str(new))
            return parse(setting, os.environ[old], old)
    return None


def served_model_dirs() -> dict[str, str]:
    """``MODEL_DIR`` and ``VISION_MODEL_DIR`` for a server: the environment's, else ``models/default`` and
    ``models/vision`` (inside ``SHARED_DIR`` when it is set)."""
    shared = environment_value("SHARED_DIR") or ""
    return {"MODEL_DIR": environment_value("MODEL_DIR") or shared_path(shared, SERVED_MODEL_DIR),
            "VISION_MODEL_DIR": environment_value("VISION_MODEL_DIR") or shared_path(shared, SERVED_VISION_MODEL_DIR)}


def shared_path(shared: str, relative: str) -> str:
    """``relative`` inside the shared folder, or as it is when there is none."""
    return os.path.join(shared, relative) if str(shared).strip() else relative


def server_variable(name: str, default: str, old: str | None = None) -> str:
    """A variable of the server rather than the app (``HOST``, ``PORT``, ``WEB_CONCURRENCY``: the names
    gunicorn and hosting platforms use), for ``serve``'s defaults; ``old`` still works, with a warning."""
    if os.environ.get(name, "").strip():
        return os.environ[name].strip()
    if old and os.environ.get(old, "").strip():
        warn_once(old, name)
        return os.environ[old].strip()
    return default


def load(config: Any, given: Mapping[str, Any] | None, instance: str) -> None:
    """Fill the Flask ``config``: defaults, old names, ``CHATBOT_*``, then ``given``; instance paths resolved."""
    config.from_mapping(defaults())
    _load_old_names(config)
    config.from_prefixed_env(PREFIX)
    _drop_other_names(config)
    for setting in SETTINGS:
        name = setting.env_name
        if name and name in os.environ:
            # from_prefixed_env parses JSON ("0" is 0, "1e3" is 1000.0); a text setting keeps the text.
            raw = os.environ[name]
            config[setting.name] = raw if setting.type is str else parse(setting, config[setting.name], name)
    if given:
        config.update(given)
    shared = str(config.get("SHARED_DIR") or "").strip()
    for key, value in config.items():
        if isinstance(value, InInstance):  # still the default: in the shared folder, or the instance folder
            config[key] = shared_path(shared, value.relative) if shared and key in SHARED else value.resolve(instance)


def _load_old_names(config: Any) -> None:
    """Old environment names, and conventional ones (``DATABASE_URL``), below the ``CHATBOT_`` names."""
    for old, key in CONVENTIONAL_NAMES.items():
        if os.environ.get(old):
            config[key] = os.environ[old]
    for setting in SETTINGS:
        for old in setting.old_names:
            raw = os.environ.get(old, "")
            if raw.strip():
                warn_once(old, str(setting.env_name))
                config[setting.name] = raw if setting.type is str else parse(setting, raw, old)


def _drop_other_names(config: Any) -> None:
    """Undo what ``from_prefixed_env`` took from ``CHATBOT_`` names that set no setting: the library's
    (``CHATBOT_ALLOW_DOWNLOAD``), old ones (``CHATBOT_MODEL``), code-only keys, and typos (logged)."""
    from flask import Flask

    prefix = f"{PREFIX}_"
    old = {name for setting in SETTINGS for name in setting.old_names}
    for name in os.environ:
        if not name.startswith(prefix):
            continue
        key = name[len(prefix):].split("__")[0]
        setting = BY_NAME.get(key)
        if (setting is not None and setting.from_environment) or (setting is None and key in Flask.default_config):
            continue
        if key in config and key not in BY_NAME:
            del config[key]
        elif setting is not None:
            config[key] = setting.default
        if name not in old and key not in NOT_APP_SETTINGS:
            logger.warning("%s is not a setting the environment can set (README.md lists them); ignored", name)


def _shown(value: Any) -> str:
    """A default as the README shows it."""
    if value is None or value == "" or value == {}:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str) and value.startswith(str(REPO_ROOT)):
        return os.path.relpath(value, REPO_ROOT)
    return str(value)


def markdown_table() -> str:
    """The README's settings table."""
    rows = ["| Setting | Environment | Default | Meaning |", "| --- | --- | --- | --- |"]
    for setting in SETTINGS:
        env = f"`{setting.env_name}`" if setting.env_name else "— (code only)"
        if setting.name == "SQLALCHEMY_DATABASE_URI":
            env += ", `DATABASE_URL`"
        if setting.old_names:
            env += " (was " + ", ".join(f"`{old}`" for old in setting.old_names) + ", deprecated)"
        rows.append(f"| `{setting.name}` | {env} | `{_shown(setting.default)}` | {setting.meaning} |"
                    .replace("`—`", "—"))
    return "\n".join(rows)

"""The model the app serves: a holder that loads it at start, notices a new one and swaps it in.

- ``MODEL_DIR`` is watched: at most once per ``MODEL_CHECK_SECONDS`` (default 2) a request looks at
  where the path now resolves (``realpath`` and three ``stat`` calls). When that changed (a
  promotion swapped the link, ``chatbot train`` replaced the directory), a background thread loads
  the new model and swaps it in when ready, so no request waits for a load. Every gunicorn worker,
  and every machine sharing the folder, picks a promotion up this way by itself.
- A swap is one reference assignment under a lock; a request keeps the bot it started with
  (``get_bot`` remembers it for the request), so a swap never breaks a reply in flight.
- One load at a time. A failed load logs an ERROR and keeps serving the model that was there; a
  path that is missing for a moment (a plain directory being moved into the releases) is ignored.
- No model at start (missing or corrupt directory): the app still starts, **degraded**, serving
  ``chatbot.degraded.RuleBasedBot``, and leaves degraded mode by itself once a model appears.
- ``BOT`` in the config (tests, embedding) serves that object and watches nothing.
- Every bot loaded here gets the actions' services from the settings (``bot_services``: the weather
  provider, the actions' time limit) before it serves; a given ``BOT`` is served as its maker set it up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g

from webui.releases import as_model_dir, model_version
from webui.settings import BY_NAME

logger = logging.getLogger(__name__)
HOLDER_KEY = "chatbot.model"  # app.extensions key of the ModelHolder

DEFAULT_CHECK_SECONDS = float(BY_NAME["MODEL_CHECK_SECONDS"].default)  # a holder built outside create_app
RELOAD_TIMEOUT = 300.0  # seconds an explicit reload waits for a load already running


class ReloadError(RuntimeError):
    """An explicit reload that did not put a new model in place; the old one is still served."""


@dataclass(frozen=True)
class Served:
    """What the app serves now: swapped as a whole, never changed in place."""

    bot: Any
    version: str | None
    path: str | None
    resolved: str | None
    loaded_at: str
    degraded: bool
    error: str | None = None


class ModelHolder:
    """Keeps the served bot, watches ``model_dir`` and swaps in new versions (see the module docstring)."""

    def __init__(self, model_dir: str | None, vision_model_dir: str | None = None,
                 loader: Callable[[str, str | None], Any] | None = None,
                 check_seconds: float = DEFAULT_CHECK_SECONDS, bot: Any = None,
                 services: dict[str, Any] | None = None):
        self.services = dict(services) if services is not None else None  # given to every bot loaded
        self.model_dir = str(model_dir) if model_dir else None
        self.vision_model_dir = str(vision_model_dir) if vision_model_dir else None
        self.check_seconds = float(check_seconds)
        self._loader = loader or default_loader
        self._lock = threading.Lock()  # guards _served, _seen and _next_check
        self._load_lock = threading.Lock()  # held while a model loads: one load at a time
        self._next_check = time.monotonic() + self.check_seconds
        self._seen: tuple | None = None  # identity of the directory last loaded or tried
        self.last_error: str | None = None
        self.loading = False
        if bot is not None:
            degraded = bool(getattr(bot, "degraded", False))
            self._served = Served(bot, _bot_version(bot), self.model_dir, None, _now(), degraded)
            self.model_dir = None  # a given bot: nothing to watch
            return
        self._served = Served(None, None, self.model_dir, None, _now(), True, "not loaded yet")
        identity = model_identity(self.model_dir)
        if identity is None:
            from chatbot.model_dir import ModelNotFound  # here: the web app imports without the library

            self._go_degraded(ModelNotFound.reason(self.model_dir))
        else:
            with self._load_lock:
                self._load(identity)

    @property
    def served(self) -> Served:
        """The current state, as one consistent snapshot."""
        return self._served

    def current(self) -> Any:
        """The bot to answer with now (after a cheap, rate-limited look for a new model)."""
        self.maybe_check()
        return self._served.bot

    def maybe_check(self) -> None:
        """Look for a new model if ``check_seconds`` passed since the last look."""
        if self.model_dir is None or self.check_seconds <= 0 or time.monotonic() < self._next_check:
            return  # nothing to watch, watching off, or looked recently
        with self._lock:
            now = time.monotonic()
            if now < self._next_check:
                return  # another request is looking
            self._next_check = now + self.check_seconds
        self.check()

    def check(self, force: bool = False) -> bool:
        """Start a background load when the path resolves to a new directory (or ``force``); True if started."""
        if self.model_dir is None:
            return False
        identity = model_identity(self.model_dir)
        if identity is None or (identity[1] == self._seen and not force):
            return False  # nothing there (perhaps for a moment), or what we already tried
        if not self._load_lock.acquire(blocking=False):
            return False  # a load is running; the next check sees what it missed
        thread = threading.Thread(target=self._load_and_release, args=(identity,), name="model-reload", daemon=True)
        self.loading = True
        thread.start()
        return True

    def reload(self, timeout: float = RELOAD_TIMEOUT) -> Served:
        """Load the model at the path now, in this thread, even if it did not change; raise ReloadError on failure."""
        if self.model_dir is None:
            raise ReloadError("this app serves a bot given in its config (BOT); there is no model path to reload")
        if not self._load_lock.acquire(timeout=timeout):
            raise ReloadError(f"another model load did not finish within {timeout:.0f} s")
        try:
            identity = model_identity(self.model_dir)
            if identity is None:
                from chatbot.model_dir import ModelNotFound

                raise ReloadError(ModelNotFound.reason(self.model_dir))
            if not self._load(identity):
                raise ReloadError(self.last_error or "the model did not load")
        finally:
            self._load_lock.release()
        return self._served

    def reload_quietly(self) -> None:
        """``reload`` for a signal handler's thread: failures are logged, not raised."""
        try:
            self.reload()
        except ReloadError as exc:
            logger.error("Reload requested (SIGHUP) but not done: %s", exc)

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait until no load is running (tests, tools); True if none is."""
        if not self._load_lock.acquire(timeout=timeout):
            return False
        self._load_lock.release()
        return True

    def _load_and_release(self, identity: tuple[str, tuple]) -> None:
        try:
            self._load(identity)
        finally:
            self.loading = False
            self._load_lock.release()

    def _load(self, identity: tuple[str, tuple]) -> bool:
        """Load the directory ``identity`` names (the caller holds the load lock) and swap it in; True if done."""
        resolved, key = identity
        try:
            bot = self._loader(resolved, self.vision_model_dir)
            version = model_version(resolved)
            if self.services is not None:  # before the swap: no request sees the bot without them
                bot.services = {**(getattr(bot, "services", None) or {}), **self.services}
        except Exception as exc:  # whatever a broken model raises, the server keeps serving
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())  # one log line, even for a YAML error
            with self._lock:
                self._seen, self.last_error = key, reason
            if self._served.degraded:
                self._go_degraded(reason)
            else:
                logger.error("Could not load the new model from '%s' (%s): %s; still serving version %s",
                             self.model_dir, resolved, reason, self._served.version)
            return False
        new = Served(bot, version, self.model_dir, resolved, _now(), False)
        with self._lock:
            old, self._served, self._seen, self.last_error = self._served, new, key, None
        if old.bot is None:
            logger.info("Model version %s loaded from '%s'", version, resolved)
        elif old.degraded:
            logger.warning("Model version %s loaded from '%s'; leaving degraded mode", version, resolved)
        else:
            logger.info("Model version %s loaded from '%s' (was %s)", version, resolved, old.version)
        return True

    def _go_degraded(self, reason: str) -> None:
        from chatbot.model_dir import train_hint

        hint = train_hint(self.model_dir)
        logger.error("DEGRADED: could not load the model from '%s': %s; serving the rule-based stand-in. "
                     "Train one with: %s", self.model_dir, reason, hint)
        bot = self._served.bot
        if bot is None:  # the first failure: make the stand-in once (it may load the image model)
            from chatbot.degraded import RuleBasedBot

            bot = RuleBasedBot.create(reason, self.vision_model_dir)
        bot.reason = reason
        with self._lock:
            self._served, self.last_error = Served(bot, None, self.model_dir, None, _now(), True, reason), reason

    def state(self) -> dict[str, Any]:
        """The holder's state as JSON-ready data (health check, admin API)."""
        served = self._served
        meta = getattr(served.bot, "meta", None)
        meta = meta if isinstance(meta, dict) else {}
        intents = meta.get("intents", (meta.get("data") or {}).get("intents"))  # chatbot train: data.intents
        return {
            "version": served.version, "path": served.path, "resolved": served.resolved,
            "loaded_at": served.loaded_at, "degraded": served.degraded, "created_at": meta.get("created_at"),
            "tokenizer": meta.get("tokenizer"),
            "intents": len(intents) if isinstance(intents, (list, tuple, dict, set)) else intents,
            "error": served.error if served.degraded else self.last_error,
        }


def model_identity(model_dir: str | None) -> tuple[str, tuple] | None:
    """``(resolved directory, identity key)`` for the model the path names now (``ModelDir.identity``),
    or None when there is none: a new link target, a directory renamed into place, or a rewritten model
    change the key; renaming a directory (into the releases) does not."""
    return as_model_dir(model_dir).identity() if model_dir else None


def default_loader(model_dir: str, vision_model_dir: str | None) -> Any:
    """The library's ``Bot.load`` (through ``load_bot``)."""
    return load_bot(model_dir, vision_model_dir)


def init_app(app: Flask) -> None:
    """Attach the model holder: ``BOT`` from the config, else the model in ``MODEL_DIR`` (loaded now;
    degraded when it cannot be). ``DATABASE_ONLY`` apps (a multi-process server's master, schema
    tools) carry no model. ``MODEL_CHECK_SECONDS`` (0 turns watching off, leaving
    SIGHUP and the admin API) sets how often requests look for a new model. ``MODEL_LOADER`` replaces
    ``Bot.load`` (tests)."""
    if app.config["DATABASE_ONLY"]:
        return
    bot, model_dir = app.config["BOT"], app.config["MODEL_DIR"]
    if bot is None and not model_dir:
        raise ValueError("create_app needs MODEL_DIR (a trained model directory) or BOT in its config")
    app.extensions[HOLDER_KEY] = ModelHolder(
        str(model_dir) if model_dir else None, app.config["VISION_MODEL_DIR"],
        loader=app.config["MODEL_LOADER"],
        check_seconds=float(app.config["MODEL_CHECK_SECONDS"]),
        bot=bot, services=bot_services(app.config))


def bot_services(config: Any) -> dict[str, Any]:
    """What the bot's actions get from the settings (``Bot.services``): the weather provider (no URL: none)
    and the seconds an action may take."""
    return {"weather": {"url": str(config["WEATHER_URL"] or ""), "key": str(config["WEATHER_API_KEY"] or ""),
                        "timeout": float(config["WEATHER_TIMEOUT"])},
            "action_timeout": float(config["ACTION_TIMEOUT"])}


def install_reload_signal(app: Flask) -> bool:
    """In a single-process server, SIGHUP reloads the model now (in a thread: a handler must not block
    the server's loop). Only from the main thread, only where SIGHUP exists; True if installed.
    Not for gunicorn, whose master turns SIGHUP into a graceful restart of the workers."""
    holder = app.extensions.get(HOLDER_KEY)
    if holder is None or holder.model_dir is None or not hasattr(signal, "SIGHUP"):
        return False
    if threading.current_thread() is not threading.main_thread():
        return False

    def on_hangup(_signum: int, _frame: Any) -> None:
        logger.info("SIGHUP: reloading the model from '%s'", holder.model_dir)
        threading.Thread(target=holder.reload_quietly, name="model-reload-sighup", daemon=True).start()

    signal.signal(signal.SIGHUP, on_hangup)
    return True


def _bot_version(bot: Any) -> str | None:
    """A given bot's version: its directory's when it has one, else a short hash of its meta."""
    model_dir = getattr(bot, "model_dir", None)
    if model_dir and as_model_dir(model_dir).exists():
        return model_version(model_dir)
    meta = getattr(bot, "meta", None)
    if getattr(bot, "degraded", False) or not isinstance(meta, dict):
        return None
    return hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def load_bot(model_dir: str | Path, vision_model: str | Path | None = None) -> Any:
    """Load a trained model directory with the library's ``Bot.load``, with the ``/image`` model when given;
    ``chatbot.model_dir.ModelNotFound`` when there is none."""
    # Imported here so that the web app (and its tests) import without the library.
    from chatbot.bot import Bot
    from chatbot.model_dir import ModelDir

    path = ModelDir(model_dir).require().path

    logger.info("Loading the chatbot model from %s", path)
    return Bot.load(path, vision_model)


def get_bot() -> Any:
    """The bot serving the current request: the holder's current one, remembered for the request so
    that a model swapped in meanwhile never changes the bot under a reply in flight."""
    bot = g.get("chatbot_bot")
    if bot is None:
        bot = g.chatbot_bot = get_holder().current()
    return bot


def get_holder() -> Any:
    """The current app's ``webui.lifecycle.ModelHolder``."""
    return current_app.extensions[HOLDER_KEY]

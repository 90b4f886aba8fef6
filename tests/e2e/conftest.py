"""Browser tests: Playwright for Python driving Debian's Chromium against a real server on loopback.

The server is the real app (``create_app``) on the session's default model and digits image model,
served by werkzeug in a thread, with its own SQLite file, uploads and trainer folders. Chromium is
the system's (``/usr/bin/chromium``, or ``CHROMIUM_PATH``); Playwright never downloads a browser.

Where Chromium or Playwright is missing the tests skip, and the run ends with a plain note saying
how to enable them. Under ``CI=true`` a skip is a failure: CI installs Chromium (``.ci/run``).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Flags that keep headless Chromium off the network (this machine has none) and quiet: no sync,
# component updates, field trials, translation or first-run work, and a fresh profile per launch.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--disable-breakpad",
    "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter,InterestFeedContentSuggestions",
]
ENABLE_HINT = ("install Debian's Chromium (`sudo apt-get install chromium`) or point CHROMIUM_PATH at a "
               "Chromium binary; Playwright for Python comes with `make setup`")
FAST_HASH = "pbkdf2:sha256:1000"
_skipped: list[str] = []


def chromium_path() -> str | None:
    """The system Chromium, or None."""
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed"
    if chromium_path() is None:
        return "no Chromium binary found"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing_reason()
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(f"browser tests cannot run in CI: {reason}; {ENABLE_HINT}")
    marker = pytest.mark.skip(reason=f"browser tests skipped: {reason}")
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(marker)
            _skipped.append(item.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _skipped:
        terminalreporter.write_line(
            f"NOTE: {len(_skipped)} browser tests were SKIPPED ({missing_reason()}). To run them, {ENABLE_HINT}.",
            yellow=True, bold=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class LiveServer:
    """The app served on 127.0.0.1 in a thread, with helpers to set up users directly in its database."""

    def __init__(self, app: Any, port: int) -> None:
        self.app = app
        self.url = f"http://127.0.0.1:{port}"

    def add_user(self, username: str, password: str = "비밀번호1234", role: str = "user") -> tuple[str, str]:
        from webui.auth import create_user
        from webui.extensions import db

        with self.app.app_context():
            db.session.add(create_user(username, password, role))
            db.session.commit()
        return username, password


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, trained_model_dir: Path,
                vision_model_dir: Path) -> Iterator[LiveServer]:
    from werkzeug.serving import make_server

    from webui import create_app

    base = tmp_path_factory.mktemp("e2e_server")
    served = base / "models" / "default"
    shutil.copytree(trained_model_dir, served)
    app = create_app({
        "MODEL_DIR": str(served), "VISION_MODEL_DIR": str(vision_model_dir),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{base / 'e2e.db'}", "UPLOAD_FOLDER": str(base / "uploads"),
        "TRAINER_DIR": str(base / "trainer"), "SECRET_KEY": "e2e secret key", "PASSWORD_HASH_METHOD": FAST_HASH,
        "RATELIMIT_ENABLED": False, "MODEL_CHECK_SECONDS": 0,
    })
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, server.server_port)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (cookies, storage) per test, in Korean, with a desktop-size window."""
    made = browser.new_context(locale="ko-KR", viewport={"width": 1100, "height": 800})
    made.set_default_timeout(15_000)
    yield made
    made.close()


@pytest.fixture
def page(context: Any, live_server: LiveServer) -> Any:
    """The chat page, loaded, with its console errors collected in ``page.errors``."""
    opened = context.new_page()
    opened.errors = []
    opened.on("pageerror", lambda exc: opened.errors.append(str(exc)))
    opened.on("console", lambda msg: opened.errors.append(msg.text) if msg.type == "error" else None)
    opened.goto(live_server.url + "/")
    return opened

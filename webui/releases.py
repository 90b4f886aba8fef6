"""Model releases: versions, promotion by an atomic symlink swap, pruning and rollback (no Flask here).

The served path (``models/default``) becomes a symlink to ``models/releases/<version>/``. A promotion
copies the new model directory into a fresh release folder (a temporary name renamed into place, so
a release folder is complete or absent), then replaces the served link with ``os.replace`` of a new
link: a reader of the served path always finds a complete model, old or new. An existing plain
directory at the served path (``make train`` writes one) moves into the releases first; on Linux the
swap uses ``renameat2(RENAME_EXCHANGE)`` so the path is never missing, elsewhere two renames leave a
gap of microseconds that the server's model holder rides out by keeping its current model.

``releases/history.jsonl`` records each change of the live release, for ``--rollback`` (an undo stack)
and for pruning (the most recently live releases are kept, never the live one).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chatbot.model_dir import ModelDir

logger = logging.getLogger(__name__)

RELEASES = "releases"
HISTORY = "history.jsonl"
DEFAULT_KEEP = 5


class ReleaseError(ValueError):
    """A promotion or rollback that cannot be done; the message names the problem and the fix."""


@dataclass(frozen=True)
class Promotion:
    """What a promotion or rollback did."""

    version: str
    release: Path
    previous: str | None
    pruned: tuple[str, ...] = ()


def as_model_dir(path: str | Path) -> ModelDir:
    """The library's ``ModelDir`` for ``path``, imported on first use so that the web app imports without
    the library."""
    from chatbot.model_dir import ModelDir

    return ModelDir(path)


def model_version(model_dir: str | Path) -> str:
    """The model directory's version (``ModelDir.version``): it sorts by training time, is the same for a
    copy of the directory (so a release folder is named by it), and differs for every training run."""
    return as_model_dir(model_dir).version()


def validate_model(model_dir: Path) -> None:
    """Raise ReleaseError unless ``model_dir`` loads and answers a message with the library's ``Bot``."""
    from chatbot.bot import Bot
    from chatbot.model_dir import ModelNotFound

    try:
        as_model_dir(model_dir).require()
    except ModelNotFound as exc:
        raise ReleaseError(str(exc)) from exc

    try:
        Bot.load(model_dir)  # loads every component and answers one message
    except Exception as exc:  # any failure means: do not put this model live
        reason = " ".join(str(exc).split())  # one line, even for a YAML error
        raise ReleaseError(f"'{model_dir}' does not load: {type(exc).__name__}: {reason}") from exc


def releases_dir(served: str | Path) -> Path:
    """The releases folder next to the served path."""
    return Path(os.path.abspath(served)).parent / RELEASES


def live_release(served: str | Path) -> Path | None:
    """The release folder the served path points to, or None (a plain directory, or nothing)."""
    served = Path(os.path.abspath(served))
    if not served.is_symlink():
        return None
    target = Path(os.path.realpath(served))
    return target if target.parent == Path(os.path.realpath(releases_dir(served))) and target.is_dir() else None


def promote(new_dir: str | Path, served: str | Path, keep: int = DEFAULT_KEEP,
            validate: Callable[[Path], None] | None = validate_model) -> Promotion:
    """Make ``new_dir`` the served model: validate it, copy it into a release folder, swap the link, prune."""
    if keep < 1:
        raise ReleaseError(f"--keep must be at least 1, got {keep}")
    served = Path(os.path.abspath(served))
    new = Path(os.path.realpath(new_dir))
    if not new.is_dir():
        raise ReleaseError(f"'{new_dir}' is not a directory; give the folder that "
                           "`python -m chatbot train --out` wrote")
    if validate is not None:
        validate(new)
    root = releases_dir(served)
    root.mkdir(parents=True, exist_ok=True)
    with folder_lock(root):
        version = model_version(new)
        if new.parent == Path(os.path.realpath(root)):
            release = new  # promoting an existing release (by hand, rather than --rollback)
        else:
            release = _copy_release(new, root, version)
        previous = _point(served, release, root)
        _record(root, release.name, "promote", str(new))
        pruned = prune(served, keep)
    logger.info("Promoted %s to %s (release %s)", new, served, release.name)
    return Promotion(version, release, previous, pruned)


def rollback(served: str | Path, keep: int = DEFAULT_KEEP) -> Promotion:
    """Make the release that was live before the current one live again."""
    served = Path(os.path.abspath(served))
    root = releases_dir(served)
    if not root.is_dir():
        raise ReleaseError(f"no releases next to '{served}' yet; promote a model first: "
                           f"python -m chatbot promote NEW_MODEL_DIR --model {served}")
    with folder_lock(root):
        stack = _stack(root)
        live = live_release(served)
        if live is not None and stack and stack[-1] == live.name:
            stack.pop()  # undo the current release
        target = next((root / name for name in reversed(stack)
                       if as_model_dir(root / name).exists() and (live is None or name != live.name)), None)
        if target is None:
            raise ReleaseError(f"no earlier release to go back to in '{root}'")
        previous = _point(served, target, root)
        _record(root, target.name, "rollback", None)
        pruned = prune(served, keep)
    return Promotion(model_version(target), target, previous, pruned)


def prune(served: str | Path, keep: int = DEFAULT_KEEP) -> tuple[str, ...]:
    """Delete all but the ``keep`` most recently live releases; the live one is always kept."""
    root = releases_dir(served)
    live = live_release(served)
    recency = {name: i for i, name in enumerate(_stack(root, raw=True))}  # later index: more recently live
    folders = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
    folders.sort(key=lambda p: (recency.get(p.name, -1), p.stat().st_mtime), reverse=True)
    kept = {p.name for p in folders[:keep]} | ({live.name} if live is not None else set())
    removed = []
    for folder in folders:
        if folder.name not in kept:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return tuple(removed)


def list_releases(served: str | Path) -> list[dict[str, Any]]:
    """The release folders, most recently live first, with which one is live."""
    root = releases_dir(served)
    if not root.is_dir():
        return []
    live = live_release(served)
    recency = {name: i for i, name in enumerate(_stack(root, raw=True))}
    names = sorted((p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                   key=lambda n: recency.get(n, -1), reverse=True)
    return [{"version": name, "live": live is not None and name == live.name} for name in names]


def _copy_release(new: Path, root: Path, version: str) -> Path:
    """``root/version``, copied from ``new`` under a temporary name and renamed into place."""
    release = root / version
    if as_model_dir(release).exists() and model_version(release) == version:
        return release  # the same model was promoted before
    release = _unique(release)
    tmp = root / f".{version}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    shutil.copytree(new, tmp, symlinks=True)
    os.rename(tmp, release)
    return release


def _point(served: Path, release: Path, root: Path) -> str | None:
    """Point ``served`` at ``release`` atomically; return the version served before (None if nothing)."""
    previous = model_version(served) if as_model_dir(served).exists() else None
    link = served.with_name(f".{served.name}.link-{os.getpid()}-{time.monotonic_ns()}")
    os.symlink(os.path.relpath(release, served.parent), link, target_is_directory=True)
    try:
        if served.is_symlink() or not served.exists():
            os.replace(link, served)  # atomic: the old link or the new one, never nothing
        elif served.is_dir():
            _adopt_plain_directory(served, link, root, release)
        else:
            raise ReleaseError(f"'{served}' is a file, not a model directory or link; move it away first")
    finally:
        if link.is_symlink():
            link.unlink()
    return previous


def _adopt_plain_directory(served: Path, link: Path, root: Path, release: Path) -> None:
    """Swap a plain directory at ``served`` for ``link``, keeping the directory as a release (or
    dropping it when it is the model being promoted)."""
    old_version = model_version(served) if as_model_dir(served).exists() else "unversioned"
    if _exchange(link, served):  # served is now the link; the old directory sits at `link`'s name
        moved = link
    else:  # no RENAME_EXCHANGE: two renames, a gap of microseconds
        moved = served.with_name(f".{served.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        os.rename(served, moved)
        os.replace(link, served)
    if old_version == release.name:
        shutil.rmtree(moved)  # the same model, already copied into its release
        return
    keep_as = _unique(root / old_version)
    os.rename(moved, keep_as)
    _record(root, keep_as.name, "adopt", str(served))
    logger.info("Moved the plain model directory %s into %s", served, keep_as)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux's ``renameat2(RENAME_EXCHANGE)``; False where unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0  # EINVAL/ENOSYS (a filesystem or kernel without it): fall back


def _unique(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _record(root: Path, name: str, action: str, source: str | None) -> None:
    entry = {"release": name, "action": action, "source": source,
             "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    with (root / HISTORY).open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _stack(root: Path, raw: bool = False) -> list[str]:
    """The releases that were live, oldest first: promotions push, a rollback pops back to its target
    (``raw``: every entry in order, for recency)."""
    try:
        lines = (root / HISTORY).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    stack: list[str] = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        name, action = str(entry.get("release")), entry.get("action")
        if action == "rollback" and not raw and name in stack:
            while stack[-1] != name:
                stack.pop()
        else:  # promote, adopt (a plain directory that was live), or a rollback to a forgotten release
            stack.append(name)
    return stack


@contextlib.contextmanager
def folder_lock(root: Path) -> Iterator[None]:
    """One holder at a time across processes of ``root/.lock`` (an advisory lock; POSIX only, elsewhere a
    no-op): one promotion at a time here, one training job start at a time in the trainer console."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with (root / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

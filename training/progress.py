"""Training progress: steps counted against a planned total, and ``train --progress-file``'s JSON lines.

A trainer page (another process) follows a run by reading the progress file; each line is a whole
JSON object, flushed as it is written, so a reader never sees half a line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from chatbot.corpus import CorpusError

WITHIN_SECONDS = 1.0  # the shortest gap between two lines of progress inside a step
MAX_ERROR = 500  # characters of an unexpected exception's message in the failed line


def planned_steps(components: int, validation: bool, refit: bool) -> int:
    """Progress steps of ``train_model``: loading, the fit's components, tuning and the refit's components
    (when there is a validation split), saving."""
    held_out = 1 + (components if refit else 0) if validation else 0
    return 1 + components + held_out + 1


class Steps:
    """``train_model``'s progress callback with a planned total that ``done`` never runs past.

    ``progress(stage)`` is called once a step, as before; ``plan(total)`` (optional) whenever the
    planned total changes. A step beyond the plan raises the total first."""

    def __init__(self, progress: Callable[[str], None] | None, plan: Callable[[int], None] | None):
        self.progress, self.plan = progress, plan
        self.done = self.total = 0

    def expect(self, total: int) -> None:
        """Set the planned total (never below the steps already done)."""
        total = max(int(total), self.done)
        if total != self.total:
            self.total = total
            if self.plan:
                self.plan(total)

    def __call__(self, stage: str) -> None:
        if self.done >= self.total:
            self.expect(self.done + 1)
        self.done += 1
        if self.progress:
            self.progress(stage)


def one_line(exc: BaseException) -> str:
    """An exception as one line: a corpus error's headline, an expected error's message, else ``Type: message``."""
    text = str(exc).strip()
    if isinstance(exc, CorpusError):
        return text.splitlines()[0].rstrip(":")
    text = " ".join(text.split())[:MAX_ERROR]
    if isinstance(exc, ValueError | FileNotFoundError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ProgressLog:
    """Appends ``{"time", "stage", "done", "total", ...}`` lines to a file, one per progress step.

    The last line is ``stage: "done"`` (with ``out`` and ``summary``) or ``stage: "failed"`` (with
    ``error``, ``problems``: CorpusError's strings, and ``errors``: the same as ``{file, line, message}``)."""

    def __init__(self, path: str | Path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file: IO[str] = path.open("a", encoding="utf-8")
        self.done = self.total = 0
        self.stage = ""
        self._within_at = -WITHIN_SECONDS

    def write(self, stage: str, **fields: Any) -> None:
        row = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "stage": stage, **fields}
        self.file.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        self.file.flush()

    def plan(self, total: int) -> None:
        self.total = total

    def step(self, stage: str) -> None:
        self.done += 1
        self.stage = stage
        self.write(stage, done=self.done, total=max(self.total, self.done))

    def within(self, done: int, total: int) -> None:
        """Progress inside the running step (the last one ``step`` wrote, such as a network's training):
        a line with that step's ``done`` and ``total``, the units of it finished (``step_done`` of
        ``step_total``) and the run's ``fraction``, counting the running step's share. At most one line
        every ``WITHIN_SECONDS``, and the last unit always, so a long network adds a few hundred lines."""
        now = time.monotonic()
        if done < total and now - self._within_at < WITHIN_SECONDS:
            return
        self._within_at = now
        steps = max(self.total, self.done, 1)
        fraction = (max(self.done - 1, 0) + done / total) / steps
        self.write(f"{self.stage} · {done}/{total}", done=self.done, total=steps, step_done=done, step_total=total,
                   fraction=round(min(fraction, 1.0), 4))

    def finished(self, out: str, summary: dict[str, Any]) -> None:
        total = max(self.total, self.done)
        self.write("done", done=total, total=total, out=out, summary=summary)

    def failed(self, exc: BaseException) -> None:
        corpus = isinstance(exc, CorpusError)
        self.write("failed", done=self.done, total=max(self.total, self.done), error=one_line(exc),
                   problems=exc.problems if corpus else [], errors=exc.entries if corpus else [])

    def close(self) -> None:
        self.file.close()

"""Corpus validation errors that name the file, line and problem."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

MAX_LISTED = 50


class Problem(TypedDict):
    """One problem as data (``line`` 0: the whole file), for reports that show problems in a table."""

    file: str
    line: int
    message: str


def problem_text(problem: Problem) -> str:
    """The ``file:line: message`` form that CorpusError lists (``file: message`` for the whole file)."""
    if problem["line"]:
        return f"{problem['file']}:{problem['line']}: {problem['message']}"
    return f"{problem['file']}: {problem['message']}"


class CorpusError(ValueError):
    """A corpus failed validation; ``problems`` lists ``file:line: problem`` strings.

    ``entries`` holds the same problems as ``{file, line, message}`` where the raiser had them
    (``Problems.raise_if_any``), so a caller can show them without parsing the strings."""

    def __init__(self, problems: list[str], entries: list[Problem] | None = None):
        self.problems = list(problems)
        self.entries: list[Problem] = list(entries) if entries is not None else []
        listed = self.problems[:MAX_LISTED]
        more = len(self.problems) - len(listed)
        text = "\n".join(listed) + (f"\n... and {more} more" if more > 0 else "")
        super().__init__(f"the corpus is not valid ({len(self.problems)} problem(s)):\n{text}")


class Problems:
    """Collects problems while reading, so that a user sees all of them at once."""

    def __init__(self) -> None:
        self.entries: list[Problem] = []

    @property
    def items(self) -> list[str]:
        """The problems as ``file:line: problem`` strings."""
        return [problem_text(p) for p in self.entries]

    def add(self, path: str | Path, line: int, problem: str) -> None:
        self.entries.append(Problem(file=str(path), line=int(line or 0), message=problem))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def raise_if_any(self) -> None:
        if self.entries:
            raise CorpusError(self.items, self.entries)


def read_utf8(path: Path, problems: Problems) -> str | None:
    """Decode a file as UTF-8 (a BOM is allowed); report the first bad byte's line."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.add(path, line, f"not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8")
        return None

"""Corpus validation errors that name the file, line and problem."""

from __future__ import annotations

from pathlib import Path

MAX_LISTED = 50


class CorpusError(ValueError):
    """A corpus failed validation; ``problems`` lists ``file:line: problem`` strings."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        listed = self.problems[:MAX_LISTED]
        more = len(self.problems) - len(listed)
        text = "\n".join(listed) + (f"\n... and {more} more" if more > 0 else "")
        super().__init__(f"the corpus is not valid ({len(self.problems)} problem(s)):\n{text}")


class Problems:
    """Collects problems while reading, so that a user sees all of them at once."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str | Path, line: int, problem: str) -> None:
        self.items.append(f"{path}:{line}: {problem}" if line else f"{path}: {problem}")

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise CorpusError(self.items)


def read_utf8(path: Path, problems: Problems) -> str | None:
    """Decode a file as UTF-8 (a BOM is allowed); report the first bad byte's line."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.add(path, line, f"not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8")
        return None

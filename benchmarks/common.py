"""Helpers shared by the benchmark scripts: data directory, machine facts, result output.

The scripts are run as ``python benchmarks/<name>.py`` from the repository root. Each prints
one JSON object to stdout (tables and progress go to stderr, so stdout can be piped to ``jq``)
and writes the same object to ``--out FILE`` when asked.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# The public datasets live beside the repository, never inside it (see /work/shared/data/README.md).
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"

BASE_PACKAGES = ("numpy", "scipy", "scikit-learn")


def add_common_arguments(parser: argparse.ArgumentParser, data: bool = True) -> None:
    """``--out`` (and ``--data-dir`` for scripts that read the public datasets)."""
    if data:
        parser.add_argument(
            "--data-dir", type=Path, default=DEFAULT_DATA_DIR, metavar="DIR",
            help=f"folder of the public datasets (default: {DEFAULT_DATA_DIR})",
        )
    parser.add_argument("--out", type=Path, metavar="FILE", help="also write the JSON result to FILE")


def data_file(data_dir: Path, relative: str) -> Path:
    """A dataset file under ``data_dir``, or SystemExit naming what is missing and where to get it."""
    path = Path(data_dir) / relative
    if not path.is_file():
        raise SystemExit(
            f"error: {path} not found. Point --data-dir at the shared datasets folder "
            f"(default {DEFAULT_DATA_DIR}); see its README.md for the files it holds."
        )
    return path


def cpu_model() -> str | None:
    """The CPU model name from ``lscpu`` (or /proc/cpuinfo), None where neither says."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10,
                             env={**os.environ, "LC_ALL": "C"}).stdout
        match = re.search(r"^Model name:\s*(.+)$", out, re.MULTILINE)
        if match:
            return match.group(1).strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or None
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else (platform.processor() or None)


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError):
        pass
    return None


def machine_info() -> dict[str, Any]:
    """Where the figures were taken: platform, CPUs, memory and the load when the run began."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable,
        "cpu_model": cpu_model(),
        "memory_gib": memory_gib(),
        "load_average_at_start": load,
    }


def package_versions(names: tuple[str, ...] | list[str]) -> dict[str, str | None]:
    """Installed versions of the named distributions (None when not installed)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision() -> dict[str, Any]:
    """The repository commit the figures belong to, and whether the tree had local changes."""
    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def cpu_probe_ms(repeats: int = 3) -> float:
    """Best of ``repeats`` timings of a fixed pure-Python loop (10 million additions), in ms.

    Hosts of the same kind differ in speed from day to day; this figure says how fast the
    machine was when a benchmark ran, so timings from different days can be compared."""
    best = float("inf")
    for _ in range(repeats):
        start, total = time.perf_counter(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


def environment(packages: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    """Machine (with a CPU speed probe), Python, library versions, repository revision and the date (UTC)."""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {**machine_info(), "cpu_probe_ms": cpu_probe_ms()},
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "packages": package_versions(["korean-chatbot", *BASE_PACKAGES, *packages]),
        "git": git_revision(),
    }


def arguments_dict(args: argparse.Namespace) -> dict[str, Any]:
    """The run's parameters, JSON-ready (paths as strings, in lists too; private options left out)."""

    def plain(value: Any) -> Any:
        if isinstance(value, list):
            return [plain(v) for v in value]
        return str(value) if isinstance(value, Path) else value

    return {k: plain(v) for k, v in vars(args).items() if not k.startswith("_")}


def emit(result: dict[str, Any], out: Path | None) -> None:
    """Print the JSON result to stdout and write it to ``out`` when given."""
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text, flush=True)
    if out:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
        log(f"result written to {out}")


def log(message: str) -> None:
    """Progress for the person running the benchmark (stderr, so stdout stays JSON)."""
    print(message, file=sys.stderr, flush=True)


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub markdown table; numbers right-aligned."""
    def cell(value: Any) -> str:
        return "–" if value is None else str(value)

    numeric = [all(isinstance(r[i], (int, float)) or r[i] is None for r in rows) for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


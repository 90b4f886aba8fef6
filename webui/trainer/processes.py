"""A training job's process as any worker sees it: is the recorded pid still that process, and signalling
its process group.

A job runs in a session of its own (``start_new_session``), so its process group id is its pid and the
processes it starts (data loaders, joblib workers) are in that group too. The pid is recorded with the
process's start time, so a pid the system has since given to another process is never taken for the
job, and never signalled. Linux only (``/proc``): elsewhere a start time is unknown, and a job's
process cannot be proven to be the job's, so it is not signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

PROC = Path("/proc")


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name: state, ppid, pgrp, ..., starttime at 19."""
    try:
        fields = (PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields if len(fields) > 19 else None


def process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux's /proc), or None where unknown."""
    fields = _stat(pid)
    try:
        return int(fields[19]) if fields else None
    except ValueError:
        return None


def alive(record: dict[str, Any]) -> bool:
    """Whether the job's process still exists (and is the same process, not a later one given its pid)."""
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    recorded = record.get("pid_start")
    return recorded is None or process_start(pid) in (None, recorded)


def same_process(record: dict[str, Any]) -> bool:
    """Whether the recorded pid is provably still the job's process: its start time was recorded and is
    the same now. Stricter than ``alive``, which gives an unknown start time the benefit of the doubt:
    this is the test before a signal."""
    pid, recorded = record.get("pid"), record.get("pid_start")
    if not isinstance(pid, int) or pid <= 0 or not isinstance(recorded, int):
        return False
    return process_start(pid) == recorded


def group_members(pgid: int) -> dict[int, int]:
    """The group's processes that still run, as pid -> start time. Zombies do not count: they have ended,
    and one whose parent does not reap it (an orphan under a container's init) would count forever."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return {}
    except PermissionError:
        pass
    members = {}
    for entry in PROC.iterdir() if PROC.is_dir() else ():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        with contextlib.suppress(ValueError):
            if fields and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                members[int(entry.name)] = int(fields[19])
    return members


def any_left(members: dict[int, int], pgid: int) -> bool:
    """Whether one of ``members`` (pid -> start time, taken while the group was known to be the job's) is
    still in the group: then the group id is still the job's, since it is not given out again while a
    process of the group is left."""
    now = group_members(pgid)
    return any(now.get(pid) == start for pid, start in members.items())


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the job's process group; a group already gone is no error. The caller has checked
    that the group is the job's (``same_process`` on its leader, or ``any_left``)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)

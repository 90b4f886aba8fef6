"""A training job's process as any worker sees it: is the recorded pid still that process, and signalling
its process group.

A job runs in a session of its own (``start_new_session``), so its process group id is its pid and the
processes it starts (data loaders, joblib workers) are in that group too. The pid is recorded with the
process's start time (psutil's ``create_time``), so a pid the system has since given to another process
is never taken for the job, and never signalled. Where a start time is unknown, a job's process cannot
be proven to be the job's, so it is not signalled. Process groups are POSIX: Linux and macOS.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import psutil

ENDED = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)


def process_start(pid: int) -> float | None:
    """The process's start time (seconds since the epoch, as psutil reports it), or None where unknown."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, ValueError):  # gone, not ours to inspect, or not a valid pid
        return None


def alive(record: dict[str, Any]) -> bool:
    """Whether the job's process still exists (and is the same process, not a later one given its pid)."""
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if not psutil.pid_exists(pid):
        return False
    recorded = record.get("pid_start")
    return recorded is None or process_start(pid) in (None, recorded)


def same_process(record: dict[str, Any]) -> bool:
    """Whether the recorded pid is provably still the job's process: its start time was recorded and is
    the same now. Stricter than ``alive``, which gives an unknown start time the benefit of the doubt:
    this is the test before a signal."""
    pid, recorded = record.get("pid"), record.get("pid_start")
    if not isinstance(pid, int) or pid <= 0 or isinstance(recorded, bool) or not isinstance(recorded, (int, float)):
        return False
    return process_start(pid) == recorded


def group_members(pgid: int) -> dict[int, float]:
    """The group's processes that still run, as pid -> start time. Zombies do not count: they have ended,
    and one whose parent does not reap it (an orphan under a container's init) would count forever."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return {}
    except PermissionError:
        pass
    members = {}
    for process in psutil.process_iter(["status", "create_time"]):
        with contextlib.suppress(OSError):  # ended meanwhile (getpgid: ProcessLookupError)
            if process.info["status"] not in ENDED and os.getpgid(process.pid) == pgid:
                members[process.pid] = process.info["create_time"]
    return members


def any_left(members: dict[int, float], pgid: int) -> bool:
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


def training_environment() -> dict[str, str]:
    """This process's environment for a training command, with the library this process uses first on the
    path (a server or worker run from a checkout without installing it), and unbuffered output for a live log."""
    import chatbot

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    library = str(Path(chatbot.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (library, env.get("PYTHONPATH", "")) if p)
    return env

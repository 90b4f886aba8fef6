"""``/readyz`` through a real database outage: how soon it turns 503 after PostgreSQL stops and 200 after
it returns, and what chat answers in between (issue 23: within 2 s both ways; chat 503 JSON, never 500).

    python benchmarks/readyz_outage.py [--model models/default] [--rounds 3] [--workers 2] [--out FILE]

The script makes a PostgreSQL cluster of its own (``initdb`` into a temporary folder, a free port, run as
the ``postgres`` user when started as root), serves the model on it with ``python -m chatbot serve``
(gunicorn with ``--workers``, or waitress with ``--workers 1``), and then, each round, stops the cluster
for real (``pg_ctl stop -m fast``: the server process ends and every connection with it) and starts it
again, while one thread asks ``/readyz`` and another sends chat messages every ``--interval`` seconds.
Each round reports the seconds from the stop command to the first 503 and to the last 200 (with several
workers each answers for itself), the same from the moment the restarted cluster accepts connections, and
the chat's statuses during the outage. The other
clusters on the machine are never touched.
"""

from __future__ import annotations

import argparse
import http.client
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import from the checkout, not from benchmarks/
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.chat_server import ChatServer  # noqa: E402
from benchmarks.common import REPO_ROOT, add_common_arguments, arguments_dict, emit, environment, log  # noqa: E402
from benchmarks.server_process import free_port, http_json  # noqa: E402

TARGET_SECONDS = 2.0


class Cluster:
    """A throwaway PostgreSQL cluster: ``initdb``, start and stop with ``pg_ctl``, its own port and socket."""

    def __init__(self, root: Path) -> None:
        self.bin = pg_bin()
        self.data, self.port = root / "data", free_port()
        self.user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
        root.mkdir(parents=True, exist_ok=True)
        if self.user:  # the postgres user must reach the folder: the temporary one above it is root's, mode 700
            entry = pwd.getpwnam(self.user)
            os.chmod(root.parent, 0o755)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.root = root

    def run(self, tool: str, *args: str) -> None:
        command = [str(Path(self.bin) / tool), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd="/")
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


def pg_bin() -> str:
    """The newest installed PostgreSQL's binaries (Debian's layout), or those on PATH."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if versions:
        return str(versions[-1])
    found = shutil.which("pg_ctl")
    if not found:
        raise SystemExit("error: PostgreSQL's pg_ctl and initdb are needed (Debian: apt-get install postgresql)")
    return str(Path(found).parent)


def request(port: int, method: str, path: str, body: dict | None = None, timeout: float = 5.0) -> tuple[int, Any]:
    """``http_json``, with a connection that fails read as status 0 (the server is down or restarting)."""
    try:
        return http_json(port, method, path, body, timeout)
    except (OSError, http.client.HTTPException) as exc:
        return 0, {"error": str(exc)}


class Watch:
    """Threads that probe ``/readyz`` and chat every ``interval`` seconds, recording (time, status, code)."""

    def __init__(self, port: int, interval: float) -> None:
        self.port, self.interval = port, interval
        self.ready: list[tuple[float, int]] = []
        self.chat: list[tuple[float, int, str | None]] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._ready, daemon=True),
                        threading.Thread(target=self._chat, daemon=True)]

    def __enter__(self) -> Watch:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(10)

    def _ready(self) -> None:
        while not self.stopping.wait(self.interval):
            status, _ = request(self.port, "GET", "/readyz")
            self.ready.append((time.monotonic(), status))

    def _chat(self) -> None:
        n = 0
        while not self.stopping.wait(self.interval):
            n += 1
            status, body = request(self.port, "POST", "/api/chat", {"message": f"점검 중에도 답해 줄래? {n}"})
            error = body.get("error") if isinstance(body, dict) else None
            code = error.get("code") if isinstance(error, dict) else None
            self.chat.append((time.monotonic(), status, code if status != 200 else None))


def turned(samples: list[tuple[float, int]], since: float, until: float, to: int) -> dict[str, float | None]:
    """Seconds from ``since`` to the first sample with status ``to``, and to the last sample without it."""
    window = [(t, s) for t, s in samples if since <= t < until]
    first = next((t - since for t, s in window if s == to), None)
    last_other = max((t - since for t, s in window if s != to), default=0.0)
    return {"first": round(first, 3) if first is not None else None, "settled": round(last_other, 3)}


def one_round(cluster: Cluster, server: ChatServer, args: argparse.Namespace) -> dict[str, Any]:
    with Watch(server.port, args.interval) as watch:
        time.sleep(args.hold)
        stopped = time.monotonic()
        cluster.stop()
        stop_seconds = time.monotonic() - stopped
        time.sleep(args.hold)
        restarted = time.monotonic()
        cluster.start()  # returns once the server accepts connections: the database is back from then
        back = time.monotonic()
        start_seconds = back - restarted
        time.sleep(args.hold)
        ended = time.monotonic()
    down = turned(watch.ready, stopped, restarted, 503)
    up = turned(watch.ready, back, ended, 200)
    outage_chat = Counter(f"{s} {c}" if c else str(s) for t, s, c in watch.chat if stopped + down["settled"] < t
                          < restarted)
    all_chat = Counter(s for _, s, _ in watch.chat)
    return {"pg_stop_seconds": round(stop_seconds, 2), "pg_start_seconds": round(start_seconds, 2),
            "readyz_503_after_stop": down, "readyz_200_after_start": up,
            "chat_statuses_during_outage": dict(outage_chat), "chat_statuses_all": dict(all_chat),
            "chat_500s": all_chat.get(500, 0), "readyz_samples": len(watch.ready)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "default")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (1: waitress)")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between probes (and chats)")
    parser.add_argument("--hold", type=float, default=4.0, help="seconds before the stop, of outage, after")
    add_common_arguments(parser, data=False)
    args = parser.parse_args()
    rounds = []
    with tempfile.TemporaryDirectory(prefix="readyz_outage_") as tmp:
        cluster = Cluster(Path(tmp) / "pg")
        cluster.start()
        server = ChatServer(args.model.resolve(), cluster.url(), Path(tmp) / "app", workers=args.workers)
        try:
            server.start()
            for i in range(args.rounds):
                rounds.append(one_round(cluster, server, args))
                r = rounds[-1]
                log(f"round {i + 1}: 503 {r['readyz_503_after_stop']} s after the stop, 200 "
                    f"{r['readyz_200_after_start']} s after the start; chat in the outage "
                    f"{r['chat_statuses_during_outage']}")
        finally:
            server.stop()
            cluster.stop()
    worst_down = max((r["readyz_503_after_stop"]["settled"] for r in rounds), default=None)
    worst_up = max((r["readyz_200_after_start"]["settled"] for r in rounds), default=None)
    met = (bool(rounds) and worst_down is not None and worst_down <= TARGET_SECONDS and worst_up is not None
           and worst_up <= TARGET_SECONDS and not any(r["chat_500s"] for r in rounds))
    emit({"benchmark": "readyz_outage", "rounds": rounds, "worst_settled_503_seconds": worst_down,
          "worst_settled_200_seconds": worst_up, "target_seconds": TARGET_SECONDS, "met": met,
          "params": arguments_dict(args), "environment": environment(["flask", "sqlalchemy", "psycopg"])}, args.out)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())

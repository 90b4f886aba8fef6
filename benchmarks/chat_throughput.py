"""Chat throughput through the real server: messages/s sustained, latency, and every message stored.

    python benchmarks/chat_throughput.py [--model models/default] [--configs 2x4,2x8,3x4,4x2,waitress8]
                                         [--clients 32] [--seconds 30] [--repeats 1] [--out FILE]
                                         [--variant NAME:VAR=VALUE,VAR=VALUE ...]

For each server set-up (``WxT``: gunicorn with W workers of T threads; ``waitressT``: one waitress
process of T threads) the script starts ``python -m chatbot serve`` on a free port of 127.0.0.1 with
a fresh SQLite database (or ``--database-url``) and its own instance folder, warms it up, then lets
``--clients`` simulated users (``benchmarks/load_client.py``: keep-alive, own cookies, a unique
Korean message each) chat for ``--seconds``. It reports messages acknowledged per second, latency
percentiles, errors, the server's and the client's CPU per message, and the load average before
and after, because other processes on the machine change the figures. With ``--variant`` (repeatable),
each set-up runs once per variant, a server started with that variant's environment (such as metrics
and JSON logs on, then off), the variants taking turns ``--repeats`` times, so that their difference is
measured in the same run. Afterwards it reads the
database directly: every acknowledged message must be stored (``lost`` must be 0). The exit code is
1 when a request failed or a message was lost.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import from the checkout, not from benchmarks/
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.chat_server import ChatServer, stored_user_messages
from benchmarks.common import REPO_ROOT, add_common_arguments, arguments_dict, emit, environment, log, markdown_table
from benchmarks.load_client import ENGINE_NAMES, HOST, LoadResult, run_load
from benchmarks.server_process import check_database_driver, redact
from chatbot.model_dir import ModelDir, ModelNotFound

PACKAGES = ("flask", "flask-sqlalchemy", "sqlalchemy", "gunicorn", "waitress", "psycopg", "kiwipiepy")
DEFAULT_MODEL = REPO_ROOT / "models" / "default"
CONFIG = re.compile(r"^(?:(\d+)x(\d+)|waitress(\d+))$")


def parse_config(text: str) -> tuple[int, int]:
    """``"2x4"`` -> (2 workers, 4 threads); ``"waitress8"`` -> (1, 8), one waitress process."""
    match = CONFIG.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"bad server set-up {text!r}: write WxT (gunicorn) or waitressT")
    if match.group(3):
        return 1, int(match.group(3))
    workers, threads = int(match.group(1)), int(match.group(2))
    if workers < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: gunicorn needs 2 workers or more (1 process is waitressT)")
    return workers, threads


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def measure(server: ChatServer, args: argparse.Namespace) -> tuple[dict[str, Any], list[LoadResult]]:
    """Warm up, then one measured run; its figures and every run's records (for the stored count)."""
    warmup = run_load(HOST, server.port, args.clients, args.warmup, engine=args.engine)
    before, client_before, load_before = server.stats(), time.process_time(), load_average()
    result = run_load(HOST, server.port, args.clients, args.seconds, engine=args.engine)
    after, client_cpu, load_after = server.stats(), time.process_time() - client_before, load_average()
    summary = result.summary()
    acknowledged = max(summary["acknowledged"], 1)
    server_cpu = after.get("cpu_seconds", 0.0) - before.get("cpu_seconds", 0.0)
    figures = {
        **summary,
        "statuses": result.status_counts(),
        "error_samples": [f"{r.status} {r.error}" for r in result.failed[:3]],
        "server_cpu_ms_per_message": round(server_cpu * 1000 / acknowledged, 2),
        "client_cpu_ms_per_message": round(client_cpu * 1000 / acknowledged, 3),
        "cpu_cores_busy": round((server_cpu + client_cpu) / max(summary["seconds"], 1e-9), 2),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "server_processes": after.get("processes"),
        "server_rss_mib": after.get("rss_mib"),
    }
    return figures, [warmup, result]


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """``"on:CHATBOT_METRICS=on,CHATBOT_LOG_FORMAT=json"`` -> ("on", {...}); ``"off:"`` has no variables."""
    name, colon, rest = text.partition(":")
    pairs = [p.strip() for p in rest.split(",") if p.strip()]
    if not name.strip() or not colon or any("=" not in p for p in pairs):
        raise argparse.ArgumentTypeError(f"bad variant {text!r}: write NAME:VAR=VALUE,VAR=VALUE")
    return name.strip(), dict(p.split("=", 1) for p in pairs)


def run_config(args: argparse.Namespace, workers: int, threads: int, workdir: Path,
               variant: tuple[str, dict[str, str]] | None = None, repeats: int | None = None) -> dict[str, Any]:
    """One server set-up, ``repeats`` measured runs on one server; the server is always stopped."""
    database_url = args.database_url or f"sqlite:///{workdir / 'chat.db'}"
    server = ChatServer(args.model, database_url, workdir, workers=workers, threads=threads,
                        env=dict(variant[1]) if variant else {})
    label = f"waitress {threads}" if workers == 1 else f"gunicorn {workers}x{threads}"
    if variant:
        label += f" [{variant[0]}]"
    log(f"{label}: starting on port {server.port} ...")
    runs: list[dict[str, Any]] = []
    results: list[LoadResult] = []
    try:
        started = time.perf_counter()
        server.start()
        ready = time.perf_counter() - started
        for i in range(repeats or args.repeats):
            figures, records = measure(server, args)
            runs.append(figures)
            results += records
            log(f"  run {i + 1}: {figures['messages_per_second']} msg/s, p95 {figures['p95_ms']} ms, "
                f"{figures['errors']} errors, server {figures['server_cpu_ms_per_message']} ms CPU/msg, "
                f"load {figures['load_average_before']}")
    finally:
        server.stop()
    acknowledged: Counter = Counter()
    for result in results:
        acknowledged.update((r.conversation_id, r.text) for r in result.acknowledged)
    stored = stored_user_messages(database_url) if not args.database_url else None
    best = max(runs, key=lambda r: r["messages_per_second"])
    return {
        "server": label, "workers": workers, "threads": threads, "ready_seconds": round(ready, 1),
        "best": best, "runs": runs,
        "messages": {
            "acknowledged": sum(acknowledged.values()),
            "stored": sum(stored.values()) if stored is not None else None,
            "lost": sum((acknowledged - stored).values()) if stored is not None else None,
        },
    }


def merge_turns(done: list[dict[str, Any]]) -> dict[str, Any]:
    """One variant's turns (each a ``run_config`` of one run) as one result: every run, the best, the sums."""
    runs = [run for result in done for run in result["runs"]]
    messages = {key: (sum(r["messages"][key] for r in done) if all(r["messages"][key] is not None for r in done)
                      else None) for key in ("acknowledged", "stored", "lost")}
    return {**done[0], "runs": runs, "best": max(runs, key=lambda r: r["messages_per_second"]), "messages": messages,
            "median_messages_per_second": sorted(r["messages_per_second"] for r in runs)[len(runs) // 2],
            "median_p95_ms": sorted(r["p95_ms"] for r in runs)[len(runs) // 2]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, metavar="DIR",
                        help="trained model directory (default: models/default; make one with `make train`)")
    parser.add_argument("--configs", default="2x4,2x8,3x4,4x2,waitress8",
                        help="server set-ups, comma-separated: WxT (gunicorn) or waitressT (default: %(default)s)")
    parser.add_argument("--clients", type=int, default=32, help="simulated users (default 32)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each measured run (default 30)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring (default 3)")
    parser.add_argument("--repeats", type=int, default=1, help="measured runs per set-up (default 1)")
    parser.add_argument("--engine", choices=ENGINE_NAMES, default="raw", help="load client engine (default raw)")
    parser.add_argument("--database-url", help="database for the server (default: a fresh SQLite file per set-up; "
                        "with a URL, the stored count is skipped since other runs share it)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:VAR=VALUE,...",
                        help="run every set-up once per variant, with these environment variables (repeatable)")
    add_common_arguments(parser, data=False)
    args = parser.parse_args(argv)
    try:
        args.server_configs = [parse_config(c) for c in args.configs.split(",") if c.strip()]
        args.variants = [parse_variant(v) for v in args.variant]
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if args.clients < 1 or args.seconds <= 0 or args.repeats < 1 or args.warmup <= 0:
        parser.error("--clients and --repeats must be at least 1, --seconds and --warmup positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.model = args.model.resolve()
    if not ModelDir(args.model).exists():
        log(f"error: {ModelNotFound.at(args.model)}")
        return 2
    if args.database_url:
        check_database_driver(args.database_url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the `finally` that stops a server still runs
    results = []
    for i, (workers, threads) in enumerate(args.server_configs):
        if not args.variants:
            with tempfile.TemporaryDirectory(prefix=f"chat_throughput_{i}_") as workdir:
                results.append(run_config(args, workers, threads, Path(workdir)))
            continue
        turns: dict[str, list[dict[str, Any]]] = {}
        for turn in range(args.repeats):  # the variants take turns, so a busy moment falls on each alike
            for variant in args.variants:
                with tempfile.TemporaryDirectory(prefix=f"chat_throughput_{i}_{turn}_") as workdir:
                    turns.setdefault(variant[0], []).append(
                        run_config(args, workers, threads, Path(workdir), variant, repeats=1))
        results += [merge_turns(done) for done in turns.values()]
    header = ["server", "msg/s", "p50 ms", "p95 ms", "p99 ms", "errors", "acknowledged", "stored", "lost",
              "server CPU ms/msg", "client CPU ms/msg", "load avg (1 min)"]
    rows = [[r["server"], r["best"]["messages_per_second"], r["best"]["p50_ms"], r["best"]["p95_ms"],
             r["best"]["p99_ms"], sum(run["errors"] for run in r["runs"]), r["messages"]["acknowledged"],
             r["messages"]["stored"], r["messages"]["lost"], r["best"]["server_cpu_ms_per_message"],
             r["best"]["client_cpu_ms_per_message"], (r["best"]["load_average_before"] or [None])[0]]
            for r in results]
    table = markdown_table(header, rows)
    log("\n" + table + "\n")
    failed = any(run["errors"] for r in results for run in r["runs"]) or any(r["messages"]["lost"] for r in results)
    parameters = arguments_dict(args)
    parameters["server_configs"] = [list(c) for c in args.server_configs]
    parameters["variants"] = {name: env for name, env in args.variants}
    if args.database_url:
        parameters["database_url"] = redact(args.database_url)
    emit({"benchmark": "chat_throughput", "parameters": parameters, "environment": environment(PACKAGES),
          "ok": not failed, "results": results, "table_markdown": table}, args.out)
    if failed:
        log("FAILED: requests failed or acknowledged messages were not stored")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""What one chat request costs the server, beside the floor it cannot go below.

    python benchmarks/request_floor.py [--model models/default] [--clients 4] [--requests 1000] [--rounds 3]

In one run, with the same client (``benchmarks/api_latency.py``'s: one persistent connection, one
guest conversation and its session cookie per client), the script serves in turn

- **bare**: a Flask app under waitress that parses the JSON body and commits two rows to SQLite in
  WAL mode (``synchronous=NORMAL``, as the real app);
- **floor**: the same bare app that also reads the conversation's last messages and answers with
  ``Bot.reply`` (``--model``): the least any chat request must cost, served as the real one is;
- **real**: the chat server itself (``python -m chatbot serve``, waitress, ``--model``), rate limits
  off as in ``api_latency.py``;

and measures **pipeline**: ``Bot.reply`` on the same messages, with a conversation's history, in a
loop in this process. Server CPU per request is the server process's CPU seconds (``/proc``) over
the measured requests, divided by their number; the pipeline's is ``time.process_time`` per reply.
The three servers run side by side, and each round sends its requests in ``--bursts`` turns of
every server and the pipeline, so that a busy moment of a shared machine falls on all four alike
instead of on whichever ran then; ``--rounds`` repeats it all with fresh servers, and the spread
between rounds is the noise left.

The figure to watch is ``ratio``: real / floor. ``ratio_in_process``, real / (bare + pipeline),
adds a figure measured in a tight loop to one measured in a server: the same replies cost more
CPU in a server, whose requests interleave with the HTTP work, the client and one another (caches,
thread switches), so even the floor server is well above bare + pipeline (``floor_over_sum``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import from the checkout, not from benchmarks/
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.api_latency import USER_LINES, Client, add_server_client_arguments, run_phase, split
from benchmarks.common import REPO_ROOT, add_common_arguments, arguments_dict, emit, environment, log, markdown_table
from benchmarks.server_process import HOST, free_port, log_tail, proc_stats, stop, wait_until_ready
from chatbot.model_dir import ModelDir, ModelNotFound

PACKAGES = ("flask", "flask-sqlalchemy", "flask-login", "sqlalchemy", "waitress", "kiwipiepy")
DEFAULT_MODEL = REPO_ROOT / "models" / "default"
HISTORY_TURNS = 10  # the real app's HISTORY_MESSAGES: the pipeline gets as much context as it does there
RATIOS = ("ratio", "ratio_in_process", "floor_over_sum")


# ---------------------------------------------------------------- the bare app


def bare_app(database: Path, bot: Any = None) -> Any:
    """Flask, one route: parse the JSON, commit the message and an echo to SQLite (WAL), answer JSON.

    With ``bot``, the reply is ``bot.reply`` given the conversation's last ``HISTORY_TURNS`` messages."""
    import uuid

    from flask import Flask, jsonify, request

    local = threading.local()

    def connection() -> sqlite3.Connection:
        if getattr(local, "conn", None) is None:
            local.conn = sqlite3.connect(database, timeout=10)
            local.conn.execute("PRAGMA journal_mode=WAL")
            local.conn.execute("PRAGMA synchronous=NORMAL")
        return local.conn

    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, conversation_id TEXT, "
                      "role TEXT, text TEXT, created_at TEXT)")
        conn.execute("CREATE INDEX IF NOT EXISTS messages_conversation ON messages (conversation_id, id)")
    app = Flask("bare")

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    @app.post("/api/chat")
    def chat() -> Any:
        payload = json.loads(request.get_data())
        conversation_id = payload.get("conversation_id") or uuid.uuid4().hex
        conn = connection()
        reply = "echo"
        if bot is not None:
            rows = conn.execute("SELECT role, text FROM messages WHERE conversation_id = ? ORDER BY id DESC LIMIT ?",
                                (conversation_id, HISTORY_TURNS)).fetchall()
            reply = bot.reply(payload["message"], {"conversation_id": conversation_id, "history": rows[::-1]}).text
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        conn.executemany("INSERT INTO messages (conversation_id, role, text, created_at) VALUES (?, ?, ?, ?)",
                         [(conversation_id, "user", payload["message"], now),
                          (conversation_id, "bot", reply, now)])
        conn.commit()
        return jsonify({"conversation_id": conversation_id, "reply": reply})

    return app


def serve_bare(port: int, database: Path, threads: int, model: Path | None = None) -> None:
    """The bare app under waitress, as the real server runs (``python benchmarks/request_floor.py --serve-bare``);
    with ``model``, the floor app (the bare app answering with that model's bot)."""
    import waitress

    bot = None
    if model is not None:
        from chatbot.bot import Bot

        bot = Bot.load(model)
    waitress.serve(bare_app(database, bot), host=HOST, port=port, threads=threads)


# ---------------------------------------------------------------- the servers, measured side by side


@dataclass
class Served:
    """One server under test, its clients, and the CPU seconds and requests of its measured bursts."""

    name: str
    process: subprocess.Popen
    log_path: Path
    clients: list[Client] = field(default_factory=list)
    cpu_seconds: float = 0.0
    requests: int = 0
    wall_seconds: float = 0.0


def start_server(name: str, command: list[str], port: int, env: dict[str, str], args: argparse.Namespace,
                 workdir: Path) -> Served:
    """Start ``command``, wait for ``/healthz``, connect the clients and send the warm-up requests."""
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    served = Served(name, process, log_path)
    try:
        wait_until_ready(process, port, args.startup_timeout)
        served.clients = [Client(i, port, args.request_timeout, lines=args._lines) for i in range(args.clients)]
        run_phase(served.clients, split(max(args.warmup, args.clients), args.clients), args.max_seconds,
                  measured=False)
    except RuntimeError as exc:
        stop(process)
        raise SystemExit(f"error: {exc}\n--- {name} server log ---\n{log_tail(log_path)}") from exc
    return served


def burst(served: Served, requests: int, args: argparse.Namespace) -> None:
    """Send ``requests`` measured requests and add the server's CPU seconds over them."""
    before = proc_stats(served.process.pid)
    wall, _ = run_phase(served.clients, split(requests, args.clients), args.max_seconds, measured=True)
    after = proc_stats(served.process.pid)
    if "cpu_seconds" not in after:
        raise SystemExit("error: no CPU figures for the server (this script reads Linux /proc)")
    served.cpu_seconds += after["cpu_seconds"] - before["cpu_seconds"]
    served.requests = sum(len(c.latencies_ms) for c in served.clients)
    served.wall_seconds += wall


def finish(served: Served) -> None:
    """Close the clients and stop the server."""
    for client in served.clients:
        client.close()
    stop(served.process)


def result(served: Served) -> dict[str, Any]:
    """The server's CPU ms per measured request (SystemExit when requests failed)."""
    errors = [e for c in served.clients for e in c.errors]
    if errors:
        raise SystemExit(f"error: {len(errors)} {served.name} requests failed, e.g. {errors[0]}\n"
                         f"{log_tail(served.log_path)}")
    return {"requests": served.requests, "cpu_ms_per_request": round(served.cpu_seconds * 1000 / served.requests, 3),
            "requests_per_second": round(served.requests / served.wall_seconds, 1)}


def bare_command(args: argparse.Namespace, workdir: Path, round_: int, with_bot: bool) -> tuple[str, list[str], int]:
    name = "floor" if with_bot else "bare"
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(port),
               str(workdir / f"{name}-{round_}.db"), str(args.server_threads)] + ([str(args.model)] if with_bot else [])
    return name, command, port


def real_command(args: argparse.Namespace, workdir: Path, round_: int) -> tuple[list[str], int, dict[str, str]]:
    port = free_port()
    command = [sys.executable, "-m", "chatbot", "serve", "--model", str(args.model), "--host", HOST,
               "--port", str(port), "--threads", str(args.server_threads), "--workers", "1"]
    instance = workdir / f"instance-{round_}"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir / f'real-{round_}.db'}", "PYTHONUNBUFFERED": "1",
           "CHATBOT_RATELIMIT_ENABLED": "0", "CHATBOT_INSTANCE_PATH": str(instance),
           # the clients' connections wait idle while the other servers take their turns: longer than the default 15 s
           # in a long run, and the bare servers (waitress's own default, 120 s) would not close them either
           "CHATBOT_SERVER_IDLE_TIMEOUT": "600"}
    return command, port, env


class Pipeline:
    """``Bot.reply`` in this process, timed in bursts like the servers: CPU ms per reply, each reply
    given its conversation's history."""

    def __init__(self, bot: Any, lines: list[str]) -> None:
        self.bot = bot
        self.lines = lines
        self.history: list[tuple[str, str]] = []
        self.cpu_seconds = 0.0
        self.requests = 0
        for text in USER_LINES[:5]:  # warm caches as the servers' warm-up does
            bot.reply(text, {"conversation_id": None, "history": []})

    def burst(self, requests: int) -> None:
        start = time.process_time()
        for _ in range(requests):
            text = self.lines[self.requests % len(self.lines)]
            reply = self.bot.reply(text, {"conversation_id": "c", "history": self.history[-HISTORY_TURNS:]})
            self.history += [("user", text), ("bot", reply.text)]
            self.requests += 1
        self.cpu_seconds += time.process_time() - start

    def result(self) -> dict[str, Any]:
        return {"requests": self.requests, "cpu_ms_per_request": round(self.cpu_seconds * 1000 / self.requests, 3)}


# ---------------------------------------------------------------- main


def measure_round(args: argparse.Namespace, workdir: Path, round_: int, bot: Any) -> dict[str, Any]:
    """Start the three servers side by side, then measure them (and the pipeline) in turns of
    ``--bursts``, so that every one of them meets the same moments of a shared machine."""
    servers: list[Served] = []
    try:
        for with_bot in (False, True):
            name, command, port = bare_command(args, workdir, round_, with_bot)
            servers.append(start_server(name, command, port, {**os.environ, "PYTHONUNBUFFERED": "1"}, args, workdir))
        command, port, env = real_command(args, workdir, round_)
        servers.append(start_server("real", command, port, env, args, workdir))
        pipeline = Pipeline(bot, args._lines)
        for share in split(args.requests, args.bursts):
            for served in servers:
                burst(served, share, args)
            pipeline.burst(share)
    finally:
        for served in servers:
            finish(served)
    return {**{served.name: result(served) for served in servers}, "pipeline": pipeline.result()}


def chat_lines(bot: Any, max_ms: float) -> tuple[list[str], list[str]]:
    """The user lines that the bot answers in at most ``max_ms`` of CPU (each replied to twice, the second
    timed), and the others. A line that the model routes to a heavy action (\"작년 GDP 성장률 알려줘\" runs a
    forecast of the built-in GDP series, about 0.9 s) would measure that action and bury the chat path's own
    cost under it, in the floor and the real server alike."""
    kept, dropped = [], []
    for text in USER_LINES:
        bot.reply(text, {"conversation_id": None, "history": []})
        start = time.process_time()
        bot.reply(text, {"conversation_id": None, "history": []})
        (kept if (time.process_time() - start) * 1000 <= max_ms else dropped).append(text)
    return kept, dropped


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from chatbot.bot import Bot

    bot = Bot.load(args.model)
    args._lines, dropped = chat_lines(bot, args.max_line_ms)
    if dropped:
        log(f"left out, answered by a heavy action: {dropped}")
    rounds = []
    for round_ in range(1, args.rounds + 1):
        log(f"round {round_}/{args.rounds}: bare, floor and real servers side by side, and the pipeline ...")
        measured = measure_round(args, workdir, round_, bot)
        bare, floor_app, real, pipeline = (measured[k] for k in ("bare", "floor", "real", "pipeline"))
        in_loop = bare["cpu_ms_per_request"] + pipeline["cpu_ms_per_request"]
        rounds.append({"round": round_, **measured,
                       "ratio": round(real["cpu_ms_per_request"] / floor_app["cpu_ms_per_request"], 2),
                       "ratio_in_process": round(real["cpu_ms_per_request"] / in_loop, 2),
                       "floor_over_sum": round(floor_app["cpu_ms_per_request"] / in_loop, 2)})
        log(f"  bare {bare['cpu_ms_per_request']:.2f} ms, floor {floor_app['cpu_ms_per_request']:.2f} ms, "
            f"real {real['cpu_ms_per_request']:.2f} ms, pipeline {pipeline['cpu_ms_per_request']:.2f} ms: "
            f"ratio {rounds[-1]['ratio']:.2f} (in process {rounds[-1]['ratio_in_process']:.2f})")

    def spread(key: str) -> dict[str, float]:
        values = [r[key] if key in RATIOS else r[key]["cpu_ms_per_request"] for r in rounds]
        return {"min": min(values), "median": round(statistics.median(values), 3), "max": max(values)}

    keys = ("bare", "floor", "real", "pipeline", *RATIOS)
    return {"rounds": rounds, "summary": {key: spread(key) for key in keys}, "lines_left_out": dropped}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_client_arguments(parser, 1000, "measured requests per server", 40)
    parser.add_argument("--rounds", type=int, default=3,
                        help="fresh servers and databases, this many times (default 3)")
    parser.add_argument("--bursts", type=int, default=10,
                        help="each round's requests in this many turns of every server and the pipeline (default 10)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="time limit of each phase (default 120)")
    parser.add_argument("--max-line-ms", type=float, default=20.0,
                        help="leave out user lines whose reply costs more CPU than this in process, i.e. a heavy "
                             "action such as a forecast (default 20)")
    add_common_arguments(parser, data=False)
    args = parser.parse_args(argv)
    if min(args.clients, args.requests, args.rounds, args.bursts, args.server_threads) < 1:
        parser.error("--clients, --requests, --rounds, --bursts and --server-threads must be at least 1")
    if args.requests < args.bursts * args.clients:
        parser.error("--requests must be at least --bursts x --clients (every client sends in every burst)")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve-bare"]:  # the bare server's own process
        serve_bare(int(argv[1]), Path(argv[2]), int(argv[3]), Path(argv[4]) if len(argv) > 4 else None)
        return 0
    args = parse_args(argv)
    args.model = args.model.resolve()
    if not ModelDir(args.model).exists():
        log(f"error: {ModelNotFound.at(args.model)}")
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the `finally` that stops a server runs
    with tempfile.TemporaryDirectory(prefix="request_floor_") as workdir:
        result = benchmark(args, Path(workdir))
    rows = [[r["round"], r["bare"]["cpu_ms_per_request"], r["pipeline"]["cpu_ms_per_request"],
             r["floor"]["cpu_ms_per_request"], r["real"]["cpu_ms_per_request"], r["ratio"], r["ratio_in_process"]]
            for r in result["rounds"]]
    markdown = markdown_table(["round", "bare ms", "pipeline ms", "floor ms", "real ms", "real / floor",
                               "real / (bare + pipeline)"], rows)
    log("\n" + markdown + "\n")
    emit({"benchmark": "request_floor", "parameters": arguments_dict(args), "environment": environment(PACKAGES),
          **result, "table_markdown": markdown}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

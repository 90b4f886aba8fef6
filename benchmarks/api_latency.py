"""Web API latency and throughput under concurrent clients, database write included.

    python benchmarks/api_latency.py [--model models/default] [--clients 4] [--requests 2000] [--out FILE]

The script trains nothing. It starts the real server (``python -m chatbot serve``, waitress) in a
subprocess on a free port of 127.0.0.1, with ``DATABASE_URL`` pointing at a fresh SQLite file in a
temporary folder (or ``--database-url``), waits for ``/healthz``, warms up, then lets ``--clients``
threads send ``--requests`` ``POST /api/chat`` requests in all. Each client keeps one persistent
HTTP connection and one conversation, so every request continues a conversation (history is read,
two rows are written). Afterwards every conversation is read back with
``GET /api/conversations/<id>`` (every page): it must hold exactly the user lines sent and the replies received,
in order. The exit code is 1 when a request failed or a message was lost, changed or added.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import from the checkout, not from benchmarks/
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.common import REPO_ROOT, add_common_arguments, arguments_dict, emit, environment, log, markdown_table
from benchmarks.server_process import (
    HOST,
    check_database_driver,
    free_port,
    log_tail,
    proc_stats,
    redact,
    stop,
    wait_until_ready,
)
from chatbot.model_dir import ModelDir, ModelNotFound

PACKAGES = ("flask", "flask-sqlalchemy", "sqlalchemy", "waitress", "psycopg2-binary", "psycopg", "kiwipiepy")
DEFAULT_MODEL = REPO_ROOT / "models" / "default"
ERROR_SAMPLES = 5

# What people type into a Korean chat window (written for this benchmark): greetings, feelings,
# food, typos, slang, emoji, one long message and a few out-of-domain questions.
USER_LINES = [
    "안녕하세요!",
    "안녕 ㅎㅎ 여기 처음 와 봤어",
    "반가워요~ 이름이 뭐예요?",
    "좋은 아침이에요 ☀️",
    "요즘 너무 우울해요",
    "오늘 회사에서 칭찬받아서 기분 최고야!!",
    "시험 망쳐서 속상하다 ㅠㅠ",
    "혼자 있으니까 좀 외롭네",
    "스트레스 때문에 잠이 안 와요",
    "헤어진 지 한 달 됐는데 아직도 생각나",
    "점심 뭐 먹지? 추천해 줘",
    "떡볶이 먹고 싶다",
    "배고파 죽겠어 ㅋㅋㅋㅋㅋ",
    "오늘 저녁은 치킨이다 🍗",
    "다이어트 중인데 야식이 너무 땡겨요",
    "안녕하세여 ㅎㅎ",
    "오늘 날씨 어떄?",
    "심심해 놀아줘ㅓ",
    "고마워욬ㅋㅋ",
    "나 오늘 넘 피곤햌",
    "ㄹㅇ 개웃기네",
    "갑분싸 됐어 ㅠ",
    "퇴근각 재는 중",
    "오늘 완전 꿀잼이었어",
    "😂😂😂",
    "주말에 여행 가요 ✈️🏖️",
    "사랑해 ❤️",
    "내일 중요한 발표가 있는데 준비를 하나도 못 해서 너무 걱정돼요. 어떻게 하면 좋을까요?",
    "양자역학의 불확정성 원리가 뭐야?",
    "작년 GDP 성장률 알려줘",
    "파이썬으로 퀵소트 짜 줘",
    "Can you speak English?",
    "비트코인 지금 사도 돼?",
]


# ---------------------------------------------------------------- one client


@dataclass
class Client:
    """One simulated user: a persistent connection and one conversation."""

    index: int
    port: int
    timeout: float
    conversation_id: str | None = None
    sent: list[tuple[str, str]] = field(default_factory=list)  # (user text, reply) of each 200
    latencies_ms: list[float] = field(default_factory=list)  # measured phase only
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    cursor: int = 0
    conn: http.client.HTTPConnection | None = None
    cookies: dict[str, str] = field(default_factory=dict)  # a guest's conversations belong to its session
    lines: list[str] = field(default_factory=lambda: USER_LINES)  # what this user types, in turn

    def __post_init__(self) -> None:
        self.cursor = self.index * 7  # clients start at different lines, so they send different text at once

    def connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> tuple[int, Any, float]:
        """``(status, decoded JSON or raw text, milliseconds)``; raises OSError/HTTPException on transport failure."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8") if payload is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = self.connection()
        start = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.close()  # the next call opens a new connection
            raise
        elapsed = (time.perf_counter() - start) * 1000
        for value in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(value)
            self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        try:
            data: Any = json.loads(raw)
        except ValueError:
            data = raw[:300].decode("utf-8", "replace")
        return response.status, data, elapsed

    def chat(self, measured: bool) -> None:
        """Send the next user line on this client's conversation and record the outcome."""
        text = self.lines[self.cursor % len(self.lines)]
        self.cursor += 1
        payload: dict[str, Any] = {"message": text}
        if self.conversation_id:
            payload["conversation_id"] = self.conversation_id
        try:
            status, data, ms = self.call("POST", "/api/chat", payload)
        except (OSError, http.client.HTTPException) as exc:
            self.count("transport_error")
            self.error({"kind": "transport", "error": f"{type(exc).__name__}: {exc}", "message": text})
            return
        self.count(str(status))
        if measured:
            self.latencies_ms.append(ms)
        if status != 200 or not isinstance(data, dict) or not isinstance(data.get("conversation_id"), str):
            self.error({"kind": "http", "status": status, "body": data, "message": text})
            return
        if self.conversation_id and data["conversation_id"] != self.conversation_id:
            self.error({"kind": "wrong_conversation", "expected": self.conversation_id, "got": data["conversation_id"]})
        self.conversation_id = self.conversation_id or data["conversation_id"]
        self.sent.append((text, data.get("reply")))

    def count(self, key: str) -> None:
        self.statuses[key] = self.statuses.get(key, 0) + 1

    def error(self, detail: dict[str, Any]) -> None:
        self.errors.append(detail)

    def read_messages(self) -> tuple[int | None, Any, list[tuple[Any, Any]]]:
        """Every stored ``(role, text)`` of the conversation, oldest first, read a page at a time (the newest
        page comes first; ``next_cursor`` leads to older ones): the status and body of the last request."""
        stored: list[tuple[Any, Any]] = []
        query = "?limit=200"
        while True:
            try:
                status, data, _ = self.call("GET", f"/api/conversations/{self.conversation_id}{query}")
            except (OSError, http.client.HTTPException) as exc:
                return None, f"{type(exc).__name__}: {exc}", stored
            if status != 200 or not isinstance(data, dict):
                return status, data, stored
            stored[:0] = [(m.get("role"), m.get("text")) for m in data.get("messages", [])]
            if not data.get("next_cursor"):
                return status, data, stored
            query = f"?limit=200&cursor={data['next_cursor']}"

    def verify(self) -> dict[str, Any]:
        """Read the conversation back and compare it with what was sent and received."""
        report: dict[str, Any] = {"client": self.index, "conversation_id": self.conversation_id,
                                  "successful_requests": len(self.sent), "expected_messages": 2 * len(self.sent)}
        if not self.conversation_id:
            report.update(stored_messages=0, lost=2 * len(self.sent), extra=0, mismatched=0)
            return report
        status, data, stored = self.read_messages()
        if status != 200:
            report.update(read_error=f"GET answered {status}: {str(data)[:200]}", stored_messages=None,
                          lost=2 * len(self.sent), extra=0, mismatched=0)
            return report
        expected = []
        for user_text, reply in self.sent:
            expected += [("user", unicodedata.normalize("NFC", user_text).strip()), ("bot", reply)]
        mismatched = [i for i, (want, got) in enumerate(zip(expected, stored, strict=False)) if want != got]
        report.update(stored_messages=len(stored), lost=max(0, len(expected) - len(stored)),
                      extra=max(0, len(stored) - len(expected)), mismatched=len(mismatched))
        if mismatched:
            i = mismatched[0]
            report["first_mismatch"] = {"position": i, "expected": expected[i], "stored": stored[i]}
        return report


# ---------------------------------------------------------------- load


def split(total: int, parts: int) -> list[int]:
    """``total`` requests shared as evenly as possible between ``parts`` clients."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_phase(clients: list[Client], counts: list[int], seconds: float, measured: bool) -> tuple[float, bool]:
    """All clients at once, each for its count of requests or until the deadline; ``(wall s, cut short)``."""
    deadline = time.monotonic() + seconds
    cut_short = threading.Event()
    halt = threading.Event()  # set on Ctrl-C/SIGTERM, so the clients stop after their current request

    def work(client: Client, count: int) -> None:
        for _ in range(count):
            if halt.is_set():
                return
            if time.monotonic() >= deadline:
                cut_short.set()
                return
            client.chat(measured)

    start = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=len(clients), thread_name_prefix="client")
    try:
        for future in [pool.submit(work, c, n) for c, n in zip(clients, counts, strict=True)]:
            future.result()
    except BaseException:
        halt.set()
        raise
    finally:
        pool.shutdown(wait=True)
    return time.perf_counter() - start, cut_short.is_set()


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of already sorted values."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def latency_summary(latencies: list[float], wall: float) -> dict[str, Any]:
    values = sorted(latencies)

    def ms(x: float | None) -> float | None:
        return None if x is None else round(x, 2)

    return {
        "requests": len(values),
        "p50_ms": ms(percentile(values, 50)),
        "p95_ms": ms(percentile(values, 95)),
        "p99_ms": ms(percentile(values, 99)),
        "mean_ms": ms(statistics.fmean(values)) if values else None,
        "max_ms": ms(values[-1]) if values else None,
        "wall_seconds": round(wall, 3),
        "requests_per_second": round(len(values) / wall, 1) if wall > 0 else None,
    }


# ---------------------------------------------------------------- main


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Start the server, load it, verify the conversations; the server is always stopped."""
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    port = free_port()
    server_log = workdir / "server.log"
    command = [sys.executable, "-m", "chatbot", "serve", "--model", str(args.model),
               "--host", HOST, "--port", str(port), "--threads", str(args.server_threads),
               "--workers", str(args.server_workers)]
    # Rate limits off: the benchmark measures the chat path, not the per-client limits.
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", "CHATBOT_RATELIMIT_ENABLED": "0"}
    log(f"starting the server on {HOST}:{port} ({redact(database_url)}) ...")
    with server_log.open("wb") as log_file:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
    clients: list[Client] = []
    try:
        started = time.perf_counter()
        health = wait_until_ready(server, port, args.startup_timeout)
        ready_seconds = time.perf_counter() - started
        clients = [Client(i, port, args.request_timeout) for i in range(args.clients)]
        # Every client's first warm-up request opens its conversation; the measured ones continue it.
        log(f"ready in {ready_seconds:.1f} s; warming up with {args.warmup} requests ...")
        run_phase(clients, split(max(args.warmup, args.clients), args.clients), args.max_seconds, measured=False)
        before = proc_stats(server.pid)
        log(f"measuring {args.requests} requests from {args.clients} clients ...")
        wall, cut_short = run_phase(clients, split(args.requests, args.clients), args.max_seconds, measured=True)
        after = proc_stats(server.pid)
        log("reading the conversations back ...")
        conversations = [c.verify() for c in clients]
    except RuntimeError as exc:
        raise SystemExit(f"error: {exc}\n--- server log (last lines) ---\n{log_tail(server_log)}") from exc
    finally:
        for client in clients:
            client.close()
        exit_code = stop(server)
    latencies = [ms for c in clients for ms in c.latencies_ms]
    statuses: dict[str, int] = {}
    for c in clients:
        for key, n in c.statuses.items():
            statuses[key] = statuses.get(key, 0) + n
    errors = [dict(e, client=c.index) for c in clients for e in c.errors]
    summary = latency_summary(latencies, wall)
    cpu = (after.get("cpu_seconds", 0) - before.get("cpu_seconds", 0)) if "cpu_seconds" in after else None
    return {
        "latency": summary,
        "requests_sent": sum(statuses.values()),
        "cut_short_by_max_seconds": cut_short,
        "status_counts": statuses,
        "errors": len(errors),
        "error_samples": errors[:ERROR_SAMPLES],
        "messages": {key: sum(r.get(key) or 0 for r in conversations)
                     for key in ("expected_messages", "stored_messages", "lost", "extra", "mismatched")},
        "conversations": conversations,
        "server": {
            "command": " ".join(command[1:]),
            "database": redact(database_url),
            "threads_per_process": args.server_threads,
            "workers": args.server_workers,
            "processes": after.get("processes"),
            "os_threads": after.get("os_threads"),
            "rss_mib": after.get("rss_mib"),
            "cpu_seconds_measured": round(cpu, 2) if cpu is not None else None,
            "cpu_ms_per_request": round(cpu * 1000 / len(latencies), 2) if cpu is not None and latencies else None,
            "ready_seconds": round(ready_seconds, 2),
            "health": health,
            "exit_code": exit_code,
            "log_tail": log_tail(server_log, 15),
        },
    }


def add_server_client_arguments(parser: argparse.ArgumentParser, requests: int, requests_help: str,
                                warmup: int) -> None:
    """The model, the client and the served chat server's arguments, shared by the benchmarks that use ``Client``."""
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, metavar="DIR",
                        help="trained model directory (default: models/default; make one with `make train`)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--requests", type=int, default=requests, help=f"{requests_help} (default {requests})")
    parser.add_argument("--warmup", type=int, default=warmup, help=f"warm-up requests, not measured (default {warmup})")
    parser.add_argument("--server-threads", type=int, default=8, help="threads per server process (default 8)")
    parser.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for /healthz")
    parser.add_argument("--request-timeout", type=float, default=30.0, help="seconds before one request fails")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_server_client_arguments(parser, 2000, "measured requests in all", 20)
    parser.add_argument("--max-seconds", type=float, default=120.0,
                        help="time limit of the warm-up and of the measured phase, each (default 120)")
    parser.add_argument("--database-url", help="database for the server (default: a fresh SQLite file in a temp dir)")
    parser.add_argument("--server-workers", type=int, default=1,
                        help="server processes: 1 is waitress, more is gunicorn (default 1)")
    add_common_arguments(parser, data=False)
    args = parser.parse_args(argv)
    for name in ("clients", "requests", "server_threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.max_seconds <= 0 or args.warmup < 0:
        parser.error("--max-seconds must be positive and --warmup 0 or more")
    return args


def table(result: dict[str, Any], clients: int) -> str:
    lat = result["latency"]
    header = ["clients", "requests", "p50 ms", "p95 ms", "p99 ms", "mean ms", "max ms", "req/s", "errors", "lost"]
    return markdown_table(header, [[clients, lat["requests"], lat["p50_ms"], lat["p95_ms"], lat["p99_ms"],
                                    lat["mean_ms"], lat["max_ms"], lat["requests_per_second"], result["errors"],
                                    result["messages"]["lost"]]])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.model = args.model.resolve()
    if not ModelDir(args.model).exists():
        log(f"error: {ModelNotFound.at(args.model)} (the default one: `make train`)")
        return 2
    if args.database_url:
        check_database_driver(args.database_url)
    # SIGTERM ends the run through SystemExit, so the `finally` that stops the server still runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="api_latency_") as workdir:
        result = benchmark(args, Path(workdir))
    markdown = table(result, args.clients)
    log("\n" + markdown + "\n")
    failed = result["errors"] > 0 or any(result["messages"][k] for k in ("lost", "extra", "mismatched"))
    parameters = arguments_dict(args)
    if args.database_url:
        parameters["database_url"] = redact(args.database_url)
    emit({"benchmark": "api_latency", "parameters": parameters, "environment": environment(PACKAGES),
          "ok": not failed, **result, "table_markdown": markdown}, args.out)
    if result["cut_short_by_max_seconds"]:
        log(f"warning: --max-seconds {args.max_seconds} stopped the run before all requests were sent")
    if failed:
        log("FAILED: requests failed or messages were lost/changed; see error_samples and conversations")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""A load client for ``POST /api/chat``: many simulated users, each with keep-alive and its own cookies.

Importable by the load tests (``tests/load/``) and used by ``benchmarks/chat_throughput.py``::

    result = run_load("127.0.0.1", port, clients=32, seconds=60)
    result.acknowledged   # the (client, text, conversation_id) of every 200 with a conversation id

Three engines send the same requests and record the same things:

- ``"raw"`` (the default): every user on one thread with non-blocking sockets and ``selectors``
  (``benchmarks/load_raw.py``). It costs the client the least CPU, which matters because the
  client shares the machine's two cores with the server: measured 0.31 ms of client CPU per
  request, against 0.39 ms for ``"async"`` and 0.58 ms for ``"threads"`` (32 users, gunicorn 2x4).
- ``"async"``: one asyncio event loop, raw HTTP/1.1 over ``asyncio.open_connection``.
- ``"threads"``: one thread per user with ``http.client``, the classic way.

The last two live in ``benchmarks/load_engines.py``.

Every request carries a unique message (``부하 테스트 c07 n123 <a Korean chat line>``) so that the
database can be checked line by line afterwards. A client continues its conversation for
``per_conversation`` messages, then starts a new one. A run stops by itself after ``seconds`` or
``count`` requests per client, or when ``stop`` (a ``threading.Event``) is set. A transport error
(the server was killed) waits ``retry_pause`` seconds before the next try, so a dead server is not
spun against.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

HOST = "127.0.0.1"

# What people type into a Korean chat window: greetings, feelings, food, typos, slang, emoji, a
# long message and a few out-of-domain questions (the same lines as benchmarks/api_latency.py).
CHAT_LINES = [
    "안녕하세요!", "안녕 ㅎㅎ 여기 처음 와 봤어", "반가워요~ 이름이 뭐예요?", "좋은 아침이에요 ☀️",
    "요즘 너무 우울해요", "오늘 회사에서 칭찬받아서 기분 최고야!!", "시험 망쳐서 속상하다 ㅠㅠ",
    "혼자 있으니까 좀 외롭네", "스트레스 때문에 잠이 안 와요", "헤어진 지 한 달 됐는데 아직도 생각나",
    "점심 뭐 먹지? 추천해 줘", "떡볶이 먹고 싶다", "배고파 죽겠어 ㅋㅋㅋㅋㅋ", "오늘 저녁은 치킨이다 🍗",
    "다이어트 중인데 야식이 너무 땡겨요", "안녕하세여 ㅎㅎ", "오늘 날씨 어떄?", "심심해 놀아줘ㅓ",
    "고마워욬ㅋㅋ", "나 오늘 넘 피곤햌", "ㄹㅇ 개웃기네", "갑분싸 됐어 ㅠ", "퇴근각 재는 중",
    "오늘 완전 꿀잼이었어", "😂😂😂", "주말에 여행 가요 ✈️🏖️", "사랑해 ❤️",
    "내일 중요한 발표가 있는데 준비를 하나도 못 해서 너무 걱정돼요. 어떻게 하면 좋을까요?",
    "양자역학의 불확정성 원리가 뭐야?", "작년 GDP 성장률 알려줘", "파이썬으로 퀵소트 짜 줘",
    "Can you speak English?", "비트코인 지금 사도 돼?",
]


def message_text(client: int, n: int) -> str:
    """The unique text of a client's ``n``-th message (already NFC and stripped, as the server stores it)."""
    return f"부하 테스트 c{client:02d} n{n} {CHAT_LINES[(client * 7 + n) % len(CHAT_LINES)]}"


@dataclass
class RequestRecord:
    """One ``POST /api/chat``: what was sent and how it ended."""

    client: int
    text: str
    started: float  # time.monotonic() when it was sent
    latency_ms: float
    status: int | None  # None: no HTTP answer (connection refused, reset, timed out)
    conversation_id: str | None = None  # from the answer; set only when acknowledged
    error: str | None = None

    @property
    def acknowledged(self) -> bool:
        """The server answered 200 with a conversation id: it says the exchange is stored."""
        return self.status == 200 and self.conversation_id is not None


@dataclass
class LoadResult:
    """Every request of a run, with the run's wall time."""

    records: list[RequestRecord] = field(default_factory=list)
    started: float = 0.0
    seconds: float = 0.0

    @property
    def acknowledged(self) -> list[RequestRecord]:
        return [r for r in self.records if r.acknowledged]

    @property
    def failed(self) -> list[RequestRecord]:
        return [r for r in self.records if not r.acknowledged]

    def status_counts(self) -> dict[str, int]:
        """How many requests ended with each status (``"transport"`` for no answer)."""
        counts: dict[str, int] = {}
        for r in self.records:
            key = str(r.status) if r.status is not None else "transport"
            counts[key] = counts.get(key, 0) + 1
        return counts

    def summary(self, since: float | None = None) -> dict[str, Any]:
        """Throughput and latency percentiles of the requests sent at or after ``since`` (monotonic)."""
        records = [r for r in self.records if since is None or r.started >= since]
        start = self.started if since is None else since
        end = max((r.started + r.latency_ms / 1000 for r in records), default=start)
        wall = max(end - start, 1e-9)
        latencies = sorted(r.latency_ms for r in records if r.acknowledged)
        acked = len(latencies)
        return {
            "requests": len(records),
            "acknowledged": acked,
            "errors": len(records) - acked,
            "seconds": round(wall, 2),
            "messages_per_second": round(acked / wall, 1),
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99),
            "max_ms": round(latencies[-1], 2) if latencies else None,
        }


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of already sorted values, rounded to 0.01."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return round(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low), 2)


@dataclass
class Plan:
    """What every client does; shared by both engines."""

    port: int
    clients: int
    seconds: float | None
    count: int | None
    per_conversation: int
    timeout: float
    retry_pause: float
    stop: threading.Event
    host: str = HOST

    def deadline(self, start: float) -> float:
        return start + self.seconds if self.seconds is not None else float("inf")

    def more(self, sent: int, deadline: float) -> bool:
        if self.stop.is_set() or time.monotonic() >= deadline:
            return False
        return self.count is None or sent < self.count


class UserSession:
    """One user's state: cookies, conversation, message counter."""

    def __init__(self, index: int, plan: Plan):
        self.index = index
        self.plan = plan
        self.cookies: dict[str, str] = {}
        self.conversation_id: str | None = None
        self.in_conversation = 0
        self.sent = 0

    def next_body(self) -> tuple[str, bytes]:
        text = message_text(self.index, self.sent)
        self.sent += 1
        payload: dict[str, Any] = {"message": text}
        if self.conversation_id and self.in_conversation < self.plan.per_conversation:
            payload["conversation_id"] = self.conversation_id
        else:
            self.conversation_id, self.in_conversation = None, 0
        return text, json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def headers(self, length: int) -> str:
        lines = [f"POST /api/chat HTTP/1.1\r\nHost: {self.plan.host}:{self.plan.port}\r\n"
                 f"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: {length}\r\n"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n")
        return "".join(lines) + "\r\n"

    def keep_cookies(self, set_cookie_values: list[str]) -> None:
        for value in set_cookie_values:
            jar = SimpleCookie()
            try:
                jar.load(value)
            except Exception:  # a cookie this tiny jar cannot parse is not one the API relies on
                continue
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or (morsel["expires"] and "1970" in morsel["expires"]):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def record(self, text: str, started: float, status: int | None, body: bytes | None,
               error: str | None = None) -> RequestRecord:
        latency = (time.monotonic() - started) * 1000
        conversation_id = None
        if status == 200 and body is not None:
            try:
                data = json.loads(body)
                conversation_id = data.get("conversation_id") if isinstance(data, dict) else None
            except ValueError:
                error = "200 without JSON"
            if isinstance(conversation_id, str):
                self.conversation_id = conversation_id
                self.in_conversation += 1
            else:
                conversation_id, error = None, error or "200 without a conversation_id"
        elif status is not None:
            error = body[:200].decode("utf-8", "replace") if body else f"HTTP {status}"
        return RequestRecord(self.index, text, started, latency, status, conversation_id, error)


ENGINE_NAMES = ("raw", "async", "threads")


def run_load(host: str, port: int, clients: int, seconds: float | None = None, count: int | None = None, *,
             engine: str = "raw", per_conversation: int = 20, timeout: float = 30.0, retry_pause: float = 0.05,
             stop: threading.Event | None = None) -> LoadResult:
    """Run ``clients`` simulated users against ``host:port`` until ``seconds`` pass, each has sent
    ``count`` messages, or ``stop`` is set; at least one of ``seconds`` and ``count`` is required."""
    if seconds is None and count is None:
        raise ValueError("run_load needs seconds or count, so that it stops by itself")
    if engine not in ENGINE_NAMES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINE_NAMES)}")
    from benchmarks.load_engines import ENGINES  # the engines import this module's session and records

    plan = Plan(port, clients, seconds, count, per_conversation, timeout, retry_pause,
                 stop or threading.Event(), host)
    return ENGINES[engine](plan)


def start_load(host: str, port: int, clients: int, seconds: float | None = None, count: int | None = None,
               **options: Any) -> tuple[threading.Thread, threading.Event, list[LoadResult]]:
    """``run_load`` in a background thread: ``(thread, stop event, [result once joined])``."""
    stop = options.pop("stop", None) or threading.Event()
    box: list[LoadResult] = []
    thread = threading.Thread(target=lambda: box.append(run_load(host, port, clients, seconds, count,
                                                                 stop=stop, **options)),
                              name="load", daemon=True)
    thread.start()
    return thread, stop, box

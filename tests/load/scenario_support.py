"""What the two-apps scenario (test_two_apps_scenario.py) drives: a browser-like HTTP client with a
cookie jar and the console's CSRF forms, the training worker as a real process, the shared database and
Redis, and the corpus the scenario uploads.

Everything here talks to real processes over their public surfaces (HTTP, the ``python -m chatbot``
commands, Redis); nothing imports the app.
"""

from __future__ import annotations

import contextlib
import csv
import http.client
import io
import itertools
import json
import os
import re
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request

import pytest

from benchmarks.chat_server import LOAD_ENV
from benchmarks.common import REPO_ROOT
from benchmarks.server_process import HOST, log_tail, process_tree

# A Redis database no other test uses; the scenario empties it (and only it) afterwards.
QUEUE_URL = os.environ.get("SCENARIO_QUEUE_URL", "redis://127.0.0.1:6379/11")
PASSWORD = "시나리오비밀번호1234"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')

# Our own corpus: a small library's help desk, four intents the default model does not know. Every
# question is said with a few openings and endings, so training has some hundreds of rows.
DESK = {
    "library_hours": ("도서관은 아침 아홉 시에 열고 저녁 여섯 시에 닫아요.",
                      ["도서관 몇 시에 열어요", "도서관 운영 시간 알려 주세요", "도서관 언제 문 닫아요",
                       "주말에도 도서관 열어요", "열람실 이용 시간이 궁금해요", "도서관 문 여는 시간",
                       "오늘 도서관 늦게까지 해요", "자료실은 몇 시까지예요"]),
    "book_loan": ("학생증을 가지고 대출 창구로 오시면 책을 빌릴 수 있어요.",
                  ["책 빌리려면 어떻게 해요", "책 대출 방법 알려 주세요", "한 번에 몇 권까지 빌릴 수 있어요",
                   "대출 기간은 며칠이에요", "빌린 책 연장하고 싶어요", "소설책 대출 가능해요",
                   "대출 카드 만들고 싶어요", "책을 집에 가져가도 돼요"]),
    "book_return": ("반납함에 넣으시거나 안내 데스크에 돌려주시면 돼요.",
                    ["책 반납은 어디에 해요", "빌린 책 돌려주고 싶어요", "반납함 위치 알려 주세요",
                     "반납 기한이 지났어요", "책을 늦게 반납하면 어떻게 돼요", "연체료가 있어요",
                     "밤에도 반납할 수 있어요", "다른 지점에 반납해도 돼요"]),
    "seat_booking": ("열람실 좌석은 입구의 키오스크에서 예약할 수 있어요.",
                     ["열람실 자리 예약하고 싶어요", "좌석 예약은 어떻게 해요", "빈자리 있어요",
                      "자리 맡아 둘 수 있어요", "스터디룸 빌릴 수 있어요", "좌석 연장하고 싶어요",
                      "노트북 쓸 수 있는 자리 있어요", "조용한 자리 예약해 주세요"]),
}
OPENINGS = ("", "혹시 ", "저기요 ", "안녕하세요 ", "궁금한데 ")
ENDINGS = ("?", "", " 알려줄래요?", " 부탁해요")


def desk_corpus() -> bytes:
    """The help-desk corpus as the CSV file a trainer uploads (text, intent, answer)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "intent", "answer"])
    for intent, (answer, questions) in DESK.items():
        for question, opening, ending in itertools.product(questions, OPENINGS, ENDINGS):
            writer.writerow([opening + question + ending, intent, answer])
    return out.getvalue().encode("utf-8")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Browser:
    """One user's browser on one app: a cookie jar (the session, CSRF), redirects not followed. Each request
    opens a new connection, so a gunicorn app's requests spread over its workers."""

    def __init__(self, port: int):
        self.port = port
        self.jar = CookieJar()

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                timeout: float = 60.0) -> Response:
        url = f"http://{HOST}:{self.port}{path}"
        outgoing = Request(url, data=body, method=method, headers=headers or {})
        self.jar.add_cookie_header(outgoing)
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=dict(outgoing.header_items()))
            answer = conn.getresponse()
            data = answer.read()
        finally:
            conn.close()
        self.jar.extract_cookies(_Headers(answer), outgoing)
        return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, data)

    def get(self, path: str) -> Response:
        return self.request("GET", path, headers={"Accept": "application/json, text/html"})

    def post_json(self, path: str, payload: dict[str, Any]) -> Response:
        return self.request("POST", path, json.dumps(payload).encode("utf-8"),
                            {"Content-Type": "application/json", "Accept": "application/json"})

    def login(self, username: str) -> Browser:
        response = self.post_json("/api/login", {"username": username, "password": PASSWORD})
        assert response.status == 200, response.text[:500]
        return self

    def post_form(self, path: str, page: str, fields: dict[str, str] | None = None,
                  file: tuple[str, str, bytes] | None = None) -> Response:
        """Submit a form of ``page`` (its CSRF token) to ``path``, multipart; ``file``: (field, name, bytes)."""
        html = self.get(page)
        assert html.status == 200, f"{page}: {html.status} {html.text[:500]}"
        match = CSRF.search(html.text)
        assert match, f"{page} has no form with a CSRF token"
        body, content_type = multipart({"csrf_token": match.group(1), **(fields or {})}, file)
        return self.request("POST", path, body, {"Content-Type": content_type, "Referer": self.url(page)})

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.get(f"/trainer/api/jobs/{job_id}")
        assert response.status == 200, response.text[:500]
        return response.json()

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"


class _Headers:
    """What CookieJar.extract_cookies needs of a response."""

    def __init__(self, response: http.client.HTTPResponse):
        self._response = response

    def info(self) -> Any:
        return self._response.msg


def multipart(fields: dict[str, str], file: tuple[str, str, bytes] | None) -> tuple[bytes, str]:
    boundary = f"scenario-{secrets.token_hex(8)}"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    if file is not None:
        name, filename, data = file
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: text/csv\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def location_id(response: Response) -> str:
    """The id at the end of a 303's Location (the new corpus's or job's page)."""
    assert response.status == 303, f"{response.status}: {response.text[:1500]}"
    return urlsplit(response.headers["location"]).path.rstrip("/").rsplit("/", 1)[1]


def add_user(database_url: str, username: str, role: str) -> None:
    """``python -m chatbot users add`` (the product's own way to make an account)."""
    done = subprocess.run([sys.executable, "-m", "chatbot", "users", "--database-url", database_url, "add", username,
                           "--role", role, "--password-stdin"], input=PASSWORD + "\n", cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ, **LOAD_ENV})
    assert done.returncode == 0, done.stderr[-2000:]


def redis_or_skip() -> Any:
    """A client of the scenario's Redis database; a skip (a failure under ``CI=true``) where none answers."""
    import redis

    client = redis.Redis.from_url(QUEUE_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"no Redis at {QUEUE_URL} for the training queue ({exc}); .ci/run starts one"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs Redis: {reason}", pytrace=False)
        pytest.skip(reason)
    return client


@dataclass
class TrainingWorker:
    """``python -m chatbot worker`` on the scenario's queue, its output in ``log``."""

    log: Path
    queue: str = field(default_factory=lambda: f"scenario-{secrets.token_hex(4)}")
    process: subprocess.Popen | None = None

    @property
    def name(self) -> str:
        return f"{self.queue}-worker"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chatbot", "worker", "--url", QUEUE_URL, "--queue", self.queue,
                 "--name", self.name, "--heartbeat", "2"], cwd=REPO_ROOT, env={**os.environ, **LOAD_ENV},
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def children(self) -> list[int]:
        """The worker's descendants: RQ's work horse and the training under it, while a job runs."""
        return process_tree(self.process.pid)[1:] if self.process is not None else []

    def rq_state(self, client: Any) -> tuple[str | None, str | None]:
        """The worker's state in Redis and the job it says it is working on."""
        from rq import Worker

        worker = Worker.find_by_key(f"{Worker.redis_worker_namespace_prefix}{self.name}", connection=client)
        return (None, None) if worker is None else (worker.get_state(), worker.get_current_job_id())

    def stop(self) -> None:
        """A warm stop (SIGINT), a second one after RQ's 1 s if a job still runs, then the whole group killed."""
        if self.process is None:
            return
        for wait in (1.5, 15):
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=wait)
        with contextlib.suppress(ProcessLookupError):  # whatever of its process group is left
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def log_tail(self, lines: int = 60) -> str:
        return log_tail(self.log, lines)

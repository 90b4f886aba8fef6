"""Idle connections for the issue 23 load test: plain sockets that open and then stay silent, a fresh
chat client timed against them, and a watch for the moment the server closes each one."""

from __future__ import annotations

import http.client
import json
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.load_client import HOST

# Three kinds, in turn: connected and silent; a request's first header lines and then nothing; a
# whole keep-alive chat request whose reply is never read (the load client that locked waitress out).
KINDS = ("silent", "partial", "answered")


@dataclass
class IdleSocket:
    """One idle connection, and when the server last had anything from it or sent anything to it."""

    sock: socket.socket
    kind: str
    quiet_since: float
    closed_at: float | None = None

    @property
    def open_for(self) -> float:
        """Seconds from going quiet to being closed by the server."""
        assert self.closed_at is not None
        return self.closed_at - self.quiet_since


def chat_request(port: int, text: str) -> bytes:
    """A complete ``POST /api/chat`` that asks to keep the connection open."""
    body = json.dumps({"message": text}, ensure_ascii=False).encode("utf-8")
    head = (f"POST /api/chat HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: keep-alive\r\n"
            f"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("ascii") + body


def partial_request(port: int) -> bytes:
    """The start of a request whose headers never end."""
    return f"POST /api/chat HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n".encode("ascii")


def open_idle(port: int, count: int, answer_timeout: float = 60.0) -> list[IdleSocket]:
    """Open ``count`` idle connections of the three kinds; returns once every chat request is answered
    (its reply waiting, unread, in the socket), so that all of them are idle from the server's side."""
    idle = []
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        sock = socket.create_connection((HOST, port), timeout=10)
        if kind == "partial":
            sock.sendall(partial_request(port))
        elif kind == "answered":
            sock.sendall(chat_request(port, f"안녕하세요, 손님 {index}번이에요"))
        idle.append(IdleSocket(sock, kind, time.monotonic()))

    def answered(one: IdleSocket) -> bool:
        one.quiet_since = time.monotonic()  # the reply has come: quiet from here on
        return True

    unanswered = _watch([one for one in idle if one.kind == "answered"], answer_timeout, answered)
    if unanswered:
        for one in idle:
            one.sock.close()
    assert not unanswered, f"{len(unanswered)} chat requests were not answered within {answer_timeout:.0f} s"
    return idle


def timed_chat(port: int, text: str = "안녕하세요") -> tuple[float, int, dict]:
    """``POST /api/chat`` from a fresh client on a new connection: (seconds, status, JSON)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        body = json.dumps({"message": text}, ensure_ascii=False).encode("utf-8")
        conn.request("POST", "/api/chat", body=body,
                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    return time.monotonic() - started, response.status, json.loads(data)


def watch_closing(idle: list[IdleSocket], timeout: float) -> list[IdleSocket]:
    """Wait up to ``timeout`` seconds for the server to close every socket (EOF or a reset); each one's
    ``closed_at`` is set when seen. A reply waiting in a socket is read and thrown away on the way."""
    def closed(one: IdleSocket) -> bool:
        if not _closed_by_server(one.sock):
            return False
        one.closed_at = time.monotonic()
        return True

    for one in idle:
        one.sock.setblocking(False)
    still_open = _watch(idle, timeout, closed)
    for one in idle:
        one.sock.close()
    return still_open


def _watch(sockets: list[IdleSocket], timeout: float, done: Callable[[IdleSocket], bool]) -> list[IdleSocket]:
    """Call ``done`` on each socket that turns readable, until it says True for every one or ``timeout``
    seconds pass; the sockets it never said True for."""
    with selectors.DefaultSelector() as selector:
        for one in sockets:
            selector.register(one.sock, selectors.EVENT_READ, one)
        deadline = time.monotonic() + timeout
        while selector.get_map() and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.2):
                if done(key.data):
                    selector.unregister(key.fileobj)
        return [key.data for key in selector.get_map().values()]


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        while True:
            if not sock.recv(65536):
                return True
    except BlockingIOError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True

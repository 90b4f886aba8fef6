"""The ``"raw"`` engine of ``benchmarks/load_client.py``: every user on one thread, non-blocking sockets
and ``selectors``, a minimal HTTP/1.1 reader (``Content-Length`` bodies, which Flask always sends).

It does no more per request than the protocol needs (no task, no future, no timer objects), so it
leaves the most CPU to the server when both share the machine's cores."""

from __future__ import annotations

import errno
import selectors
import socket
import time
from typing import Any

HEADER_END = b"\r\n\r\n"


class RawUser:
    """One simulated user's connection, as a small state machine driven by the selector."""

    def __init__(self, session: Any, selector: selectors.BaseSelector, out: list):
        self.session = session
        self.plan = session.plan
        self.selector = selector
        self.out = out
        self.sock: socket.socket | None = None
        self.connecting = False
        self.outgoing = b""
        self.incoming = bytearray()
        self.text = ""
        self.started = 0.0
        self.wake_at = 0.0  # next request not before this (monotonic), after a transport error
        self.busy = False  # a request is in flight

    def start_request(self, now: float) -> None:
        self.text, body = self.session.next_body()
        self.outgoing = self.session.headers(len(body)).encode("latin-1") + body
        self.incoming.clear()
        self.started = now
        self.busy = True
        if self.sock is None:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.setblocking(False)
            code = self.sock.connect_ex((self.plan.host, self.plan.port))
            if code not in (0, errno.EINPROGRESS):
                self.fail(OSError(code, errno.errorcode.get(code, str(code))))
                return
            self.connecting = True
            self.selector.register(self.sock, selectors.EVENT_WRITE, self)
        else:
            self.send()

    def send(self) -> None:
        try:
            sent = self.sock.send(self.outgoing)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self.fail(exc)
            return
        self.outgoing = self.outgoing[sent:]
        # Registered since the connect; only the event it waits for changes.
        self.selector.modify(self.sock, selectors.EVENT_WRITE if self.outgoing else selectors.EVENT_READ, self)

    def on_event(self, mask: int) -> None:
        if self.connecting:
            code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self.fail(OSError(code, errno.errorcode.get(code, str(code))))
                return
            self.connecting = False
            self.send()
        elif mask & selectors.EVENT_WRITE:
            self.send()
        else:
            self.receive()

    def receive(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as exc:
            self.fail(exc)
            return
        if not chunk:
            self.fail(ConnectionResetError("the server closed the connection"))
            return
        self.incoming += chunk
        end = self.incoming.find(HEADER_END)
        if end < 0:
            return
        head = bytes(self.incoming[:end]).decode("latin-1").split("\r\n")
        length, cookies, keep_alive = None, [], True
        try:
            status = int(head[0].split(" ", 2)[1])
            for line in head[1:]:
                name, _, value = line.partition(":")
                name = name.lower()
                if name == "content-length":
                    length = int(value)
                elif name == "set-cookie":
                    cookies.append(value.strip())
                elif name == "connection":
                    keep_alive = value.strip().lower() != "close"
        except (IndexError, ValueError) as exc:
            self.fail(exc)
            return
        if length is None:
            self.fail(ValueError("a response without Content-Length"))
            return
        if len(self.incoming) < end + 4 + length:
            return
        body = bytes(self.incoming[end + 4:end + 4 + length])
        self.session.keep_cookies(cookies)
        self.out.append(self.session.record(self.text, self.started, status, body))
        self.busy = False
        if not keep_alive:
            self.close()

    def fail(self, exc: BaseException) -> None:
        self.out.append(self.session.record(self.text, self.started, None, None, f"{type(exc).__name__}: {exc}"))
        self.busy = False
        self.close()
        self.wake_at = time.monotonic() + self.plan.retry_pause

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.selector.unregister(self.sock)
            except (KeyError, ValueError):
                pass
            self.sock.close()
            self.sock = None
        self.connecting = False


def run_raw(sessions: list[Any], deadline: float, out: list) -> None:
    """Drive every session until the plan says stop; a request in flight past the timeout fails."""
    selector = selectors.DefaultSelector()
    users = [RawUser(s, selector, out) for s in sessions]
    plan = sessions[0].plan
    try:
        while True:
            now = time.monotonic()
            active = False
            for user in users:
                if user.busy:
                    active = True
                    if now - user.started > plan.timeout:
                        user.fail(TimeoutError(f"no answer within {plan.timeout} s"))
                elif now >= user.wake_at and plan.more(user.session.sent, deadline):
                    user.start_request(now)
                    active = True
                elif plan.more(user.session.sent, deadline):
                    active = True
            if not active:
                return
            for key, mask in selector.select(timeout=0.05):
                key.data.on_event(mask)
    finally:
        for user in users:
            user.close()
        selector.close()

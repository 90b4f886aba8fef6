"""The engines of ``benchmarks/load_client.py``: how the simulated users' requests are sent.

``"async"``: one asyncio event loop, raw HTTP/1.1 over ``asyncio.open_connection``. ``"threads"``: one
thread per user with ``http.client``. ``"raw"`` (``benchmarks/load_raw.py``): one thread, non-blocking
sockets and ``selectors``, the cheapest for the client. Each takes a plan and returns a ``LoadResult``.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
import time
from collections.abc import Callable

from benchmarks.load_client import LoadResult, Plan, RequestRecord, UserSession


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, list[str], bytes, bool]:
    """``(status, Set-Cookie values, body, keep-alive)`` of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, cookies, keep_alive, chunked = 0, [], True, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "set-cookie":
            cookies.append(value.strip())
        elif name == "connection":
            keep_alive = value.strip().lower() != "close"
        elif name == "transfer-encoding":
            chunked = "chunked" in value.lower()
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(length)
    return status, cookies, body, keep_alive


async def _async_user(session: UserSession, deadline: float, out: list[RequestRecord]) -> None:
    plan = session.plan
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while plan.more(session.sent, deadline):
            text, body = session.next_body()
            started = time.monotonic()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(plan.host, plan.port), plan.timeout)
                writer.write(session.headers(len(body)).encode("latin-1") + body)
                status, cookies, answer, keep_alive = await asyncio.wait_for(_read_response(reader), plan.timeout)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
                    ValueError, IndexError) as exc:
                out.append(session.record(text, started, None, None, f"{type(exc).__name__}: {exc}"))
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(plan.retry_pause)
                continue
            session.keep_cookies(cookies)
            out.append(session.record(text, started, status, answer))
            if not keep_alive:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


def _run_async(plan: Plan) -> LoadResult:
    async def main() -> LoadResult:
        result = LoadResult(started=time.monotonic())
        deadline = plan.deadline(result.started)
        await asyncio.gather(*(_async_user(UserSession(i, plan), deadline, result.records)
                               for i in range(plan.clients)))
        result.seconds = time.monotonic() - result.started
        return result

    return asyncio.run(main())


# ---------------------------------------------------------------- thread engine


def _thread_user(session: UserSession, deadline: float, out: list[RequestRecord]) -> None:
    plan = session.plan
    conn: http.client.HTTPConnection | None = None
    try:
        while plan.more(session.sent, deadline):
            text, body = session.next_body()
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if session.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
            started = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(plan.host, plan.port, timeout=plan.timeout)
                conn.request("POST", "/api/chat", body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as exc:
                out.append(session.record(text, started, None, None, f"{type(exc).__name__}: {exc}"))
                if conn is not None:
                    conn.close()
                conn = None
                plan.stop.wait(plan.retry_pause)
                continue
            session.keep_cookies(response.headers.get_all("Set-Cookie") or [])
            out.append(session.record(text, started, response.status, answer))
            if response.will_close:
                conn.close()
                conn = None
    finally:
        if conn is not None:
            conn.close()


def _run_threads(plan: Plan) -> LoadResult:
    result = LoadResult(started=time.monotonic())
    deadline = plan.deadline(result.started)
    threads = [threading.Thread(target=_thread_user, args=(UserSession(i, plan), deadline, result.records),
                                name=f"load-client-{i}", daemon=True) for i in range(plan.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - result.started
    return result


def _run_raw(plan: Plan) -> LoadResult:
    from benchmarks.load_raw import run_raw

    result = LoadResult(started=time.monotonic())
    run_raw([UserSession(i, plan) for i in range(plan.clients)], plan.deadline(result.started), result.records)
    result.seconds = time.monotonic() - result.started
    return result


ENGINES: dict[str, Callable[[Plan], LoadResult]] = {"raw": _run_raw, "async": _run_async, "threads": _run_threads}

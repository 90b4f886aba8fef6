"""What the web layer alone costs a chat request: the app's WSGI callable in a loop, with an instant bot.

    python benchmarks/web_layer.py [--requests 2000] [--rounds 3] [--profile 30]

No server, no client, no model: each request is a ``POST /api/chat`` environ built beforehand (a guest
with its session cookie, continuing one conversation, rate limits off) and handed to ``create_app()``'s
WSGI callable, on a fresh SQLite file; the bot answers at once (``InstantBot``). Beside it, the bare app of
``benchmarks/request_floor.py`` (parse the JSON, commit two rows to SQLite) runs the same way. CPU time
per request (``time.process_time``), so the figure is the web layer's own work, before any thread of a
server interleaves with it; ``request_floor.py`` measures the request served. ``--profile N`` prints the
N costliest functions of one more round under cProfile (which slows it about 2.5 times).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import from the checkout, not from benchmarks/
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.common import add_common_arguments, arguments_dict, emit, environment, log, markdown_table

PACKAGES = ("flask", "flask-sqlalchemy", "flask-login", "flask-limiter", "sqlalchemy", "werkzeug")


class InstantBot:
    """Answers at once, with a small dialogue state, as the real bot's reply is shaped."""

    meta = {"created_at": "2026-01-01T00:00:00+00:00", "intents": ["echo"]}

    def reply(self, text: str, context: Any = None, image: Any = None, table: Any = None,
              state: dict[str, Any] | None = None) -> Any:
        from chatbot.bot import Reply

        return Reply(text="네, " + text, intent="echo", confidence=0.9, source="instant",
                     state={"turns": [["user", text]], "slots": {}})


def environ_maker(path: str, body: dict[str, Any], cookie: str | None = None) -> Any:
    from werkzeug.test import EnvironBuilder

    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if cookie:
        headers["Cookie"] = cookie
    return EnvironBuilder(path=path, method="POST", data=json.dumps(body, ensure_ascii=False).encode(),
                          headers=headers).get_environ()


def timed(app: Any, environs: list[dict[str, Any]]) -> float:
    """CPU ms per request over ``environs``, each answered 200 (else SystemExit)."""
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    start = time.process_time()
    for environ in environs:
        b"".join(app(environ, start_response))
    spent = time.process_time() - start
    failed = [s for s in statuses if not s.startswith("200")]
    if failed:
        raise SystemExit(f"error: {len(failed)} requests answered {failed[0]}")
    return spent * 1000 / len(environs)


def real_app(workdir: Path) -> tuple[Any, Any]:
    """The chat app on a fresh SQLite file, and a maker of its requests (a guest continuing one conversation)."""
    os.environ["CHATBOT_RATELIMIT_ENABLED"] = "0"
    from webui import create_app

    app = create_app({"BOT": InstantBot(), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'web.db'}",
                      "SECRET_KEY": "benchmark", "UPLOAD_FOLDER": str(workdir / "uploads")})
    client = app.test_client()
    conversation_id = client.post("/api/chat", json={"message": "안녕"}).get_json()["conversation_id"]
    client.post("/api/chat", json={"message": "또 왔어", "conversation_id": conversation_id})  # the settled cookie
    cookie = f"session={client.get_cookie('session').value}"
    return app, lambda i: environ_maker("/api/chat", {"message": f"오늘 날씨 어때 {i}",
                                                      "conversation_id": conversation_id}, cookie)


def bare(workdir: Path) -> tuple[Any, Any]:
    from benchmarks.request_floor import bare_app

    return bare_app(workdir / "bare.db"), lambda i: environ_maker("/api/chat", {"message": f"오늘 날씨 어때 {i}",
                                                                                "conversation_id": "c"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest functions")
    add_common_arguments(parser, data=False)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        apps = {"bare": bare(Path(tmp)), "real": real_app(Path(tmp))}
        for app, make in apps.values():
            timed(app, [make(i) for i in range(100)])  # warm: caches, compiled statements, the pool
        for round_ in range(1, args.rounds + 1):
            figures = {name: timed(app, [make(i) for i in range(args.requests)]) for name, (app, make) in apps.items()}
            rows.append({"round": round_, **{f"{k}_ms": round(v, 3) for k, v in figures.items()}})
            log(f"round {round_}: bare {figures['bare']:.3f} ms, real {figures['real']:.3f} ms a request")
        if args.profile:
            import cProfile
            import pstats

            app, make = apps["real"]
            environs = [make(i) for i in range(args.requests)]
            profiler = cProfile.Profile()
            profiler.runcall(timed, app, environs)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(args.profile)
    log(markdown_table(["round", "bare ms", "real ms"], [[r["round"], r["bare_ms"], r["real_ms"]] for r in rows]))
    emit({"benchmark": "web_layer", "arguments": arguments_dict(args), "environment": environment(PACKAGES),
          "rounds": rows}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

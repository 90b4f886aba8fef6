"""``python -m chatbot worker``: run the trainer console's queued training jobs (``TRAINER_QUEUE_URL``)
on this machine, which needs the code and ``TRAINER_DIR`` at the same path as the web machines.

Added to ``python -m chatbot`` by ``webui.cli.register`` (the ``chatbot.cli`` entry point), so the
library's command line never imports the web app; rq is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from webui import settings

DEFAULT_HEARTBEAT_SECONDS = 10
HELP = "run queued training jobs from the trainer console (RQ, with CHATBOT_TRAINER_QUEUE_URL)"
DESCRIPTION = ("Take training jobs from the Redis queue the trainer console puts them on and run `python -m chatbot "
               "train` for each, one at a time. Every machine, web or worker, must see TRAINER_DIR (uploaded "
               "corpora, job folders and their models) at the same path.")


def register(subparsers: Any) -> None:
    """Add ``worker`` to the ``python -m chatbot`` argument parser."""
    parser = subparsers.add_parser("worker", help=HELP, description=DESCRIPTION)
    parser.add_argument("--url", metavar="REDIS_URL",
                        help="the queue's Redis (default: $CHATBOT_TRAINER_QUEUE_URL)")
    parser.add_argument("--queue", metavar="NAME",
                        help="the queue (default: $CHATBOT_TRAINER_QUEUE_NAME or training)")
    parser.add_argument("--name", metavar="NAME", help="this worker's name in Redis (default: RQ's, unique)")
    parser.add_argument("--burst", action="store_true", help="stop once the queue is empty")
    parser.add_argument("--heartbeat", type=_seconds, default=DEFAULT_HEARTBEAT_SECONDS, metavar="SECONDS",
                        help="how often the worker tells Redis that it is alive while it trains (default: "
                        f"{DEFAULT_HEARTBEAT_SECONDS}); a job whose worker died reads as interrupted within "
                        "about three of these")
    parser.set_defaults(func=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    """Work the queue until stopped (Ctrl-C, SIGTERM: after the job under way) or, with ``--burst``, empty."""
    url = args.url or settings.environment_value("TRAINER_QUEUE_URL")
    if not url:
        print("error: no queue: give --url redis://HOST:6379/1 or set CHATBOT_TRAINER_QUEUE_URL", file=sys.stderr)
        return 2
    name = args.queue or settings.environment_value("TRAINER_QUEUE_NAME") or "training"
    from redis import Redis, RedisError
    from rq import Queue

    from webui.trainer.rq_job import TrainingWorker

    connection = Redis.from_url(url)
    try:
        connection.ping()
    except RedisError as exc:
        print(f"error: cannot reach the queue's Redis at {url.split('@')[-1]}: {exc}", file=sys.stderr)
        return 1
    logging.getLogger("webui").setLevel(logging.INFO)
    worker = TrainingWorker([Queue(name, connection=connection)], connection=connection, name=args.name,
                            job_monitoring_interval=args.heartbeat)
    print(f"Training worker {worker.name} on queue '{name}' ({url.split('@')[-1]})", flush=True)
    worker.work(burst=args.burst, logging_level="INFO", with_scheduler=False)
    return 0


def _seconds(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be a whole number of seconds, 1 or more")
    return number

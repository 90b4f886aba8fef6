"""What the load tests check: the database's user messages against the acknowledged ones."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable

from benchmarks.chat_server import stored_user_messages  # noqa: F401  (the tests' import point)
from benchmarks.load_client import LoadResult, RequestRecord

LOAD_CLIENTS = 32


def load_seconds() -> float:
    """How long each load run lasts: ``LOAD_SECONDS`` (default 60 s, the length of run the deployment figures quote)."""
    return float(os.environ.get("LOAD_SECONDS", "60"))


def acknowledged_messages(records: LoadResult | Iterable[RequestRecord]) -> Counter[tuple[str, str]]:
    """``(conversation_id, text)`` of every acknowledged request of a run (or of some records)."""
    if isinstance(records, LoadResult):
        records = records.records
    return Counter((r.conversation_id, r.text) for r in records if r.acknowledged)


def missing(acknowledged: Counter, stored: Counter) -> list[tuple[str, str]]:
    """Acknowledged messages that the database does not hold (as many times as acknowledged)."""
    return sorted((acknowledged - stored).elements())


def describe_errors(result: LoadResult, limit: int = 5) -> str:
    """The status counts and the first few failures, for an assertion message."""
    samples = [f"client {r.client}: status {r.status} {r.error}" for r in result.failed[:limit]]
    return f"statuses {result.status_counts()}; first failures: {samples}"

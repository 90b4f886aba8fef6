"""Hot swap: promote another model while 32 clients chat; no request fails and every worker serves the
new version afterwards."""

from __future__ import annotations

import time

import pytest
from load_helpers import (
    LOAD_CLIENTS,
    acknowledged_messages,
    describe_errors,
    load_seconds,
    missing,
    stored_user_messages,
)

from benchmarks.chat_server import promote_model
from benchmarks.load_client import HOST, start_load
from benchmarks.server_process import fetch_json

pytestmark = pytest.mark.load

SWAP_SECONDS = 30  # workers check every ~2 s; loading a model takes a few more under load
HEALTH_PROBES = 20  # new connections, so that both workers are asked


def served_versions(port: int, probes: int = HEALTH_PROBES) -> set:
    """The model versions that ``/healthz`` reports over ``probes`` fresh connections."""
    versions = set()
    for _ in range(probes):
        status, health = fetch_json(port, "/healthz")
        assert status == 200, health
        versions.add(health.get("model", {}).get("version"))
    return versions


def test_promotion_under_load_fails_no_request(start_server, default_model, second_model, tmp_path, database_url):
    served = tmp_path / "models" / "default"
    promote_model(default_model, served)
    server = start_server(model=served)
    before = served_versions(server.port)
    assert len(before) == 1 and None not in before, before

    seconds = load_seconds()
    # A third of a run before the promotion and a third after every worker has swapped; the run's own
    # limit only guards against a hang.
    thread, stop, box = start_load(HOST, server.port, LOAD_CLIENTS, seconds=3 * seconds + SWAP_SECONDS + 120)
    try:
        time.sleep(seconds / 3)
        promote_model(second_model, served)
        promoted_at = time.monotonic()
        while served_versions(server.port, 4) & before and time.monotonic() < promoted_at + SWAP_SECONDS:
            time.sleep(0.5)
        swapped_at = time.monotonic()
        time.sleep(seconds / 3)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive(), "the load run did not stop by itself"
    result = box[0]

    assert result.failed == [], describe_errors(result)
    assert [r for r in result.acknowledged if r.started > swapped_at], "no request was answered after the swap"
    after = served_versions(server.port)
    assert len(after) == 1 and not (after & before), f"versions before {before}, after {after}"
    acknowledged = acknowledged_messages(result)
    stored = stored_user_messages(database_url)
    assert sum(stored.values()) == sum(acknowledged.values())
    assert missing(acknowledged, stored) == []

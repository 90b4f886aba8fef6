"""Crash: SIGKILL the whole server (master and workers) in the middle of a load run, restart it on the
same database; every message acknowledged before the kill (and after) is there, and it answers again."""

from __future__ import annotations

import time

import pytest
from load_helpers import LOAD_CLIENTS, acknowledged_messages, load_seconds, missing, stored_user_messages

from benchmarks.load_client import HOST, start_load
from benchmarks.server_process import fetch_json

pytestmark = pytest.mark.load

DOWN_SECONDS = 1.0  # the clients keep trying against the dead server meanwhile


def test_sigkill_midway_loses_no_acknowledged_message(start_server, database_url):
    server = start_server()
    seconds = load_seconds()
    # The run is stopped half a run after the restart; its own limit only guards against a hang.
    thread, stop, box = start_load(HOST, server.port, LOAD_CLIENTS, seconds=2 * seconds + server.startup_timeout)
    try:
        time.sleep(seconds / 2)
        server.kill()
        killed_at = time.monotonic()
        time.sleep(DOWN_SECONDS)
        server.start()  # same port, same database, same instance folder
        restarted_at = time.monotonic()
        time.sleep(seconds / 2)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive(), "the load run did not stop by itself"
    result = box[0]

    answered_before = [r for r in result.acknowledged if r.started + r.latency_ms / 1000 <= killed_at]
    answered_after = [r for r in result.acknowledged if r.started >= restarted_at]
    assert answered_before, "nothing was acknowledged before the kill: the crash tested nothing"
    assert any(r.status is None for r in result.records), "no request failed: was the server really killed?"
    assert answered_after, "the restarted server answered no request"

    acknowledged = acknowledged_messages(result)
    stored = stored_user_messages(database_url)
    assert missing(acknowledged_messages(answered_before), stored) == [], "lost before the kill"
    assert missing(acknowledged, stored) == [], "an acknowledged message is missing"
    # Requests in flight at the kill may or may not have been committed: at most one per client.
    assert sum((stored - acknowledged).values()) <= LOAD_CLIENTS
    assert max(stored.values()) == 1, "a message was stored twice"
    status, health = fetch_json(server.port, "/healthz")
    assert status == 200, health

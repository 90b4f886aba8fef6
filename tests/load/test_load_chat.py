"""Load: 32 clients for LOAD_SECONDS against gunicorn (2 workers); no error, and every acknowledged
message is in the database."""

from __future__ import annotations

import pytest
from load_helpers import (
    LOAD_CLIENTS,
    acknowledged_messages,
    describe_errors,
    load_seconds,
    missing,
    stored_user_messages,
)

from benchmarks.load_client import HOST, run_load

pytestmark = pytest.mark.load


def test_32_clients_get_no_error_and_every_acknowledged_message_is_stored(start_server, database_url):
    server = start_server()
    result = run_load(HOST, server.port, LOAD_CLIENTS, seconds=load_seconds())

    assert len(result.records) >= LOAD_CLIENTS, "the clients sent (almost) nothing"
    assert result.failed == [], describe_errors(result)
    acknowledged = acknowledged_messages(result)
    stored = stored_user_messages(database_url)
    assert sum(stored.values()) == sum(acknowledged.values()), "stored user messages != acknowledged ones"
    assert missing(acknowledged, stored) == []
    assert max(stored.values()) == 1, "a message was stored twice"
    assert len({r.client for r in result.acknowledged}) == LOAD_CLIENTS, "some client was never answered"
    assert "Traceback" not in server.log_tail(400), server.log_tail()

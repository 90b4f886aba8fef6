"""``GET /api/commands``: the ``/`` menu's list, straight from the library's command registry."""

from __future__ import annotations

import re

from chatbot.commands import COMMANDS, command, list_commands


def test_lists_every_registered_command_with_usage_and_korean_description(client):
    response = client.get("/api/commands")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    listed = response.get_json()["commands"]
    assert [c["name"] for c in listed] == [c.name for c in list_commands()]
    by_name = {c["name"]: c for c in listed}
    assert {"help", "image", "forecast"} <= set(by_name)
    for item in listed:
        assert set(item) == {"name", "usage", "description"}
        assert not item["name"].startswith("/")
        assert item["usage"].startswith("/" + item["name"]), item
        assert re.search(r"[가-힣]", item["description"]), item  # Korean, for the Korean page
    assert by_name["help"]["description"] == COMMANDS["help"].description
    assert "h=" in by_name["forecast"]["usage"]


def test_a_newly_registered_command_appears(client):
    @command("zz-menu", "메뉴 시험용이에요")
    def handler(args, bot, context):  # pragma: no cover - never run
        raise AssertionError

    try:
        listed = client.get("/api/commands").get_json()["commands"]
        assert {"name": "zz-menu", "usage": "/zz-menu", "description": "메뉴 시험용이에요"} in listed
    finally:
        del COMMANDS["zz-menu"]


def test_the_list_is_cacheable_and_readable_as_korean(client):
    response = client.get("/api/commands")
    assert response.cache_control.public and response.cache_control.max_age == 300
    assert "도움" in response.get_data(as_text=True) or "명령어" in response.get_data(as_text=True)  # no \\u escapes


def test_other_methods_get_a_json_405(client):
    response = client.post("/api/commands", json={})
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"

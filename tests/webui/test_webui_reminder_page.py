"""The chat page's reminder panel and due notices: the markup the server sends and what reminders.js
promises (the API it calls, its refetch, text only). Its behaviour runs in Chromium in tests/e2e/test_reminders.py."""

from __future__ import annotations

import re
from pathlib import Path

import webui

STATIC = Path(webui.__file__).parent / "static"


def script(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def test_the_panel_is_a_labelled_section_with_a_disclosure_button(client):
    html = client.get("/").get_data(as_text=True)
    panel = re.search(r'<section id="reminder-panel".*?</section>', html, re.S).group(0)
    assert 'aria-labelledby="reminder-heading"' in panel and "다가오는 알림" in panel
    button = re.search(r'<button id="reminder-toggle"[^>]*>', panel).group(0)
    assert 'aria-expanded="true"' in button and 'aria-controls="reminder-body"' in button
    assert 'id="reminder-body"' in panel and 'id="reminder-list"' in panel
    assert re.search(r'id="reminder-status"[^>]*role="status"', panel)
    # The panel sits between the header and the conversation, in the chat column.
    assert html.index('class="app-header"') < html.index('id="reminder-panel"') < html.index('id="messages"')


def test_due_notices_have_an_assertive_live_region_above_the_panel(client):
    html = client.get("/").get_data(as_text=True)
    region = re.search(r'<div id="reminder-notices"[^>]*>', html).group(0)
    assert 'aria-live="assertive"' in region and 'aria-atomic="false"' in region
    # In the column's flow, under the header: a notice covers nothing, on a phone either.
    assert html.index('class="app-header"') < html.index('id="reminder-notices"') < html.index('id="reminder-panel"')
    assert client.get("/static/reminders.css").status_code == 200


def test_reminders_js_uses_the_api_refetches_and_hears_the_chat():
    js = script("reminders.js")
    assert 'fetch("/api/reminders?limit="' in js and '+ "/notified"' in js and 'method: "DELETE"' in js
    assert "const REFRESH_MS = 30000;" in js and "window.setInterval(refresh, REFRESH_MS)" in js
    assert 'addEventListener("chat:reply"' in js and "remindersChanged" in js
    assert 'addEventListener("visibilitychange"' in js
    # Texts go in as text: the element builder sets textContent / appends strings (convitems.js's el).
    assert "window.HangyeolConvItems.el" in js and "textContent" in js
    chat = script("chat.js")
    assert "remindersChanged: Boolean(result.data.reminders_changed)" in chat
    assert "result.data.fallback ? result.data.suggestions" not in chat  # a slot question's choices are chips too


def test_times_are_korean_in_seoul():
    js = script("remindtime.js")
    assert 'const ZONE = "Asia/Seoul";' in js and '"ko-KR"' in js and "timeZone: ZONE" in js
    assert '"월 "' in js and '"일 ("' in js

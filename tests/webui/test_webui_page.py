"""The chat page and its static files: Korean, local-only, safe with user text, IME-aware."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import webui

WEBUI_DIR = Path(webui.__file__).parent
TEMPLATE = WEBUI_DIR / "templates" / "index.html"
CHAT_JS = WEBUI_DIR / "static" / "chat.js"
CHAT_CSS = WEBUI_DIR / "static" / "chat.css"


def test_page_is_korean_and_loads_its_own_assets(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="ko">' in html
    assert "<title>한결 — 한국어 챗봇</title>" in html
    assert 'aria-live="polite"' in html
    assert "<textarea" in html and 'id="send"' in html
    assets = re.findall(r'src="([^"]+)"', html) + re.findall(r'<link [^>]*href="([^"]+)"', html)
    assert "/static/chat.css" in assets and "/static/chat.js" in assets
    for asset in assets:
        assert asset.startswith("/static/") or asset.startswith("data:"), asset
        if asset.startswith("/static/"):
            assert client.get(asset).status_code == 200
    for link in re.findall(r'<a [^>]*href="([^"]+)"', html):  # the header's account links: this site only
        assert link.startswith("/") and not link.startswith("//"), link


@pytest.mark.parametrize("path", [TEMPLATE, CHAT_JS, CHAT_CSS], ids=lambda p: p.name)
def test_no_external_network_urls(path):
    # XML namespace names (SVG icons drawn by the scripts) are identifiers that nothing fetches.
    text = path.read_text(encoding="utf-8").replace('"http://www.w3.org/2000/svg"', '""')
    assert not re.search(r"https?://", text), f"{path.name} refers to the network"
    assert "@import" not in text and "@font-face" not in text


def test_rendered_page_has_no_external_urls(client):
    assert not re.search(r"https?://", client.get("/").get_data(as_text=True))


def test_css_has_a_dark_mode_and_a_korean_system_font_stack():
    css = CHAT_CSS.read_text(encoding="utf-8")
    assert "prefers-color-scheme: dark" in css
    assert "Apple SD Gothic Neo" in css and "Malgun Gothic" in css


def test_template_renders_only_the_account_area_and_keeps_autoescape():
    # The conversation is drawn by chat.js; the server fills in only links, the username, the
    # logout form's CSRF field and flash messages, all through Jinja's autoescape.
    template = TEMPLATE.read_text(encoding="utf-8")
    expressions = re.findall(r"{{(.*?)}}", template)
    assert expressions, "the template should at least link its static files"
    allowed = ("current_user.username", "logout_form.hidden_tag()", "message")
    for expression in expressions:
        expression = expression.strip()
        assert expression.startswith("url_for(") or expression in allowed, expression
    assert "|safe" not in template.replace(" ", "") and "autoescape" not in template
    assert "Markup" not in template


def test_script_inserts_text_only_with_text_content():
    js = CHAT_JS.read_text(encoding="utf-8")
    assert "textContent" in js
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in js, sink


def test_script_never_sends_during_ime_composition():
    # The composer's keys moved to composer.js; Enter submits the form, whose handler in chat.js sends.
    js = (WEBUI_DIR / "static" / "composer.js").read_text(encoding="utf-8")
    keydown = js[js.index('addEventListener("keydown"') :]
    assert "event.isComposing" in js and "event.keyCode === 229" in js
    assert keydown.index("isImeKey(event)") < keydown.index("submit()"), "the composition guard comes first"
    assert "compositionstart" in js and "compositionend" in js
    assert "event.shiftKey" in keydown


def test_script_keeps_the_conversation_and_reloads_its_history():
    js = CHAT_JS.read_text(encoding="utf-8")
    assert "localStorage" in js
    assert '"/api/conversations/"' in js and '"/api/chat"' in js
    assert "sendButton.disabled" in js


def test_static_files_are_served_with_the_right_types(client):
    assert client.get("/static/chat.js").mimetype in ("text/javascript", "application/javascript")
    assert client.get("/static/chat.css").mimetype == "text/css"

"""The chat page's account area, conversation list and feedback scripts: what the server renders
(escaped, with a working logout form) and the contract between the page's scripts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

import webui
from webui.extensions import db
from webui.tables import User

STATIC = Path(webui.__file__).parent / "static"
NEW_SCRIPTS = [STATIC / "conversations.js", STATIC / "feedback.js", STATIC / "announce.js", STATIC / "drawpad.js"]
# Split out of chat.js and conversations.js: they draw or check, and hear no chat:* event.
HELPER_SCRIPTS = [STATIC / "attachments.js", STATIC / "upload.js", STATIC / "convitems.js", STATIC / "convpages.js",
                  STATIC / "older.js", STATIC / "edgewatch.js"]
ICON_SCRIPT = STATIC / "icons.js"  # draws shapes only, no text
NO_TEXT_SCRIPTS = [ICON_SCRIPT, STATIC / "convpages.js", STATIC / "edgewatch.js"]  # put no text in the page themselves
NEW_STYLES = [STATIC / "conversations.css", STATIC / "feedback.css"]
PASSWORD = "비밀번호1234"


def log_in_as(app: Flask, client, username: str) -> None:
    """Log ``client`` in as a user with any name, even one the sign-up rules would refuse."""
    with app.app_context():
        user = User(username=username, password_hash="x", role="user")
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True


def csrf_field(page: str) -> str:
    match = re.search(r'<input id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)">', page)
    assert match, "the page has no CSRF field"
    return match.group(1)


def test_a_guest_sees_login_and_register_links_and_gets_no_cookie(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert re.search(r'<a class="ghost-button" href="/login">로그인</a>', html)
    assert re.search(r'<a class="ghost-button" href="/register">가입</a>', html)
    assert "로그아웃" not in html and "csrf_token" not in html and 'href="/account"' not in html
    assert "이 브라우저에서 나눈 대화예요." in html  # the list explains where a guest's conversations live
    # Looking at the page writes no session: only chatting or signing in does.
    assert "Set-Cookie" not in response.headers


def test_a_user_sees_their_name_escaped_and_linked_to_the_account_page(app: Flask, client):
    log_in_as(app, client, '<script>alert("x")</script>&민지')
    html = client.get("/").get_data(as_text=True)
    name = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;민지"
    assert f'<a class="account-name" href="/account" title="내 계정">{name}</a>' in html
    assert '<script>alert("x")' not in html
    assert "로그인</a>" not in html and "이 브라우저에서 나눈 대화예요." not in html


def test_the_header_logout_form_carries_a_csrf_token_that_works(client):
    client.post("/api/register", json={"username": "수지", "password": PASSWORD})
    html = client.get("/").get_data(as_text=True)
    form = re.search(r'<form class="logout-form" method="post" action="/logout">(.*?)</form>', html, re.S)
    assert form and 'type="submit">로그아웃</button>' in form.group(1)
    token = csrf_field(form.group(1))
    # No token: refused (a redirect from the view, or a 400 once CSRFProtect checks every form), still logged in.
    assert client.post("/logout", data={}).status_code in (302, 400)
    assert client.get("/api/me").get_json()["user"]["username"] == "수지"
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/api/me").get_json() == {"user": None}
    assert "로그아웃" not in client.get("/").get_data(as_text=True)


def test_the_welcome_after_signing_up_shows_once_on_the_chat_page(client):
    token = csrf_field(client.get("/register").get_data(as_text=True))
    response = client.post("/register", data={"csrf_token": token, "username": "수지", "password": PASSWORD,
                                              "confirm": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    html = client.get("/").get_data(as_text=True)
    assert '<div id="flash" class="flash" role="status">' in html and "가입을 환영합니다!" in html
    assert 'id="flash-close"' in html and 'aria-label="알림 닫기"' in html
    assert "가입을 환영합니다!" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("signed_in", [False, True], ids=["guest", "user"])
def test_the_page_needs_no_inline_script_or_style(app: Flask, client, signed_in):
    # The Content-Security-Policy allows scripts and styles from files only.
    if signed_in:
        log_in_as(app, client, "민지")
    html = client.get("/").get_data(as_text=True)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attributes, body in scripts:
        assert re.search(r'src="/static/[a-z]+\.js"', attributes) and " defer" in attributes and not body.strip()
    assert not re.search(r"\sstyle\s*=", html) and "<style" not in html
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handlers are inline scripts"


def test_the_list_and_feedback_scripts_load_before_chat_js(client):
    html = client.get("/").get_data(as_text=True)
    order = re.findall(r'<script src="/static/([a-z]+\.js)" defer>', html)
    # Listeners first: they hear chat.js's first events. A helper before the script that uses it as it
    # loads: icons.js first (three scripts draw with it), edgewatch.js before convpages.js and older.js,
    # convitems.js and convpages.js before conversations.js, upload.js and older.js (started by chat.js)
    # and attachments.js before chat.js, composer.js before commands.js, remindtime.js before reminders.js
    # (which hears chat.js's replies and draws with convitems.js's builder).
    assert order == ["icons.js", "feedback.js", "edgewatch.js", "convitems.js", "convpages.js", "conversations.js",
                     "announce.js", "remindtime.js", "reminders.js", "forecast.js", "attachments.js", "upload.js",
                     "older.js", "drawpad.js", "composer.js", "commands.js", "chat.js"]
    for name in order + [p.name for p in NEW_STYLES]:
        assert client.get(f"/static/{name}").status_code == 200
    assert re.search(r'<link rel="stylesheet" href="/static/conversations.css">', html)
    assert re.search(r'<link rel="stylesheet" href="/static/feedback.css">', html)


def test_the_list_button_controls_the_labelled_panel(client):
    html = client.get("/").get_data(as_text=True)
    toggle = re.search(r'<button id="conversations-toggle"[^>]*>', html)
    assert toggle and 'aria-controls="conversation-panel"' in toggle.group(0)
    assert 'aria-expanded="false"' in toggle.group(0)
    assert re.search(r'<aside id="conversation-panel" [^>]*aria-labelledby="conv-panel-title"[^>]*hidden>', html)
    assert '<h2 id="conv-panel-title" class="conv-panel-title">대화 목록</h2>' in html
    assert 'aria-label="대화 목록 닫기"' in html and 'id="conversation-list"' in html
    assert '<nav class="account-area" aria-label="계정">' in html


@pytest.mark.parametrize("path", NEW_SCRIPTS + HELPER_SCRIPTS + [ICON_SCRIPT], ids=lambda p: p.name)
def test_new_scripts_insert_text_only_as_text_and_set_no_style_attribute(path):
    js = path.read_text(encoding="utf-8")
    assert "textContent" in js or path in NO_TEXT_SCRIPTS
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in js, sink
    assert not re.search(r"""setAttribute\(\s*["']style""", js), "the CSP forbids style attributes"
    assert not re.search(r"""setAttribute\(\s*["']on""", js)


@pytest.mark.parametrize("path", NEW_SCRIPTS + HELPER_SCRIPTS + [ICON_SCRIPT] + NEW_STYLES, ids=lambda p: p.name)
def test_new_static_files_fetch_nothing_from_the_network(path):
    text = path.read_text(encoding="utf-8").replace('"http://www.w3.org/2000/svg"', '""')
    assert not re.search(r"https?://", text), f"{path.name} refers to the network"
    assert "@import" not in text and "@font-face" not in text


def test_scripts_share_one_documented_interface():
    chat_js = (STATIC / "chat.js").read_text(encoding="utf-8")
    header = chat_js[: chat_js.index("(function")]
    emitted = set(re.findall(r'emit\("(chat:[a-z-]+)"', chat_js))
    assert emitted == {"chat:conversation", "chat:bot-message", "chat:reply", "chat:error", "chat:busy",
                       "chat:older"}
    for name in emitted:
        assert name in header, f"{name} is not documented at the top of chat.js"
    methods = {"currentConversationId", "isBusy", "openConversation", "startNewConversation", "sendPicture"}
    for method in methods:
        assert f"HangyeolChat.{method}(" in header and f"{method}:" in chat_js
    for path in NEW_SCRIPTS:
        js = path.read_text(encoding="utf-8")
        intro = js[: js.index("(function")]
        heard = set(re.findall(r'addEventListener\("(chat:[a-z-]+)"', js))
        assert heard and heard <= emitted, (path.name, heard)
        for name in heard:
            assert name in intro, f"{path.name} does not document that it listens to {name}"
        used = set(re.findall(r"\bc\.([a-zA-Z]+)\(", js)) | set(re.findall(r"HangyeolChat\.([a-zA-Z]+)\(", js))
        assert used <= methods, (path.name, used - methods)
    for path in HELPER_SCRIPTS:  # only chat.js dispatches chat:* events, and the helpers need none of it
        js = path.read_text(encoding="utf-8")
        assert "chat:" not in js and "HangyeolChat" not in js, path.name


@pytest.mark.parametrize("path", HELPER_SCRIPTS, ids=lambda p: p.name)
def test_each_helper_documents_what_it_makes_public(path):
    js = path.read_text(encoding="utf-8")
    header = js[: js.index("(function")]
    exported = re.search(r"window\.(Hangyeol[A-Za-z]+) = Object\.freeze\(\{(.*?)\}\);", js, re.S)
    assert exported, f"{path.name} makes nothing public"
    assert exported.group(1) in header
    names = re.findall(r"\b([A-Za-z]+):", exported.group(2))
    assert names
    for name in names:
        assert re.search(rf"\.{name}\b", header), f"{path.name} does not document {name}"

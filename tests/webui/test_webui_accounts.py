"""Accounts over the JSON API: register, log in and out, guests, isolation, rename/delete, feedback, API tokens."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from webui.auth import role_required
from webui.extensions import db
from webui.tables import Conversation, Feedback, StoredMessage, User


def api(client, method: str, path: str, body=None, **kwargs):
    return client.open(path, method=method, json=body, **kwargs)


def register(client, username: str = "철수", password: str = "비밀번호1234"):
    response = api(client, "POST", "/api/register", {"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["user"]


def chat(client, text: str, conversation_id: str | None = None, **kwargs):
    body = {"message": text} | ({"conversation_id": conversation_id} if conversation_id else {})
    return api(client, "POST", "/api/chat", body, **kwargs)


def test_register_logs_in_and_stores_only_a_password_hash(app: Flask, client):
    user = register(client, "  ChulSoo ", "correct horse battery")
    assert user["username"] == "chulsoo" and user["role"] == "user"
    assert client.get("/api/me").get_json()["user"]["username"] == "chulsoo"
    with app.app_context():
        stored = db.session.execute(select(User)).scalar_one()
        assert "correct horse" not in stored.password_hash and stored.password_hash.startswith("pbkdf2:")
    assert "password_hash" not in user


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"username": "철수", "password": "다른비밀번호123"}, 409, "username_taken"),
    ({"username": "CHULSOO", "password": "다른비밀번호123"}, 409, "username_taken"),
    ({"username": "a", "password": "비밀번호1234"}, 400, "invalid_username"),
    ({"username": "a b c", "password": "비밀번호1234"}, 400, "invalid_username"),
    ({"username": "<script>", "password": "비밀번호1234"}, 400, "invalid_username"),
    ({"username": 12345, "password": "비밀번호1234"}, 400, "invalid_username"),
    ({"username": "영희", "password": "짧아"}, 400, "invalid_password"),
    ({"username": "영희", "password": ["list"]}, 400, "invalid_password"),
    ({"username": "영희", "password": "\ud800 lone surrogate"}, 400, "invalid_password"),
])
def test_bad_registrations_are_refused_with_a_reason(client, body, status, code):
    register(client, "철수")
    client.post("/api/logout")
    register(client, "chulsoo")
    client.post("/api/logout")
    if "\ud800" in str(body.get("password")):  # the test client cannot encode a lone surrogate: send JSON text
        response = client.post("/api/register", data='{"username": "영희", "password": "\\ud800 abcdefgh"}')
        assert response.status_code == status and response.get_json()["error"]["code"] == code
        return
    response = api(client, "POST", "/api/register", body)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_login_logout_and_wrong_passwords(app: Flask):
    first = app.test_client()
    register(first, "영희", "비밀번호1234")
    second = app.test_client()
    for body in ({"username": "영희", "password": "틀린비밀번호"}, {"username": "없는사람", "password": "비밀번호1234"},
                 {"username": None, "password": None}, {}):
        response = api(second, "POST", "/api/login", body)
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_credentials"
    response = api(second, "POST", "/api/login", {"username": "영희", "password": "비밀번호1234"})
    assert response.status_code == 200 and response.get_json()["user"]["username"] == "영희"
    assert second.get("/api/me").get_json()["user"]["username"] == "영희"
    assert second.post("/api/logout").status_code == 200
    assert second.get("/api/me").get_json() == {"user": None}
    assert second.get("/api/conversations").get_json() == {"conversations": [], "next_cursor": None}


def test_a_guest_conversation_is_bound_to_its_browser(app: Flask):
    guest, stranger = app.test_client(), app.test_client()
    conversation_id = chat(guest, "안녕하세요").get_json()["conversation_id"]
    assert [c["id"] for c in guest.get("/api/conversations").get_json()["conversations"]] == [conversation_id]
    assert guest.get(f"/api/conversations/{conversation_id}").status_code == 200
    assert stranger.get(f"/api/conversations/{conversation_id}").status_code == 404
    assert stranger.get("/api/conversations").get_json() == {"conversations": [], "next_cursor": None}
    assert chat(stranger, "끼어들기", conversation_id).status_code == 404


def test_a_user_finds_conversations_again_in_another_browser_and_keeps_guest_ones(app: Flask):
    laptop = app.test_client()
    as_guest = chat(laptop, "로그인 전에 한 말").get_json()["conversation_id"]
    register(laptop, "민수")  # the guest's conversation moves to the new account
    after = chat(laptop, "로그인 뒤에 한 말").get_json()["conversation_id"]
    phone = app.test_client()
    api(phone, "POST", "/api/login", {"username": "민수", "password": "비밀번호1234"})
    listed = [c["id"] for c in phone.get("/api/conversations").get_json()["conversations"]]
    assert sorted(listed) == sorted([as_guest, after])
    assert listed[0] == after  # most recently active first
    assert phone.get(f"/api/conversations/{as_guest}").get_json()["messages"][0]["text"] == "로그인 전에 한 말"
    assert chat(phone, "폰에서 이어서", after).status_code == 200
    laptop.post("/api/logout")
    assert laptop.get(f"/api/conversations/{after}").status_code == 404  # logged out: a guest again


def test_every_cross_user_access_answers_404_like_a_missing_conversation(app: Flask):
    alice, bob = app.test_client(), app.test_client()
    register(alice, "alice")
    register(bob, "bobby")
    reply = chat(alice, "비밀 이야기").get_json()
    cid, mid = reply["conversation_id"], reply["message_id"]
    missing = "0" * 32
    attempts = [
        ("GET", f"/api/conversations/{cid}", None),
        ("PATCH", f"/api/conversations/{cid}", {"title": "빼앗기"}),
        ("DELETE", f"/api/conversations/{cid}", None),
        ("POST", "/api/chat", {"message": "이어 쓰기", "conversation_id": cid}),
        ("POST", f"/api/messages/{mid}/feedback", {"rating": -1}),
    ]
    for method, path, body in attempts:
        theirs = api(bob, method, path, body)
        assert theirs.status_code == 404, (method, path)
        gone = api(bob, method, path.replace(cid, missing).replace(f"/{mid}/", "/999999/"),
                   body | {"conversation_id": missing} if body and "conversation_id" in body else body)
        assert gone.status_code == 404
        assert theirs.get_json()["error"]["code"] == gone.get_json()["error"]["code"]
    assert [c["id"] for c in bob.get("/api/conversations").get_json()["conversations"]] == []
    detail = alice.get(f"/api/conversations/{cid}").get_json()
    assert detail["title"] == "비밀 이야기" and len(detail["messages"]) == 2
    assert detail["messages"][1]["feedback"] is None


def test_rename_and_delete_a_conversation(app: Flask, client):
    cid = chat(client, "첫 대화").get_json()["conversation_id"]
    response = api(client, "PATCH", f"/api/conversations/{cid}", {"title": "  주말 계획\n정리  "})
    assert response.status_code == 200 and response.get_json()["title"] == "주말 계획 정리"
    for title in ("", "   ", 42, "가" * 201, "제목\x07"):
        bad = api(client, "PATCH", f"/api/conversations/{cid}", {"title": title})
        assert bad.status_code == 400, title
    mid = chat(client, "하나 더", cid).get_json()["message_id"]
    api(client, "POST", f"/api/messages/{mid}/feedback", {"rating": 1})
    assert api(client, "DELETE", f"/api/conversations/{cid}").status_code == 200
    assert client.get(f"/api/conversations/{cid}").status_code == 404
    assert api(client, "DELETE", f"/api/conversations/{cid}").status_code == 404
    with app.app_context():
        for table in (Conversation, StoredMessage, Feedback):
            assert db.session.scalar(select(func.count()).select_from(table)) == 0


def test_feedback_is_stored_replaced_and_shown_with_the_message(app: Flask, client):
    reply = chat(client, "추천해 줘").get_json()
    mid = reply["message_id"]
    response = api(client, "POST", f"/api/messages/{mid}/feedback", {"rating": -1, "correction": " 산책은 어때요? "})
    assert response.status_code == 200
    assert response.get_json()["rating"] == -1 and response.get_json()["correction"] == "산책은 어때요?"
    api(client, "POST", f"/api/messages/{mid}/feedback", {"rating": 1})
    messages = client.get(f"/api/conversations/{reply['conversation_id']}").get_json()["messages"]
    assert messages[1]["feedback"]["rating"] == 1 and messages[1]["feedback"]["correction"] is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Feedback)) == 1


@pytest.mark.parametrize("body", [{"rating": 0}, {"rating": 2}, {"rating": "1"}, {"rating": True}, {},
                                  {"rating": 1, "correction": 5}, {"rating": 1, "correction": "가" * 1001},
                                  {"rating": 1, "correction": "제어\x00문자"}])
def test_bad_feedback_is_refused(client, body):
    mid = chat(client, "안녕").get_json()["message_id"]
    response = api(client, "POST", f"/api/messages/{mid}/feedback", body)
    assert response.status_code == 400, response.get_json()


def test_only_bot_messages_can_be_rated(client):
    reply = chat(client, "안녕").get_json()
    response = api(client, "POST", f"/api/messages/{reply['user_message_id']}/feedback", {"rating": 1})
    assert response.status_code == 404


def test_api_tokens_authenticate_programs_and_can_be_revoked(app: Flask):
    browser = app.test_client()
    register(browser, "개발자")
    created = api(browser, "POST", "/api/tokens", {"name": "노트북 스크립트"})
    assert created.status_code == 201
    token = created.get_json()["token"]
    assert token.startswith("hk_") and len(token) > 40
    listed = browser.get("/api/tokens").get_json()["tokens"]
    assert listed[0]["name"] == "노트북 스크립트" and "token" not in listed[0] and token.startswith(listed[0]["prefix"])

    program = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {token}"}
    cid = chat(program, "토큰으로 보낸 말", headers=headers).get_json()["conversation_id"]
    assert program.get("/api/me", headers=headers).get_json()["user"]["username"] == "개발자"
    assert cid in [c["id"] for c in browser.get("/api/conversations").get_json()["conversations"]]
    assert program.get(f"/api/conversations/{cid}").status_code == 404  # no token: a guest
    bad = program.get("/api/conversations", headers={"Authorization": "Bearer hk_wrong"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "invalid_token"

    assert api(browser, "DELETE", f"/api/tokens/{listed[0]['id']}").status_code == 200
    assert program.get("/api/me", headers=headers).status_code == 401
    assert api(browser, "DELETE", f"/api/tokens/{listed[0]['id']}").status_code == 404


@pytest.mark.parametrize("raw", ['{"name": "\\ud800"}', '{"name": "a\\u0000b"}', '{"name": "줄\\u001b바꿈"}'])
def test_a_token_name_that_cannot_be_stored_is_a_400(app: Flask, raw: str):
    """A lone surrogate or a control character in the name: a 400 naming the field, not a 500 from the database."""
    browser = app.test_client()
    register(browser, "개발자")
    response = browser.post("/api/tokens", data=raw, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_name"
    assert browser.get("/api/tokens").get_json()["tokens"] == []


@pytest.mark.parametrize("row_id", ["9223372036854775808", "2147483648", "0"])
def test_an_id_in_a_url_that_no_row_can_have_is_a_404(app: Flask, row_id: str):
    """Ids past what the databases' integers hold (the fuzz found DELETE /api/tokens/2**63 answering 500: the
    driver's OverflowError) and 0 are 404s, on every route with a numeric id."""
    browser = app.test_client()
    register(browser, "개발자")
    assert api(browser, "DELETE", f"/api/tokens/{row_id}").status_code == 404
    assert api(browser, "POST", f"/api/messages/{row_id}/feedback", {"rating": 1}).status_code == 404
    assert browser.post(f"/account/tokens/{row_id}/revoke").status_code == 404


def test_token_endpoints_need_a_login(client):
    assert client.get("/api/tokens").status_code == 401
    assert client.get("/api/tokens").get_json()["error"]["code"] == "login_required"
    assert api(client, "POST", "/api/tokens", {}).status_code == 401


def test_role_required_orders_user_trainer_admin(app: Flask):
    @role_required("trainer")
    def trainer_only():
        return {"ok": True}

    app.add_url_rule("/api/test-trainer", view_func=trainer_only)
    guest = app.test_client()
    assert guest.get("/api/test-trainer").status_code == 401
    register(guest, "평범한사람")
    forbidden = guest.get("/api/test-trainer")
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "forbidden"
    with app.app_context():
        db.session.execute(db.update(User).values(role="admin"))
        db.session.commit()
    assert guest.get("/api/test-trainer").status_code == 200
    with pytest.raises(ValueError):
        role_required("owner")

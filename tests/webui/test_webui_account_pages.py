"""Account pages: forms with CSRF tokens, register/login/logout, the token page, safe redirects."""

from __future__ import annotations

import re

from flask import Flask


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "the form has no CSRF token"
    return match.group(1)


def form_post(client, path: str, data: dict, from_page: str | None = None):
    page = client.get(from_page or path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token(page), **data})


def test_register_page_makes_an_account_and_logs_in(client):
    page = client.get("/register")
    assert page.status_code == 200 and "가입하기" in page.get_data(as_text=True)
    response = form_post(client, "/register", {"username": "수지", "password": "비밀번호1234",
                                               "confirm": "비밀번호1234"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/api/me").get_json()["user"]["username"] == "수지"


def test_a_form_post_without_its_csrf_token_is_refused(client):
    response = client.post("/register",
                           data={"username": "수지", "password": "비밀번호1234", "confirm": "비밀번호1234"})
    assert response.status_code == 400
    assert client.get("/api/me").get_json() == {"user": None}
    client.post("/api/register", json={"username": "수지", "password": "비밀번호1234"})
    client.post("/logout", data={})  # no token: still logged in
    assert client.get("/api/me").get_json()["user"]["username"] == "수지"
    form_post(client, "/logout", {}, from_page="/account")
    assert client.get("/api/me").get_json() == {"user": None}


def test_register_form_errors_are_shown_next_to_the_fields(client):
    response = form_post(client, "/register", {"username": "수지", "password": "비밀번호1234", "confirm": "다름"})
    assert response.status_code == 400 and "비밀번호가 서로 다릅니다." in response.get_data(as_text=True)
    response = form_post(client, "/register", {"username": "x", "password": "비밀번호1234", "confirm": "비밀번호1234"})
    assert response.status_code == 400 and "아이디는" in response.get_data(as_text=True)


def test_login_page_checks_the_password_and_only_redirects_on_this_site(app: Flask):
    app.test_client().post("/api/register", json={"username": "민지", "password": "비밀번호1234"})
    client = app.test_client()
    wrong = form_post(client, "/login", {"username": "민지", "password": "틀렸어요1234"})
    assert wrong.status_code == 400 and "맞지 않습니다" in wrong.get_data(as_text=True)
    for target, expected in (("/account", "/account"), ("https://evil.example/", "/"), ("//evil.example", "/")):
        client.post("/api/logout")
        ok = form_post(client, "/login", {"username": "민지", "password": "비밀번호1234", "next": target})
        assert ok.status_code == 302 and ok.headers["Location"] == expected


def test_the_account_page_needs_a_login_and_shows_a_new_token_once(app: Flask, client):
    response = client.get("/account")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    client.post("/api/register", json={"username": "토큰주인", "password": "비밀번호1234"})
    made = form_post(client, "/account", {"name": "스크립트"})
    text = made.get_data(as_text=True)
    token = re.search(r'<code class="account-token-value">([^<]+)</code>', text).group(1)
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in client.get("/account").get_data(as_text=True)  # shown once


def test_page_text_from_users_is_escaped(client):
    client.post("/api/register", json={"username": "안전한사람", "password": "비밀번호1234"})
    made = form_post(client, "/account", {"name": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in made.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in made.get_data(as_text=True)

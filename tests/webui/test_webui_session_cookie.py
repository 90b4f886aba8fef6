"""webui.session_cookie: the signed session cookie is verified once and not re-signed on every response."""

from __future__ import annotations

from datetime import timedelta

from webui import session_cookie


def chat(client, conversation_id=None):
    payload = {"message": "안녕", **({"conversation_id": conversation_id} if conversation_id else {})}
    response = client.post("/api/chat", json=payload)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_an_unchanged_session_is_not_re_sent(client):
    first = chat(client)
    assert "Set-Cookie" in first.headers  # the guest's key is new
    chat(client, first.get_json()["conversation_id"])  # Flask-Login marks the session not fresh, once
    again = chat(client, first.get_json()["conversation_id"])
    assert "Set-Cookie" not in again.headers
    assert again.get_json()["conversation_id"] == first.get_json()["conversation_id"]  # still the owner


def test_a_cookie_older_than_the_refresh_interval_is_renewed(client, monkeypatch):
    first = chat(client)
    monkeypatch.setattr(session_cookie, "REFRESH_AFTER", timedelta(0))
    again = chat(client, first.get_json()["conversation_id"])
    assert "Set-Cookie" in again.headers


def test_an_expired_cookie_is_refused_even_when_verified_before(app, client):
    first = chat(client)
    conversation_id = first.get_json()["conversation_id"]
    chat(client, conversation_id)  # verified and remembered
    app.permanent_session_lifetime = timedelta(seconds=-1)
    response = client.post("/api/chat", json={"message": "안녕", "conversation_id": conversation_id})
    assert response.status_code == 404  # no longer the guest who owns it


def test_a_tampered_cookie_is_an_empty_session(app, client):
    conversation_id = chat(client).get_json()["conversation_id"]
    name = app.config["SESSION_COOKIE_NAME"]
    value = client.get_cookie(name).value
    client.set_cookie(name, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    response = client.post("/api/chat", json={"message": "안녕", "conversation_id": conversation_id})
    assert response.status_code == 404

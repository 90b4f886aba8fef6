"""The JSON API: chat, history, storage and health."""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime

import pytest
from sqlalchemy import func, select

from webui import create_app
from webui.database import fix_database_uri
from webui.extensions import db
from webui.tables import Conversation, StoredMessage


def post(client, message, conversation_id=None):
    body = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    return client.post("/api/chat", json=body)


def test_healthz_reports_ok_and_short_model_meta(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.get_json()
    assert (data["status"], data["degraded"]) == ("ok", False) and "database" not in data  # liveness only
    model = data["model"]
    assert (model["created_at"], model["tokenizer"], model["intents"]) == ("2024-01-01T00:00:00+00:00", "fake", 2)
    assert len(model["version"]) == 8 and model["loaded_at"].startswith("20") and model["error"] is None


def test_chat_creates_a_conversation_and_returns_every_field(client):
    response = post(client, "안녕하세요")
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == {"conversation_id", "message_id", "user_message_id", "reply", "intent", "confidence",
                         "fallback", "suggestions", "attachments", "entities", "slots", "reminders_changed"}
    assert data["message_id"] == data["user_message_id"] + 1
    assert data["attachments"] == []
    assert len(data["conversation_id"]) == 32 and int(data["conversation_id"], 16) >= 0
    assert data["reply"] == "echo: 안녕하세요"
    assert data["intent"] == "echo"
    assert data["confidence"] == 0.9
    assert data["fallback"] is False
    assert data["suggestions"] == []
    assert data["entities"] == []  # the fake bot finds none; tests/webui/test_webui_entities.py checks real ones
    assert "안녕하세요" in response.get_data(as_text=True)  # Korean is not \u-escaped


def test_plain_curl_style_post_without_json_content_type_works(client):
    response = client.post(
        "/api/chat", data='{"message": "안녕"}', content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert response.get_json()["reply"] == "echo: 안녕"


def test_fallback_reply_carries_suggestions(client, fake_bot):
    data = post(client, fake_bot.FALLBACK).get_json()
    assert data["fallback"] is True
    assert data["intent"] is None
    assert data["suggestions"] == ["날씨 알려줘", "도움말"]


def test_continuing_a_conversation_appends_and_passes_history(client, fake_bot):
    first = post(client, "하나").get_json()
    second = post(client, "둘", first["conversation_id"]).get_json()
    assert second["conversation_id"] == first["conversation_id"]
    history = client.get(f"/api/conversations/{first['conversation_id']}").get_json()
    assert [m["text"] for m in history["messages"]] == ["하나", "echo: 하나", "둘", "echo: 둘"]
    text, context = fake_bot.calls[-1]
    assert text == "둘"
    assert context["conversation_id"] == first["conversation_id"]
    assert context["history"] == [("user", "하나"), ("bot", "echo: 하나")]


def test_history_passed_to_the_bot_is_the_last_ten_messages(client, fake_bot):
    conversation_id = post(client, "0").get_json()["conversation_id"]
    for i in range(1, 8):
        post(client, str(i), conversation_id)
    history = fake_bot.calls[-1][1]["history"]
    assert len(history) == 10
    assert history[-1] == ("bot", "echo: 6")
    assert history[0] == ("user", "2")


def test_history_endpoint_returns_messages_in_order_with_roles_and_iso_times(client, fake_bot):
    conversation_id = post(client, "첫 번째").get_json()["conversation_id"]
    post(client, fake_bot.FALLBACK, conversation_id)
    response = client.get(f"/api/conversations/{conversation_id}")
    assert response.status_code == 200
    data = response.get_json()
    assert data["id"] == conversation_id
    assert datetime.fromisoformat(data["created_at"]).tzinfo is not None
    messages = data["messages"]
    assert [m["role"] for m in messages] == ["user", "bot", "user", "bot"]
    assert [m["text"] for m in messages] == ["첫 번째", "echo: 첫 번째", fake_bot.FALLBACK, "잘 모르겠어요."]
    assert messages[1]["intent"] == "echo" and messages[1]["confidence"] == 0.9
    assert messages[0]["intent"] is None and messages[0]["confidence"] is None
    assert messages[3]["fallback"] is True and messages[1]["fallback"] is False
    for message in messages:
        fields = {"id", "role", "text", "intent", "confidence", "fallback", "created_at", "attachments"}
        assert set(message) == fields | ({"feedback"} if message["role"] == "bot" else set())
        assert message.get("feedback") is None
        assert datetime.fromisoformat(message["created_at"]).utcoffset() is not None


def test_dashed_uuid_form_of_a_conversation_id_is_accepted(client):
    conversation_id = post(client, "안녕").get_json()["conversation_id"]
    dashed = "-".join(
        [
            conversation_id[:8],
            conversation_id[8:12],
            conversation_id[12:16],
            conversation_id[16:20],
            conversation_id[20:],
        ]
    )
    assert client.get(f"/api/conversations/{dashed}").get_json()["id"] == conversation_id


def test_both_messages_are_stored_in_the_database(app, client):
    conversation_id = post(client, "저장 확인").get_json()["conversation_id"]
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        assert conversation is not None
        assert conversation.title == "저장 확인"
        rows = [(m.role, m.text, m.intent, m.confidence, m.fallback) for m in conversation.messages]
    assert rows == [("user", "저장 확인", None, None, False), ("bot", "echo: 저장 확인", "echo", 0.9, False)]


def test_a_failing_bot_writes_nothing_and_answers_json_500(app, client, fake_bot, caplog):
    caplog.set_level(logging.ERROR, logger="webui.errors")
    response = post(client, fake_bot.BOOM)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert "Traceback" not in response.get_data(as_text=True)
    assert any(record.exc_info for record in caplog.records)  # the traceback goes to the log
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StoredMessage)) == 0
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_script_tags_come_back_unchanged_and_are_not_rendered_into_the_page(client):
    payload = "<script>alert(1)</script>"
    data = post(client, payload).get_json()
    assert data["reply"] == f"echo: {payload}"
    history = client.get(f"/api/conversations/{data['conversation_id']}").get_json()
    assert history["messages"][0]["text"] == payload
    page = client.get("/").get_data(as_text=True)
    assert "alert(1)" not in page


def test_decomposed_hangul_is_counted_after_nfc(client):
    composed = "가" * 1000
    decomposed = unicodedata.normalize("NFD", composed)
    assert len(decomposed) == 2000
    response = post(client, decomposed)
    assert response.status_code == 200
    assert response.get_json()["reply"] == f"echo: {composed}"


def test_exactly_the_limit_after_stripping_is_accepted(client):
    assert post(client, "  " + "가" * 1000 + "\n").status_code == 200


def test_database_url_environment_variable_is_honoured(tmp_path, monkeypatch, fake_bot):
    db_file = tmp_path / "from_env.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db_file}")
    app = create_app({"TESTING": True, "BOT": fake_bot})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{db_file}"
    assert app.test_client().post("/api/chat", json={"message": "안녕"}).status_code == 200
    assert db_file.is_file()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StoredMessage)) == 2


def test_postgres_scheme_is_rewritten_for_sqlalchemy():
    # psycopg 3 is the installed driver; SQLAlchemy's default for postgresql:// is psycopg2.
    assert fix_database_uri("postgres://u:p@host/db") == "postgresql+psycopg://u:p@host/db"
    assert fix_database_uri("postgresql://u:p@host/db") == "postgresql+psycopg://u:p@host/db"
    assert fix_database_uri("postgresql+psycopg://u:p@host/db") == "postgresql+psycopg://u:p@host/db"
    assert fix_database_uri("sqlite:///x.db") == "sqlite:///x.db"


def test_create_app_without_a_model_says_what_is_missing():
    with pytest.raises(ValueError, match="MODEL_DIR"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_create_app_with_a_missing_model_dir_starts_degraded_and_names_the_train_command(tmp_path, caplog):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "MODEL_DIR": tmp_path / "none"})
    assert app.test_client().get("/healthz").get_json()["status"] == "degraded"
    assert "python -m chatbot train" in caplog.text

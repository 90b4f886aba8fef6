"""Schema migrations: the Alembic revisions build exactly the models' schema, and older databases upgrade
with their data."""

from __future__ import annotations

import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import func, inspect, select

from webui import create_app
from webui.extensions import db
from webui.schema import MIGRATIONS
from webui.tables import Conversation, StoredMessage

HEAD = "0003"  # the newest revision: dialogue state and reminders


def head_revision(app) -> str:
    with app.app_context(), db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_a_new_database_gets_every_table_and_the_newest_revision(tmp_path, fake_bot):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'new.db'}", "BOT": fake_bot})
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"users", "api_tokens", "conversations", "messages", "attachments", "feedback", "reminders",
            "alembic_version"} <= tables
    assert head_revision(app) == HEAD


def test_the_migrations_build_the_same_schema_as_the_models(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}", "DATABASE_ONLY": True,
                      "AUTO_MIGRATE": False})
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []


def test_a_database_from_before_migrations_is_upgraded_with_its_messages(tmp_path, fake_bot):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # the schema that the app made before accounts existed
        old.executescript("""
            CREATE TABLE conversations (id VARCHAR(32) PRIMARY KEY, created_at DATETIME NOT NULL,
                updated_at DATETIME NOT NULL, title VARCHAR(200) NOT NULL);
            CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id VARCHAR(32) NOT NULL
                REFERENCES conversations(id) ON DELETE CASCADE, role VARCHAR(8) NOT NULL, text TEXT NOT NULL,
                intent VARCHAR(200), confidence FLOAT, fallback BOOLEAN NOT NULL, created_at DATETIME NOT NULL,
                CONSTRAINT ck_messages_role CHECK (role IN ('user', 'bot')));
            CREATE INDEX ix_messages_conversation_id ON messages (conversation_id);
            CREATE TABLE attachments (id INTEGER PRIMARY KEY, conversation_id VARCHAR(32) NOT NULL
                REFERENCES conversations(id) ON DELETE CASCADE, message_id INTEGER NOT NULL
                REFERENCES messages(id) ON DELETE CASCADE, type VARCHAR(32) NOT NULL, role VARCHAR(32),
                file VARCHAR(64) UNIQUE, original VARCHAR(64) UNIQUE, data TEXT NOT NULL, created_at DATETIME NOT NULL);
            INSERT INTO conversations VALUES ('ab' || hex(randomblob(15)), '2026-11-01 10:00:00',
                '2026-11-01 10:00:00', '예전 대화');
            INSERT INTO messages (conversation_id, role, text, fallback, created_at)
                SELECT id, 'user', '예전에 한 말', 0, '2026-11-01 10:00:00' FROM conversations;
        """)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "BOT": fake_bot})
    assert head_revision(app) == HEAD
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StoredMessage)) == 1
        conversation = db.session.execute(select(Conversation)).scalar_one()
        assert conversation.title == "예전 대화" and conversation.user_id is None and conversation.guest_key is None
        assert "user_id" in {c["name"] for c in inspect(db.engine).get_columns("conversations")}


def test_starting_twice_changes_nothing(tmp_path, fake_bot):
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'twice.db'}", "BOT": fake_bot, "SECRET_KEY": "x"}
    first = create_app(config)
    first.test_client().post("/api/chat", json={"message": "안녕"})
    second = create_app(config)
    assert head_revision(second) == HEAD
    with second.app_context():
        assert db.session.scalar(select(func.count()).select_from(StoredMessage)) == 2

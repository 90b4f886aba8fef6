"""``/api/chat`` returns the real bot's entities with offsets into the message as the API stores it
(``check_message``: NFC, trimmed), however the model's normalizer changed the text on the way."""

from __future__ import annotations

import pytest
from entity_stubs import train_stub_model
from sqlalchemy import select

from chatbot.bot import Bot
from webui.extensions import db
from webui.tables import StoredMessage


@pytest.fixture(scope="module")
def stub_bot(tmp_path_factory: pytest.TempPathFactory) -> Bot:
    """The real bot on a tiny model whose last stage is the stub extractor (finds 서울, 부산, 서울역, 김치찌개)."""
    return Bot.load(train_stub_model(tmp_path_factory.mktemp("entity_bot")))


def stored_text(app, message_id: int) -> str:
    with app.app_context():
        return db.session.scalar(select(StoredMessage.text).where(StoredMessage.id == message_id))


@pytest.mark.parametrize("sent, expected", [
    # leading spaces and a repeated character that the normalizer shortens before the entity
    ("  ㅋㅋㅋㅋ 서울에 가요", [("city", "서울", 5, 7)]),
    # repeats and ideographic spaces between two entities, the first one longer than a word inside it
    ("서울역에서ㅎㅎㅎㅎㅎ\u3000\u3000부산  가는 기차   ", [("station", "서울역", 0, 3), ("city", "부산", 12, 14)]),
    ("김치찌개 먹을래", [("food", "김치찌개", 0, 4)]),
    ("그냥 집에 있을래", []),
])
def test_the_api_returns_entities_with_offsets_into_the_stored_text(make_app, stub_bot, sent, expected):
    app = make_app(BOT=stub_bot, SECRET_KEY="test secret key")
    response = app.test_client().post("/api/chat", json={"message": sent})
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    text = stored_text(app, data["user_message_id"])
    assert text == sent.strip()
    got = [(e["type"], e["text"], e["start"], e["end"]) for e in data["entities"]]
    assert got == expected
    for e in data["entities"]:
        assert text[e["start"]:e["end"]] == e["text"]
        assert e["value"] == e["text"] and e["source"] == "word_list_extractor"

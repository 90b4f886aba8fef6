"""The chat API with pictures: multipart uploads, stored files, attachments, and every bad picture as a 4xx."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from tests.webui.conftest import png_bytes


def send(client, data: bytes | None, message: str = "이 사진 뭐야?", filename: str = "사진.png", **fields):
    form = {"message": message, **fields}
    if data is not None:
        form["image"] = (io.BytesIO(data), filename)
    return client.post("/api/chat", data=form, content_type="multipart/form-data")


def stored_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(folder.iterdir()) if folder.exists() else []


def test_image_round_trip_stores_files_and_returns_attachments(client, app, fake_bot):
    response = send(client, png_bytes((300, 150), "blue"), filename="../../etc/passwd.png")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["reply"] == "그림 300x150" and body["intent"] == "image"
    types = [(a["type"], a.get("role")) for a in body["attachments"]]
    assert types == [("image", "upload"), ("classification", None), ("image", "gradcam")]
    upload, classification, gradcam = body["attachments"]
    assert (upload["width"], upload["height"]) == (256, 128)  # thumbnail size, aspect kept
    assert classification["labels"][0] == {"label": "숫자 7", "score": 0.8}
    # The bot saw the decoded picture, with the text that came with it.
    text, context = fake_bot.calls[-1]
    assert text == "이 사진 뭐야?" and context["image"].size == (300, 150)
    # Files have generated names, never the client's, and are served back.
    names = {p.name for p in stored_files(app)}
    assert len(names) == 3 and not any("passwd" in n or "사진" in n for n in names)
    for url in (upload["url"], upload["original_url"], gradcam["url"]):
        served = client.get(url)
        assert served.status_code == 200 and served.mimetype == "image/png"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        Image.open(io.BytesIO(served.data)).verify()
    thumb = Image.open(io.BytesIO(client.get(upload["url"]).data))
    assert thumb.size == (256, 128)
    original = client.get(upload["original_url"]).data
    assert original == png_bytes((300, 150), "blue")  # the upload as sent, for trainers


def test_history_links_attachments_to_their_messages(client):
    first = send(client, png_bytes(), message="").get_json()
    conversation = client.get(f"/api/conversations/{first['conversation_id']}").get_json()
    assert conversation["title"] == "이미지"  # no text: the title says what was sent
    user, bot = conversation["messages"]
    assert user["role"] == "user" and user["text"] == ""
    assert [a["role"] for a in user["attachments"]] == ["upload"]
    assert [a["type"] for a in bot["attachments"]] == ["classification", "image"]
    # A later plain message continues the same conversation with no attachments.
    again = client.post("/api/chat", json={"message": "고마워", "conversation_id": first["conversation_id"]})
    assert again.status_code == 200 and again.get_json()["attachments"] == []
    messages = client.get(f"/api/conversations/{first['conversation_id']}").get_json()["messages"]
    assert len(messages) == 4 and messages[2]["attachments"] == []


def test_multipart_without_image_is_a_plain_message(client):
    response = send(client, None, message="안녕")
    assert response.status_code == 200 and response.get_json()["reply"] == "echo: 안녕"
    assert send(client, None, message="").status_code == 400


def test_multipart_continues_a_conversation(client):
    first = send(client, png_bytes()).get_json()
    second = send(client, png_bytes((8, 8)), conversation_id=first["conversation_id"]).get_json()
    assert second["conversation_id"] == first["conversation_id"]
    assert send(client, png_bytes(), conversation_id="f" * 32).status_code == 404


def gif_frames() -> bytes:
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def bomb() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buffer, format="PNG")  # 48 MP in a few KB
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 400, "empty_image"),
        (b"this is not a picture", 400, "invalid_image"),
        (png_bytes((64, 64))[:60], 400, None),  # truncated: invalid or truncated, both 400
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, 400, None),
        (bomb(), 413, "image_too_many_pixels"),
    ],
    ids=["empty", "not-an-image", "truncated", "broken-header", "decompression-bomb"],
)
def test_bad_pictures_are_4xx_json_and_store_nothing(client, app, fake_bot, data, status, code):
    response = send(client, data)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert code is None or error["code"] == code
    assert error["code"] in {"empty_image", "invalid_image", "truncated_image", "image_too_many_pixels"}
    assert any("\uac00" <= ch <= "\ud7a3" for ch in error["message"])  # Korean
    assert stored_files(app) == [] and fake_bot.calls == []
    assert client.get("/api/conversations/x").status_code == 404


def test_picture_over_10_mb_is_413(client, app, fake_bot):
    too_big = png_bytes() + b"\x00" * (10 * 1024 * 1024)
    response = send(client, too_big)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] in {"image_too_large", "request_too_large"}
    assert stored_files(app) == [] and fake_bot.calls == []


def test_animated_gif_uses_its_first_frame(client, fake_bot):
    response = send(client, gif_frames(), filename="a.gif")
    assert response.status_code == 200
    picture = fake_bot.calls[-1][1]["image"]
    assert picture.getpixel((8, 8)) == (255, 0, 0)
    assert response.get_json()["attachments"][0]["original_url"].endswith(".gif")


def test_uploads_serves_only_linked_names(client, app):
    send(client, png_bytes())
    folder = Path(app.config["UPLOAD_FOLDER"])
    stray = folder / ("0" * 32 + ".png")
    stray.write_bytes(png_bytes())  # a file no message links to
    assert client.get(f"/uploads/{stray.name}").status_code == 404
    for name in ("..%2Fchat.db", "x.png", "0" * 32 + ".exe"):
        assert client.get(f"/uploads/{name}").status_code == 404


def test_json_bodies_keep_their_64_kb_limit(client):
    response = client.post("/api/chat", data=json.dumps({"message": "가" * 70000}), content_type="application/json")
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "request_too_large"


def test_failed_transaction_removes_written_files(client, app, monkeypatch):
    from webui import api

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(api, "store_exchange", broken)
    response = send(client, png_bytes())
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"
    assert [p for p in stored_files(app) if not p.name.endswith(".tmp")] == []


def test_api_round_trip_with_the_real_bot(tmp_path, tiny_model_dir, vision_model_dir):
    from chatbot.bot import Bot
    from tests.conftest import draw_digit
    from webui import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'real.db'}",
                      "BOT": Bot.load(tiny_model_dir, vision_model_dir), "UPLOAD_FOLDER": str(tmp_path / "up")})
    client = app.test_client()
    drawing = io.BytesIO()
    draw_digit(0).convert("RGBA").save(drawing, format="PNG")
    response = send(client, drawing.getvalue(), message="이 숫자 뭐야?", filename="drawing.png")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["intent"] == "image" and "숫자 0" in body["reply"]
    upload, classification, gradcam = body["attachments"]
    assert [item["label"] for item in classification["labels"]][0] == "숫자 0" and len(classification["labels"]) == 3
    assert all(0 <= item["score"] <= 1 for item in classification["labels"])
    assert client.get(gradcam["url"]).status_code == 200 and client.get(upload["url"]).status_code == 200
    # Text chat still works beside it, in the same conversation.
    text = client.post("/api/chat", json={"message": "안녕하세요", "conversation_id": body["conversation_id"]})
    assert text.status_code == 200 and text.get_json()["intent"] == "greet"

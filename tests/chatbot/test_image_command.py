"""``/image`` and ``Bot.reply(..., image=...)``: what users get back for a picture."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chatbot.bot import Bot
from chatbot.commands.image_command import NO_IMAGE, NO_MODEL, percent
from chatbot.vision.images import load_image
from tests.conftest import draw_digit


@pytest.fixture(scope="module")
def vision_bot(tiny_model_dir, vision_model_dir) -> Bot:
    return Bot.load(tiny_model_dir, vision_model_dir)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_drawn_digit_gets_korean_top_3_labels_and_attachments(vision_bot):
    reply = vision_bot.reply("이 숫자 뭐야?", {}, image=load_image(png(draw_digit(0))))
    assert reply.intent == "image" and reply.source == "command"
    assert reply.text.startswith("'숫자 0'") and "다른 후보:" in reply.text
    classification, gradcam = reply.attachments
    assert classification["type"] == "classification" and len(classification["labels"]) == 3
    assert classification["labels"][0]["label"] == "숫자 0"
    assert classification["labels"][0]["score"] == pytest.approx(reply.confidence)
    assert gradcam["type"] == "image" and gradcam["role"] == "gradcam"
    assert Image.open(io.BytesIO(gradcam["png"])).size == (gradcam["width"], gradcam["height"])


def test_a_picture_goes_to_image_whatever_the_text(vision_bot):
    picture = draw_digit(2)
    for text in ("", "/image", "/help", "안녕하세요", "ㅋㅋㅋㅋ 이거 머임??"):
        assert vision_bot.reply(text, {}, image=picture).intent == "image"  # a plain PIL picture works too


def test_image_without_a_picture_says_how_to_send_one(vision_bot):
    reply = vision_bot.reply("/image", {})
    assert reply.text == NO_IMAGE and reply.attachments == []


def test_image_without_a_model_says_how_to_train_one(tiny_model_dir, tmp_path):
    bot = Bot.load(tiny_model_dir, tmp_path / "no-vision-model")
    assert bot.vision is None
    reply = bot.reply("", {}, image=draw_digit(1))
    assert reply.text == NO_MODEL and "train-vision" in reply.text


def test_help_lists_the_image_command(vision_bot):
    assert "/image" in vision_bot.reply("/help", {}).text


def test_low_confidence_replies_hedge(vision_bot, monkeypatch):
    from chatbot.vision.classifier import Classification

    unsure = Classification(labels=[("숫자 4", 0.41), ("숫자 9", 0.38), ("숫자 7", 0.2)], classes=["4", "9", "7"])
    monkeypatch.setattr(vision_bot.vision, "classify", lambda image, top_k, explain: unsure)
    reply = vision_bot.reply("", {}, image=draw_digit(4))
    assert reply.text.startswith("잘 모르겠지만 '숫자 4'에 가장 가까워 보여요. (확률 41%)")
    assert reply.text.endswith("다른 후보: 숫자 9 38%, 숫자 7 20%")
    assert [a["type"] for a in reply.attachments] == ["classification"]  # no heatmap was made


def test_percentages_read_naturally():
    assert percent(0.934) == "93%" and percent(1.0) == "100%" and percent(0.001) == "<1%" and percent(0.0) == "0%"

"""The rule-based stand-in bot of degraded mode: keyword rules, the polite default, commands, validation."""

from __future__ import annotations

import pytest

from chatbot.degraded import SOURCE, RuleBasedBot
from chatbot.reply import Reply


@pytest.fixture
def fallback() -> RuleBasedBot:
    return RuleBasedBot("no model")


@pytest.mark.parametrize(("text", "intent"), [
    ("안녕하세요", "greet"),
    ("반가워요 ㅎㅎ", "greet"),
    ("정말 고마워요", "thanks"),
    ("감사합니다!", "thanks"),
    ("안녕히 가세요", "goodbye"),  # a goodbye although it contains 안녕
    ("잘 가", "goodbye"),
    ("도와줘", "help"),
    ("사용법 알려줘", "help"),
])
def test_keyword_rules_answer_in_korean(fallback, text, intent):
    reply = fallback.reply(text, {})
    assert isinstance(reply, Reply)
    assert (reply.intent, reply.fallback, reply.source) == (intent, False, SOURCE)
    assert reply.text and any("가" <= ch <= "힣" for ch in reply.text)


def test_anything_else_gets_the_polite_being_prepared_reply(fallback):
    reply = fallback.reply("오늘 주식 시장 어때?", {"history": []})
    assert reply.fallback and reply.intent is None
    assert "준비" in reply.text and "/forecast" in reply.text and "/help" in reply.text
    assert "/help" in reply.suggestions
    assert "사진" not in reply.text  # no image model loaded: /image is not promised


def test_the_default_mentions_pictures_only_when_the_image_model_loaded():
    assert "사진" in RuleBasedBot("no model", vision=object()).reply("음...").text


def test_commands_still_run_without_a_trained_model(fallback):
    help_reply = fallback.reply("/help")
    assert help_reply.intent == "help" and "/forecast" in help_reply.text and "간단한 인사" in help_reply.text
    forecast = fallback.reply("/forecast 112 118 132 129 121 135 148 148")
    assert forecast.source == "command" and forecast.intent == "forecast"
    assert any(a.get("type") == "forecast" for a in forecast.attachments)
    image = fallback.reply("", image=object())  # no image model: says how to train one
    assert image.intent == "image" and "train-vision" in image.text
    assert fallback.reply("/없는명령").intent == "command_unknown"
    table = {"data": b"value\n" + b"".join(b"%d\n" % (100 + m % 7) for m in range(30)), "name": "t.csv"}
    assert fallback.reply("", table=table).intent == "forecast"  # a CSV file sent with the message


@pytest.mark.parametrize(("text", "error"), [(None, TypeError), ("   ", ValueError), ("가" * 1001, ValueError)])
def test_it_validates_like_the_real_bot(fallback, text, error):
    with pytest.raises(error):
        fallback.reply(text)


def test_it_says_it_is_degraded_and_keeps_the_reason():
    bot = RuleBasedBot.create("pipeline.yaml is missing", vision_model="/nonexistent/vision")
    assert bot.degraded and bot.reason == "pipeline.yaml is missing" and bot.vision is None
    assert bot.meta["tokenizer"] is None and "greet" in bot.meta["intents"]

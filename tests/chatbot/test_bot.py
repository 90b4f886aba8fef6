"""``Bot.load(model_dir).reply(text, context)`` on the session's default model."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from chatbot.bot import MAX_MESSAGE_CHARS, Bot, Reply
from chatbot.responders.templates import korean_time, render

HANGUL = re.compile(r"[가-힣]")
CASES = Path(__file__).resolve().parents[1] / "intents" / "cases.yaml"
OUT_OF_DOMAIN = "쿠버네티스 인그레스 컨트롤러의 TLS 인증서 갱신 자동화 설정 방법"


def test_greeting(bot: Bot):
    reply = bot.reply("안녕하세요")
    assert isinstance(reply, Reply)
    assert reply.intent == "greeting"
    assert not reply.fallback
    assert reply.text.strip() and HANGUL.search(reply.text)
    assert 0.0 < reply.confidence <= 1.0


def test_context_is_accepted_and_not_mutated(bot: Bot):
    context = {"history": [("user", "안녕"), ("bot", "안녕하세요!")]}
    reply = bot.reply("고마워요 정말", context)
    assert reply.text
    assert context == {"history": [("user", "안녕"), ("bot", "안녕하세요!")]}


def test_templates_are_rendered_in_every_reply_over_the_cases(bot: Bot):
    texts = [c["text"] for c in yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"]]
    texts += ["지금 몇 시야?"] * 8 + ["오늘 며칠이야?"] * 8 + ["안녕하세요"] * 8  # intents with {time}/{date}
    for text in texts:
        reply = bot.reply(text)
        assert "{" not in reply.text and "}" not in reply.text, (text, reply.text)


def test_render_fills_every_field():
    out = render("{time} {date} {weekday} {tomorrow} {text} {bot_name}", user_text="안녕", bot_name="한결")
    assert "{" not in out
    assert re.search(r"\d{1,2}월 \d{1,2}일 [월화수목금토일]요일 안녕", out)
    assert re.search(r"(오전|오후) \d{1,2}시 \d{1,2}분", out)
    assert re.search(r"\d{4}년 \d{1,2}월 \d{1,2}일", out)
    assert re.search(r"[월화수목금토일]요일", out)
    assert out.endswith("안녕 한결")


def test_tomorrow_crosses_the_month_and_year(monkeypatch):
    from datetime import datetime

    from chatbot.responders import templates

    monkeypatch.setattr(templates, "_now", lambda timezone: datetime(2026, 12, 31, 23, 50))
    assert render("{tomorrow}") == "1월 1일 금요일"
    assert render("{weekday}") == "목요일"


def test_the_bot_answers_tomorrow_with_tomorrows_day(bot: Bot):
    from datetime import datetime

    # The date action counts from the message's clock (context["now"]), as the time entity does.
    reply = bot.reply("내일 무슨 요일인지 알려줘", {"now": datetime(2026, 11, 24, 17, 0)})
    assert reply.intent == "ask_date" and "11월 25일 수요일" in reply.text


def test_korean_time():
    from datetime import datetime

    assert korean_time(datetime(2024, 1, 1, 15, 5)) == "오후 3시 5분"
    assert korean_time(datetime(2024, 1, 1, 0, 30)) == "오전 12시 30분"


def test_help_lists_commands_and_topics(bot: Bot):
    reply = bot.reply("/help")
    assert "/help" in reply.text
    assert not reply.fallback
    topics = bot.capabilities()
    assert topics
    assert sum(topic in reply.text for topic in topics) == len(topics)


def test_unknown_command_gets_a_helpful_reply(bot: Bot):
    reply = bot.reply("/foo bar")
    assert "/foo" in reply.text
    assert "/help" in reply.text or "/help" in reply.suggestions
    assert HANGUL.search(reply.text)


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\u3000"], ids=["empty", "spaces", "newline-tab", "ideographic"])
def test_empty_text_raises_value_error(bot: Bot, text):
    with pytest.raises(ValueError):
        bot.reply(text)


def test_too_long_text_raises_value_error(bot: Bot):
    varied = "가나다라마바사아자차" * 101  # no runs of repeats, so normalisation keeps its length
    with pytest.raises(ValueError, match=str(MAX_MESSAGE_CHARS)):
        bot.reply(varied[:MAX_MESSAGE_CHARS + 1])
    assert bot.reply(varied[:MAX_MESSAGE_CHARS]).text  # exactly the limit is fine


def test_length_limit_applies_to_the_text_as_sent_like_the_web_api(bot: Bot):
    # The web API rejects this message (1,500 characters after NFC); the library must agree,
    # and must not run the pipeline on unbounded input just because repeats squash it short.
    with pytest.raises(ValueError):
        bot.reply("ㅋ" * 1500)


@pytest.mark.parametrize("value", [None, 123, b"hello", ["안녕"]], ids=["none", "int", "bytes", "list"])
def test_non_string_raises_type_error(bot: Bot, value):
    with pytest.raises(TypeError):
        bot.reply(value)


def test_out_of_domain_question_falls_back_politely(bot: Bot):
    reply = bot.reply(OUT_OF_DOMAIN)
    assert reply.fallback, reply
    assert "/help" in reply.text
    assert HANGUL.search(reply.text)
    assert reply.suggestions
    assert all(isinstance(s, str) and s for s in reply.suggestions)


def test_decomposed_input_gets_the_same_intent_as_composed(bot: Bot):
    for text in ("안녕하세요", "오늘 너무 피곤해요", "점심 메뉴 추천해 줘"):
        decomposed = unicodedata.normalize("NFD", text)
        assert decomposed != text
        composed_reply, decomposed_reply = bot.reply(text), bot.reply(decomposed)
        assert decomposed_reply.intent == composed_reply.intent
        assert decomposed_reply.confidence == pytest.approx(composed_reply.confidence)


def test_full_width_and_repeats_do_not_change_the_intent(bot: Bot):
    assert bot.reply("안녕하세요ㅋㅋㅋㅋㅋㅋㅋ").intent == bot.reply("안녕하세요ㅋㅋ").intent


def test_reply_to_dict_is_json_ready(bot: Bot):
    import json

    data = bot.reply("안녕하세요").to_dict()
    assert {"text", "intent", "confidence", "fallback", "suggestions", "source"} <= set(data)
    json.dumps(data, ensure_ascii=False)


def test_meta_describes_the_model(bot: Bot):
    assert bot.meta["tokenizer"] == "kiwi"
    assert bot.meta["data"]["intents"] >= 30


def test_reply_fields_are_plain_python_types(bot: Bot):
    # Serving code stores and serialises these (JSON, the database, YAML); numpy scalars leak otherwise.
    reply = bot.reply("안녕하세요")
    assert type(reply.intent) is str, type(reply.intent)
    assert type(reply.confidence) is float
    assert type(reply.fallback) is bool


def test_text_is_normalised_once_with_the_models_own_normalizer(bot: Bot, monkeypatch):
    """Routing normalises the message with the pipeline's normalizer stage, and that stage keeps it."""
    import chatbot.nlp.components as nlp_components

    step = bot.pipeline.find("normalizer")
    assert step is not None
    calls = []
    original = nlp_components.normalize
    monkeypatch.setattr(nlp_components, "normalize", lambda *a, **k: calls.append(a) or original(*a, **k))
    monkeypatch.setitem(step.params, "max_repeat", 3)
    seen = []
    original_process = type(step).process
    monkeypatch.setattr(type(step), "process", lambda self, m: seen.append(m.normalized) or original_process(self, m))
    bot.reply("ㅋㅋㅋㅋㅋㅋ 고마워요!!!!!")
    assert seen == ["ㅋㅋㅋ 고마워요!!!"]  # the stage's max_repeat, applied before the stage ran
    assert calls == []  # and the stage did not normalise again

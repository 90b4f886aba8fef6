"""Forecasts and pictures asked for in words: the ``forecast`` and ``image`` actions (chatbot.actions.tool_actions),
alone and through ``Bot.reply`` with the trained default model."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chatbot.actions import ActionCall
from chatbot.actions.tool_actions import HOW_TO, forecast, horizon_of, image, steps_for
from chatbot.corpus import load_corpus
from chatbot.dialogue.state import DialogueState
from chatbot.timeseries.datasets import DATASETS, find_dataset
from tests.conftest import CORPUS_DIR

NOW = datetime(2025, 6, 10, 14, 0, tzinfo=ZoneInfo("Asia/Seoul"))
# Choosing a model by backtest takes seconds on a busy 2-core machine, over the 5 s every action gets by default.
SLOW_OK = {"now": NOW, "services": {"action_timeout": 60.0}}


def call(text: str, dataset: str | None = None, horizon: dict | None = None, horizon_text: str = "",
         bot: object = None) -> ActionCall:
    slots = {}
    if dataset:
        slots["dataset"] = {"type": "dataset", "text": dataset, "value": dataset}
    if horizon:
        slots["horizon"] = {"type": "quantity", "text": horizon_text, "value": horizon}
    return ActionCall("forecast_request", slots, DialogueState(), NOW, text, {}, bot, {})


@pytest.mark.parametrize(("amount", "unit", "freq", "steps"), [
    (1, "year", "MS", 12), (12, "month", "MS", 12), (30, "day", "MS", 1), (2, "week", "MS", 1),
    (3, "quarter", "MS", 9), (1, "year", "QS", 4), (6, "month", "QS", 2), (2, "year", "YS", 2),
    (6, "month", "YS", 1), (10, "step", "YS", 10), (45, "day", "MS", 2),
])
def test_a_horizon_becomes_steps_of_the_datasets_frequency(amount, unit, freq, steps):
    assert steps_for(amount, unit, freq) == steps


def test_the_horizon_comes_from_this_message_first():
    assert horizon_of(call("co2 1년 예측", horizon={"value": 1, "unit": "year"}, horizon_text="1년")) == \
        (1.0, "year", "1년")
    assert horizon_of(call("co2 데이터로 30일 예측해줘")) == (30.0, "day", "30일")
    assert horizon_of(call("흑점 3분기치 전망")) == (3.0, "quarter", "3분기")
    # A horizon carried from the previous request yields to one written now, and is kept when none is.
    carried = {"value": 1, "unit": "year"}
    assert horizon_of(call("흑점 30일 예측해줘", horizon=carried, horizon_text="1년")) == (30.0, "day", "30일")
    assert horizon_of(call("그럼 흑점은?", horizon=carried, horizon_text="1년")) == (1.0, "year", "1년")
    assert horizon_of(call("co2 예측해줘")) is None
    assert horizon_of(call("co2 2 예측해줘")) is None  # "co2" is a name, not a number with a unit


def test_the_forecast_action_runs_the_command_with_converted_steps():
    result = forecast(call("co2 데이터로 1년 예측해줘", "co2", {"value": 1, "unit": "year"}, "1년"))
    kinds = [a["type"] for a in result.reply.attachments]
    assert kinds == ["forecast", "image"]
    assert result.reply.attachments[0]["horizon"] == 12
    assert result.reply.text.startswith("1년: 월별 데이터라 12단계 앞까지 예측했어요.")
    assert result.reply.intent == "forecast_request" and result.reply.source == "action:forecast"


def test_a_horizon_too_long_for_the_data_gets_the_commands_reason():
    result = forecast(call("나일강 500년 예측", "nile", {"value": 500, "unit": "year"}, "500년"))
    assert not result.reply.attachments
    assert result.reply.text.startswith("500년: 연도별 데이터로는 500단계예요. 예측 기간이 너무 길어요.")


def test_without_a_dataset_a_request_is_asked_and_a_question_explained():
    result = forecast(call("매출 예측해 줘"))
    assert result.ask == "dataset" and result.reason
    explained = forecast(call("시계열 예측 어떻게 해?"))
    assert explained.ask is None and "co2 데이터로 1년 예측해줘" in explained.reply.text


@pytest.mark.parametrize("text", ["시계열 예측 어떻게 해?", "숫자 예측 기능 있어요?", "주가 예측 돼?",
                                  "/forecast 사용법 알려줘", "예측 명령어 뭐야", "다음 달 판매량 예측할 수 있어?"])
def test_how_to_questions(text):
    assert HOW_TO.search(text)


@pytest.mark.parametrize("text", ["매출 예측해 줘", "앞으로 추세 예상해 줄래", "판매량 예상 ㄱㄱ",
                                  "이 숫자 뭔지 알려줘", "수요 예측 해주세요 📈"])
def test_requests_are_not_how_to_questions(text):
    assert not HOW_TO.search(text)


def test_the_dataset_table_names_every_builtin_dataset_by_its_name():
    table = load_corpus([CORPUS_DIR]).lookups["dataset"]
    assert set(table.values()) == set(DATASETS)
    assert {surface: find_dataset(value) for surface, value in table.items()} == table


def test_the_image_action_asks_for_a_picture_or_explains():
    class WithVision:
        vision = object()

    asked = image(ActionCall("image_request", {}, DialogueState(), NOW, "이 숫자 뭔지 알려줘", {}, WithVision()))
    assert "사진이 필요해요" in asked.reply.text and "준비되지 않아서" not in asked.reply.text
    explained = image(ActionCall("image_request", {}, DialogueState(), NOW, "사진 어떻게 보내?", {}, WithVision()))
    assert "📎 버튼" in explained.reply.text and "사진이 필요해요" not in explained.reply.text
    without = image(ActionCall("image_request", {}, DialogueState(), NOW, "이 숫자 뭔지 알려줘", {}, None))
    assert "이미지 모델이 준비되지 않아서" in without.reply.text


# Through Bot.reply with the trained default model.

def test_a_forecast_in_words_reaches_the_command(bot):
    reply = bot.reply("co2 데이터로 1년 예측해줘", SLOW_OK)
    assert reply.intent == "forecast_request" and reply.source == "action:forecast"
    assert reply.slots["dataset"] == "co2" and reply.slots["horizon"] == {"value": 1, "unit": "year"}
    forecast_item = next(a for a in reply.attachments if a["type"] == "forecast")
    assert forecast_item["horizon"] == 12 and forecast_item["source"] == "dataset:co2"


def test_a_missing_dataset_is_asked_for_with_the_datasets_as_choices(bot):
    asked = bot.reply("매출 예측해 줘", SLOW_OK)
    assert asked.intent == "forecast_request" and asked.state["pending"]["slot"] == "dataset"
    assert asked.suggestions == list(DATASETS)
    answered = bot.reply("흑점", SLOW_OK, state=asked.state)
    assert answered.source == "action:forecast"
    assert any(a["type"] == "forecast" and a["source"] == "dataset:sunspots" for a in answered.attachments)


def test_asking_how_it_works_gets_the_explanation(bot):
    reply = bot.reply("예측 기능은 어떻게 써?", {"now": NOW})
    assert reply.intent == "forecast_request" and reply.state["pending"] is None
    assert "co2 데이터로 1년 예측해줘" in reply.text and not reply.attachments


def test_a_picture_request_without_a_picture_asks_for_one(bot):
    reply = bot.reply("이 숫자 뭔지 알려줘", {"now": NOW})
    assert reply.intent == "image_request" and reply.source == "action:image"
    assert "사진이 필요해요" in reply.text

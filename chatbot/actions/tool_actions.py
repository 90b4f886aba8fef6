"""The tool commands reached in words, through slots: forecasts ("co2 데이터로 1년 예측해줘") and pictures.

``forecast`` fills ``/forecast``'s grammar from the ``dataset`` slot (the corpus's ``dataset`` lookup table:
the built-in dataset names and their Korean synonyms) and the ``horizon`` slot (a quantity such as "1년",
"12개월", "두 달"; "30일" reads as a date to the time extractor, so the message's own "N일/N주/N분기" is read
too), converted to steps of the dataset's frequency (1년 of monthly data is 12 steps), and runs the command.
Without a dataset, a question about the feature ("예측 기능 있어?", "어떻게 써?") gets the explanation and a
request ("매출 예측해 줘") gets the ``dataset`` slot's question, with the datasets as choices.

``image`` answers a request about a picture that came without one ("이 숫자 뭔지 알려줘"): a picture sent with
the message never reaches it, since ``chatbot.commands.routing`` sends those to ``/image`` first.
"""

from __future__ import annotations

import math
import re
from typing import Any

from chatbot.actions.registry import ActionCall, ActionResult, action
from chatbot.commands import run_command
from chatbot.reply import Reply

# How-to questions, told apart from requests: "예측 어떻게 해?", "사용법", "기능 있어?", "할 수 있어?", "주가 예측 돼?".
HOW_TO = re.compile(r"어떻게|사용법|쓰는\s*법|방법|기능|명령어|가능|수\s*있(?:어|나|니|을까|어요|나요)|"
                    r"있어\s*[?？]|있나요|(?:돼|되나|되니|되나요|돼요|되요|됨)\s*[?？]*\s*$")
UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "quarter": 365.25 / 4, "year": 365.25}
FREQ_DAYS = {"D": 1.0, "W": 7.0, "MS": 365.25 / 12, "M": 365.25 / 12, "QS": 365.25 / 4, "Q": 365.25 / 4,
             "YS": 365.25, "Y": 365.25}
FREQ_WORDS = {"MS": "월별", "QS": "분기별", "YS": "연도별", "D": "일별", "W": "주별"}
UNIT_WORDS = {"일": "day", "주": "week", "주일": "week", "개월": "month", "달": "month", "분기": "quarter",
              "년": "year", "단계": "step", "스텝": "step", "개": "step"}
# A horizon written in the message: "30일", "6주", "3분기", "2년치" (not "co2 3" or "6월 30일까지").
HORIZON_TEXT = re.compile(r"(?<![A-Za-z0-9.])(\d{1,4})\s*(개월|분기|단계|스텝|주일|주|일|년|달|개)"
                          r"(?=치|간|동안|후|뒤|\s|$|[을를만의은는이가도])")
FORECAST_HELP = ("숫자 흐름을 예측해 드릴 수 있어요 📈 내장 데이터로 해 보려면 'co2 데이터로 1년 예측해줘'처럼, "
                 "가진 숫자로 하려면 '매출 예측해 줘 120 135 128 150 162'처럼 숫자를 함께 적어 주세요. "
                 "날짜와 값이 든 CSV 파일을 📎 버튼으로 보내도 돼요. 자세한 문법은 '/forecast 도움말'에 있어요.")
IMAGE_HELP = ("사진을 보내 주시면 무엇인지 알려 드릴게요 📷 입력창 옆 📎 버튼으로 첨부하거나, 사진을 끌어다 놓거나 "
              "붙여 넣으면 돼요. '숫자 그리기'로 손글씨 숫자를 그려서 보낼 수도 있어요.")
IMAGE_ASK = ("어떤 사진인지 보려면 사진이 필요해요 📷 📎 버튼으로 사진을 첨부해서 다시 보내 주세요. "
             "손글씨 숫자라면 '숫자 그리기'로 그려서 보내도 돼요.")
NO_VISION = " 다만 지금은 이미지 모델이 준비되지 않아서 사진을 받아도 분류할 수 없어요."


def horizon_of(call: ActionCall) -> tuple[float, str, str] | None:
    """``(amount, unit, as written)`` of the horizon: the ``horizon`` slot's quantity when this message gave it,
    else a horizon written in the message ("30일"), else the slot carried from an earlier request."""
    slot = call.slots.get("horizon") or {}
    value, written = slot.get("value"), str(slot.get("text") or "")
    from_slot = None
    if isinstance(value, dict) and value.get("unit") in UNIT_DAYS and isinstance(value.get("value"), int | float):
        from_slot = float(value["value"]), str(value["unit"]), written
    if from_slot is not None and written and written in (call.text or ""):
        return from_slot
    found = HORIZON_TEXT.search(call.text or "")
    if found is not None:
        return float(found.group(1)), UNIT_WORDS[found.group(2)], found.group(0)
    return from_slot


def steps_for(amount: float, unit: str, freq: str) -> int:
    """Steps of a series of frequency ``freq`` that cover ``amount`` ``unit``s (rounded up, at least 1)."""
    if unit == "step" or freq not in FREQ_DAYS:
        return max(1, math.ceil(amount))
    return max(1, math.ceil(amount * UNIT_DAYS[unit] / FREQ_DAYS[freq] - 1e-9))


# A forecast fits its models: seconds, more on a busy machine, so it gets 30 s rather than the default 5.
@action("forecast", "내장 데이터로 앞으로의 값을 예측해서 그래프로 보여 줘요", timeout=30.0)
def forecast(call: ActionCall) -> ActionResult:
    """``/forecast <dataset> h=<steps>`` from the slots; the explanation or the dataset question without one."""
    from chatbot.timeseries.datasets import DATASETS, find_dataset

    name = find_dataset(str(call.value("dataset") or ""))
    if name is None:
        if HOW_TO.search(call.text or ""):
            return ActionResult(Reply(FORECAST_HELP, suggestions=["co2 데이터로 1년 예측해줘", "/forecast list"]),
                                keep_slots=False)
        return ActionResult(Reply(""), ask="dataset", reason="어떤 데이터를 예측할지 아직 모르겠어요.")
    info = DATASETS[name]
    horizon = horizon_of(call)
    args, done, failed = name, "", ""
    if horizon is not None:
        amount, unit, written = horizon
        steps = steps_for(amount, unit, info.freq)
        args += f" h={steps}"
        if unit != "step":
            said = f"{written.strip()}: {FREQ_WORDS.get(info.freq, '')} 데이터"
            done, failed = f"{said}라 {steps}단계 앞까지 예측했어요.\n", f"{said}로는 {steps}단계예요. "
    reply = run_command(f"/forecast {args}", call.bot, _command_context(call.context))
    text = (done if any(a.get("type") == "forecast" for a in reply.attachments) else failed) + reply.text
    return ActionResult(Reply(text, intent=call.intent, suggestions=reply.suggestions,
                              attachments=reply.attachments, source="action:forecast"))


def _command_context(context: dict[str, Any]) -> dict[str, Any]:
    """The message's context without what only the dialogue uses (a table never reaches the pipeline)."""
    return {k: v for k, v in context.items() if k not in ("state", "table", "image")}


@action("image", "사진을 보내 달라고 안내해요")
def image(call: ActionCall) -> ActionResult:
    """Ask for the picture (or explain how to send one); say so when no image model is loaded."""
    text = IMAGE_HELP if HOW_TO.search(call.text or "") else IMAGE_ASK
    if getattr(call.bot, "vision", None) is None:
        text += NO_VISION
    return ActionResult(Reply(text), keep_slots=False)

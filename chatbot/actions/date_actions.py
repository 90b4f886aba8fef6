"""Date questions answered from the resolved time entity: "3일 뒤가 무슨 요일이야?", "크리스마스까지 며칠
남았어?", "다음 주 금요일이 며칠이야?", "100일 뒤는?", in the bot's timezone (Asia/Seoul)."""

from __future__ import annotations

import re
from datetime import date, datetime

import tossi

from chatbot.actions.registry import ActionCall, ActionResult, action
from chatbot.entities.time import impossible_date
from chatbot.reply import Reply

WEEKDAYS = "월화수목금토일"
COUNTDOWN = re.compile(r"남(?:았|은|음|아\s*있)|몇\s*일\s*후|며칠\s*후|며칠\s*뒤|몇\s*일\s*뒤|디데이|d-|"
                       r"며칠\s*지났|몇\s*일\s*지났|며칠\s*전|몇\s*일\s*전|얼마나\s*(?:남|지났)", re.IGNORECASE)


def korean_date(day: date, with_year: bool = False) -> str:
    """``12월 10일 목요일`` (with the year when asked or when it is not this year's)."""
    year = f"{day.year}년 " if with_year else ""
    return f"{year}{day.month}월 {day.day}일 {WEEKDAYS[day.weekday()]}요일"


def start_of(value: object, now: datetime) -> datetime | None:
    """The start of a time slot's value (``{"start": ISO, ...}``) in ``now``'s timezone."""
    if not isinstance(value, dict) or not isinstance(value.get("start"), str):
        return None
    try:
        moment = datetime.fromisoformat(value["start"])
    except ValueError:
        return None
    return moment.astimezone(now.tzinfo) if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)


def subject(text: str) -> str:
    """How the user named the day ("3일 뒤", "크리스마스"), for the answer's first words."""
    return text.strip() or "그날"


@action("date_answer", "날짜, 요일, 남은 날 수를 알려 줘요")
def date_answer(call: ActionCall) -> ActionResult:
    """"{when}은 {date}이에요", or how many days away it is when the question counts days."""
    when = call.slots.get("when") or {}
    moment = start_of(when.get("value"), call.now)
    if moment is None:
        return ActionResult(Reply(""), ask="when", reason="날짜를 알아듣지 못했어요.")
    today, day = call.now.date(), moment.date()
    wrong = impossible_date(call.text, today) if when.get("default") else None
    if wrong:  # the message named a day no calendar has, and 오늘 stood in for it
        return ActionResult(Reply(""), ask="when", reason=f"{tossi.postfix(wrong, '은')} 없는 날짜예요.")
    name = subject(str(when.get("text", "")))
    shown = korean_date(day, with_year=day.year != today.year)
    delta = (day - today).days
    topic = tossi.postfix(name, "은")
    if COUNTDOWN.search(call.text) and delta != 0:
        if delta > 0:
            text = f"{name}({shown})까지 {delta}일 남았어요."
        else:
            text = f"{topic} {shown}, {-delta}일 전이었어요."
    elif delta == 0:
        text = f"{topic} 오늘, {shown}이에요." if name != "오늘" else f"오늘은 {shown}이에요."
    else:
        text = f"{topic} {shown}이에요." if delta > 0 else f"{topic} {shown}이었어요."
    return ActionResult(Reply(text, source="action:date_answer"))

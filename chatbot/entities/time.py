"""Dates and times ("모레 저녁", "다음 주 금요일", "저녁 7시부터 9시까지", "추석"): ``time_extractor``.

The Korean grammar is korean-datetime's (MIT, pure Python): it finds the expressions and resolves them
to half-open ``[start, end)`` intervals with a grain. It won against dateparser on our table of chat
sentences (``tests/entities/time_table.yaml``, ``benchmarks/time_expressions.py``); this module only
adapts its results to ``Entity`` and patches what it gets wrong there:

- "정오" and "자정" come back as one minute (12:00-12:01); they mean the same as "낮 12시" and
  "밤 12시", which it gives as the hour 12:00-13:00, so they get that hour too.
- "새해" and "신정" (New Year's Day) are not in its holidays: they become the next 1 January (today
  when today is one), a day.
- A day it resolves into the future in a sentence that says it has passed ("크리스마스 지나고 며칠
  지났지?") is the last one: a year earlier.

It is cheap (about 0.1 ms on a chat message), so it needs no pre-check before the parser.
When a pipeline has both, list ``time_extractor`` before ``number_extractor``: "3시" is a time and a
quantity of the same length, and the stage listed first wins a tie (``chatbot.entities``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from korean_datetime import Grain, ParseOptions, TemporalExpression, TemporalParser

from chatbot.entities import EntityExtractor
from chatbot.message import Entity, Message

NEW_YEAR = re.compile(r"새해(?:\s*첫\s*날)?|신정")
PASSED = re.compile(r"지났|지나고|지난\s*지")
EXPLICIT_YEAR = re.compile(r"\d{4}\s*년|내년|후년|다음|뒤|후")
IMPOSSIBLE = re.compile(r"(?:(\d{1,2})\s*월\s*)?(\d{1,3})\s*일(?!\s*(?:뒤|후|전|동안|째|간))")


def impossible_date(text: str, today: date) -> str | None:
    """"12월 32일" or "2월 30일" named in ``text`` (a month taken as ``today``'s when not named): the date as
    written, when no calendar has it; None otherwise."""
    for match in IMPOSSIBLE.finditer(text):
        month = int(match.group(1)) if match.group(1) else today.month
        day = int(match.group(2))
        try:
            date(2024 if (month, day) == (2, 29) else today.year, month, day)
        except ValueError:
            return match.group(0).strip()
    return None


def _a_year_before(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:  # 2월 29일
        return moment.replace(year=moment.year - 1, day=28)


def _as_hour(found: TemporalExpression) -> tuple[datetime, datetime, str]:
    """``(start, end, grain)`` of ``found``, with "정오"/"자정" widened from a minute to their hour."""
    # Only when 정오/자정 ends the expression ("내일 정오"; not "정오 10분 전", a minute).
    if (found.grain is Grain.MINUTE and not found.is_range and found.text.endswith(("정오", "자정"))
            and found.start.minute == 0):
        return found.start, found.start + timedelta(hours=1), Grain.HOUR.value
    return found.start, found.end, found.grain.value


class TimeExtractor(EntityExtractor):
    """Type "time", value ``{"start", "end", "grain"}`` (ISO datetimes in ``timezone``), resolved against
    ``message.context["now"]`` (a datetime; naive means ``timezone``) or else the current time."""

    name = "time_extractor"
    defaults: ClassVar[dict[str, Any]] = {"timezone": "Asia/Seoul"}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._zone: tzinfo = ZoneInfo(self.params["timezone"])  # an unknown zone fails here, not mid-chat
        self._parser = TemporalParser(ParseOptions(timezone=self._zone))

    def types(self) -> list[str]:
        return ["time"]

    def reference(self, message: Message) -> datetime:
        """The "now" that "내일" and "3시" count from, aware, in ``timezone``."""
        now = message.context.get("now")
        if not isinstance(now, datetime):
            return datetime.now(self._zone)
        return now.replace(tzinfo=self._zone) if now.tzinfo is None else now.astimezone(self._zone)

    def extract(self, message: Message) -> list[Entity]:
        text = message.normalized
        if not text:
            return []
        found = []
        now = self.reference(message)
        passed = bool(PASSED.search(text))
        for expression in self._parser.parse_all(text, now=now):
            start, end, grain = _as_hour(expression)
            if passed and grain == "day" and start > now and not EXPLICIT_YEAR.search(expression.text):
                start, end = _a_year_before(start), _a_year_before(end)
            first, last = expression.span
            value = {"start": start.isoformat(), "end": end.isoformat(), "grain": grain}
            found.append(Entity("time", text[first:last], first, last, value, self.name))
        for match in NEW_YEAR.finditer(text):
            if not any(e.start < match.end() and match.start() < e.end for e in found):
                day = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
                day = day if day.date() == now.date() else day.replace(year=now.year + 1)
                value = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat(), "grain": "day"}
                found.append(Entity("time", match.group(0), match.start(), match.end(), value, self.name))
        return found

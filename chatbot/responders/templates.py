"""Reply templates: ``{time}``, ``{date}``, ``{weekday}``, ``{tomorrow}``, ``{text}`` and ``{bot_name}``."""

from __future__ import annotations

import string
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FIELDS = ("time", "date", "weekday", "tomorrow", "text", "bot_name")
_WEEKDAYS = "월화수목금토일"


def template_fields(template: str) -> set[str]:
    """The field names a template uses (raises ValueError on malformed braces)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _now(timezone: str) -> datetime:
    try:
        return datetime.now(ZoneInfo(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return datetime.now()


def korean_time(moment: datetime) -> str:
    """``오후 3시 5분``."""
    half = "오전" if moment.hour < 12 else "오후"
    hour = moment.hour % 12 or 12
    return f"{half} {hour}시 {moment.minute}분"


def korean_day(moment: datetime) -> str:
    """``11월 25일 수요일``."""
    return f"{moment.month}월 {moment.day}일 {_WEEKDAYS[moment.weekday()]}요일"


def render(template: str, user_text: str = "", bot_name: str = "한결", timezone: str = "Asia/Seoul") -> str:
    """Fill a template. Unknown fields are left as written rather than failing a reply."""
    moment = _now(timezone)
    values = {
        "time": korean_time(moment),
        "date": f"{moment.year}년 {moment.month}월 {moment.day}일",
        "weekday": f"{_WEEKDAYS[moment.weekday()]}요일",
        "tomorrow": korean_day(moment + timedelta(days=1)),
        "text": user_text,
        "bot_name": bot_name,
    }

    class _Keep(dict):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    try:
        return template.format_map(_Keep(values))
    except (ValueError, IndexError, AttributeError):
        return template

"""Weather: "부산 내일 날씨 어때?" answered from an Open-Meteo-style HTTP provider, within a time limit.

The provider's settings arrive as ``call.services["weather"] = {"url", "key", "timeout"}``; the web app and
the command line make them with ``weather_settings(os.environ)`` (``CHATBOT_WEATHER_URL``,
``CHATBOT_WEATHER_API_KEY``, ``CHATBOT_WEATHER_TIMEOUT``), and the action reads the environment itself when
the host passed no ``weather`` service at all. The place becomes latitude and longitude (``COORDINATES``,
one entry per value of the corpus's ``region`` table that is a city), the ``when`` slot the day or days
asked for, and the provider's daily forecast (``weather_code``, ``temperature_2m_max``/``_min``,
``precipitation_probability_max``) a short Korean sentence. Nothing here raises or waits past the timeout:
no provider, no network, an error status or a body that is not the expected JSON all give "부산의 내일
날씨는 지금 가져올 수 없어요" and the reason; a day already past or beyond the forecast's range says so.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import Any
from urllib.parse import urlencode, urlsplit

import tossi

from chatbot.actions.date_actions import korean_date, start_of
from chatbot.actions.registry import DEFAULT_TIMEOUT as ACTION_TIMEOUT
from chatbot.actions.registry import ActionCall, ActionResult, action
from chatbot.actions.weather_codes import sky
from chatbot.reply import Reply

logger = logging.getLogger(__name__)

ENV_URL, ENV_KEY, ENV_TIMEOUT = "CHATBOT_WEATHER_URL", "CHATBOT_WEATHER_API_KEY", "CHATBOT_WEATHER_TIMEOUT"
DEFAULT_TIMEOUT = 3.0  # seconds for the whole request: connect, headers and body
MAX_TIMEOUT = 10.0
MAX_DAYS_AHEAD = 14  # the provider forecasts today and the next 14 days (Open-Meteo: up to 16)
MAX_DAYS_SHOWN = 7  # "이번 주", "다음 달": the first week of it
MAX_BODY = 1 << 20  # a daily forecast is a few hundred bytes; anything past a megabyte is not one
DAILY = ("weather_code", "temperature_2m_max", "temperature_2m_min", "precipitation_probability_max")
RAINY_PERCENT = 60  # from here the reply suggests an umbrella

# Latitude and longitude of the city centres the corpus's region table names (public facts).
COORDINATES: dict[str, tuple[float, float]] = {
    "서울": (37.5665, 126.9780), "부산": (35.1796, 129.0756), "대구": (35.8714, 128.6014),
    "인천": (37.4563, 126.7052), "광주": (35.1595, 126.8526), "대전": (36.3504, 127.3845),
    "울산": (35.5384, 129.3114), "세종": (36.4800, 127.2890), "제주": (33.4996, 126.5312),
    "수원": (37.2636, 127.0286), "춘천": (37.8813, 127.7298), "강릉": (37.7519, 128.8761),
    "속초": (38.2070, 128.5918), "전주": (35.8242, 127.1480), "경주": (35.8562, 129.2247),
    "여수": (34.7604, 127.6622), "포항": (36.0190, 129.3435), "청주": (36.6424, 127.4890),
    "창원": (35.2280, 128.6811), "목포": (34.8118, 126.3922), "남해": (34.8376, 127.8924),
}
COUNTRIES = {"일본", "중국", "미국", "유럽"}  # region values too wide for one forecast


class WeatherUnavailable(Exception):
    """The provider could not be asked or did not answer usably; ``reason`` is the Korean sentence shown."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def weather_settings(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The provider's settings from ``CHATBOT_WEATHER_*`` in ``environ``, or None when no URL is set."""
    url = (environ.get(ENV_URL) or "").strip()
    if not url:
        return None
    try:
        timeout = float(environ.get(ENV_TIMEOUT) or DEFAULT_TIMEOUT)
    except ValueError:
        logger.warning("%s=%r is not a number of seconds; using %.1f", ENV_TIMEOUT, environ.get(ENV_TIMEOUT),
                       DEFAULT_TIMEOUT)
        timeout = DEFAULT_TIMEOUT
    if not 0 < timeout < float("inf"):
        timeout = DEFAULT_TIMEOUT
    return {"url": url, "key": (environ.get(ENV_KEY) or "").strip(), "timeout": min(timeout, MAX_TIMEOUT)}


def http_get_json(url: str, timeout: float) -> Any:
    """GET ``url`` and parse its JSON body, all within ``timeout`` seconds; WeatherUnavailable otherwise.

    http.client rather than urllib: a socket timeout bounds each read, and a server that sends a byte now
    and then would never trip it; here a timer closes the socket at the deadline, whatever it is doing."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WeatherUnavailable("날씨 서버 주소(CHATBOT_WEATHER_URL)가 올바르지 않아요.")
    connection_class = HTTPSConnection if parts.scheme == "https" else HTTPConnection
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    late = f"날씨 서버가 {timeout:g}초 안에 답하지 않았어요."
    started = time.monotonic()
    conn = connection_class(parts.hostname, parts.port, timeout=timeout)
    timer: threading.Timer | None = None
    try:
        conn.connect()
        timer = threading.Timer(max(0.0, timeout - (time.monotonic() - started)), _abort, (conn.sock,))
        timer.daemon = True
        timer.start()
        conn.request("GET", path, headers={"Accept": "application/json", "User-Agent": "hangyeol-chatbot"})
        response = conn.getresponse()
        if response.status != 200:
            raise WeatherUnavailable(f"날씨 서버가 오류로 답했어요 (HTTP {response.status}).")
        body = response.read(MAX_BODY + 1)
    except WeatherUnavailable:
        raise
    except (OSError, HTTPException, ValueError) as exc:  # TimeoutError is an OSError
        if isinstance(exc, TimeoutError) or time.monotonic() - started >= timeout:
            raise WeatherUnavailable(late) from None
        logger.info("weather provider unreachable: %s", exc)
        raise WeatherUnavailable("날씨 서버에 연결할 수 없어요.") from None
    finally:
        if timer is not None:
            timer.cancel()
        conn.close()
    if time.monotonic() - started >= timeout:  # the timer closed the socket under a slow body: it reads short
        raise WeatherUnavailable(late)
    if len(body) > MAX_BODY:
        raise WeatherUnavailable("날씨 서버의 답이 너무 커서 읽지 않았어요.")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WeatherUnavailable("날씨 서버의 답을 읽을 수 없었어요.") from None


def _abort(sock: socket.socket | None) -> None:
    """Unblock a read that runs past the deadline (the reading thread then sees an OSError)."""
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def forecast_url(settings: Mapping[str, Any], latitude: float, longitude: float, first: date, last: date) -> str:
    """The provider's URL for the daily forecast of ``[first, last]`` at one place, in Asia/Seoul days."""
    params: dict[str, Any] = {"latitude": latitude, "longitude": longitude, "daily": ",".join(DAILY),
                              "timezone": "Asia/Seoul", "start_date": first.isoformat(), "end_date": last.isoformat()}
    if settings.get("key"):
        params["apikey"] = settings["key"]
    url = str(settings["url"])
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def read_days(payload: Any, days: list[date]) -> dict[date, dict[str, Any]]:
    """``{day: {"code", "max", "min", "rain"}}`` for the asked days found in the provider's ``daily`` block."""
    daily = payload.get("daily") if isinstance(payload, dict) else None
    times = daily.get("time") if isinstance(daily, dict) else None
    if not isinstance(daily, dict) or not isinstance(times, list):
        raise WeatherUnavailable("날씨 서버의 답을 읽을 수 없었어요.")
    columns: dict[str, list[Any]] = {key: value if isinstance(value := daily.get(key), list) else []
                                     for key in DAILY}
    found: dict[date, dict[str, Any]] = {}
    for i, stamp in enumerate(times):
        try:
            day = date.fromisoformat(str(stamp)[:10])
        except ValueError:
            continue
        if day in days:
            row = [_number(columns[key][i]) if i < len(columns[key]) else None for key in DAILY]
            if any(v is not None for v in row):
                found[day] = dict(zip(("code", "max", "min", "rain"), row, strict=True))
    if not found:
        raise WeatherUnavailable("날씨 서버의 답에 그날 예보가 없어요.")
    return found


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def describe_day(row: dict[str, Any]) -> str:
    """"대체로 맑음, 최고 27도 / 최저 19도, 비 올 확률 20%" (the parts the provider gave)."""
    parts = [sky(row["code"])] if row.get("code") is not None else []
    high, low = row.get("max"), row.get("min")
    if high is not None and low is not None:
        parts.append(f"최고 {round(high)}도 / 최저 {round(low)}도")
    elif high is not None:
        parts.append(f"최고 {round(high)}도")
    elif low is not None:
        parts.append(f"최저 {round(low)}도")
    if row.get("rain") is not None:
        parts.append(f"비 올 확률 {round(row['rain'])}%")
    return ", ".join(p for p in parts if p)


def asked_days(value: Any, now: datetime) -> list[date]:
    """The days a ``when`` value covers (its first ``MAX_DAYS_SHOWN``), in ``now``'s timezone."""
    start = start_of(value, now) or now
    end = start_of({"start": value["end"]}, now) if isinstance(value, dict) and isinstance(value.get("end"), str) \
        else None
    last = (end - timedelta(microseconds=1)).date() if end is not None and end > start else start.date()
    count = min((last - start.date()).days + 1, MAX_DAYS_SHOWN)
    return [start.date() + timedelta(days=n) for n in range(max(count, 1))]


def _settings(call: ActionCall) -> dict[str, Any] | None:
    if "weather" not in call.services:
        return weather_settings(os.environ)
    settings = call.services.get("weather")
    return dict(settings) if isinstance(settings, Mapping) and settings.get("url") else None


def _timeout(call: ActionCall, settings: Mapping[str, Any]) -> float:
    """The provider's timeout, kept under the action's own limit so that this reply, not the generic one, wins."""
    try:
        wanted = float(settings.get("timeout") or DEFAULT_TIMEOUT)
    except (TypeError, ValueError):
        wanted = DEFAULT_TIMEOUT
    limit = float(call.services.get("action_timeout", ACTION_TIMEOUT))
    return max(0.1, min(wanted if wanted > 0 else DEFAULT_TIMEOUT, MAX_TIMEOUT, limit - 0.5))


# Chat spellings of days that the reply spells out ("낼" -> "내일").
COLLOQUIAL = {"낼": "내일", "담주": "다음 주", "담달": "다음 달", "낼모레": "내일모레", "오늘낼": "오늘내일"}


@action("weather", "지역과 날짜의 날씨를 알려 줘요")
def weather(call: ActionCall) -> ActionResult:
    """The forecast for the ``place`` and ``when`` slots, or an honest sentence saying why there is none."""
    place = str(call.value("place") or "").strip()
    when = call.slots.get("when") or {}
    label = str(when.get("text") or "오늘").strip()
    label = COLLOQUIAL.get(label.replace(" ", ""), label)  # "부산의 낼 날씨는" reads oddly from the bot
    if not place:
        return ActionResult(Reply(""), ask="place", reason="어느 지역인지 알아듣지 못했어요.")
    if place in COUNTRIES:
        return ActionResult(Reply(""), ask="place",
                            reason=f"{place} 전체의 날씨는 알 수 없어요. 도시 이름으로 말씀해 주세요.")
    today = call.now.date()
    days = asked_days(when.get("value"), call.now)
    usable = [d for d in days if 0 <= (d - today).days <= MAX_DAYS_AHEAD]
    if not usable:
        shown = korean_date(days[0], with_year=days[0].year != today.year)
        why = ("이미 지난 날이라 예보가 없어요" if days[-1] < today
               else f"예보는 오늘부터 {MAX_DAYS_AHEAD}일 뒤까지만 알려 드릴 수 있어요")
        return ActionResult(Reply(f"{place}의 {label}({shown}) 날씨는 알려 드릴 수 없어요. {why}."))
    unavailable = f"{place}의 {label} 날씨는 지금 가져올 수 없어요."
    settings = _settings(call)
    if settings is None:
        return ActionResult(Reply(f"{unavailable} 날씨 정보 제공처가 설정되지 않았어요."))
    if place not in COORDINATES:
        return ActionResult(Reply(""), ask="place",
                            reason=f"{place}의 위치를 몰라서 날씨를 찾을 수 없어요. 가까운 큰 도시로 말씀해 주세요.")
    latitude, longitude = COORDINATES[place]
    try:
        payload = http_get_json(forecast_url(settings, latitude, longitude, usable[0], usable[-1]),
                                _timeout(call, settings))
        found = read_days(payload, usable)
    except WeatherUnavailable as exc:
        return ActionResult(Reply(f"{unavailable} {exc.reason}"))
    return ActionResult(Reply(answer(place, label, found, today, call.text)))


def copula(words: str) -> str:
    """``words`` with 이에요/예요 (tossi; a final "%" is read 퍼센트, which takes 예요)."""
    return f"{words}예요" if words.endswith("%") else tossi.postfix(words, "이에요")


def answer(place: str, label: str, found: dict[date, dict[str, Any]], today: date, text: str = "") -> str:
    """The reply: one day in a sentence, several as a list; an umbrella tip when rain is likely."""
    days = sorted(found)
    if len(days) == 1:
        day = days[0]
        shown = korean_date(day, with_year=day.year != today.year)
        said = describe_day(found[day])
        reply = f"{place}의 {label}({shown}) 날씨는 {copula(said)}."
    else:
        lines = "; ".join(f"{korean_date(d)} {describe_day(found[d])}" for d in days)
        reply = f"{place}의 {label} 날씨예요: {lines}."
    if any((found[d].get("rain") or 0) >= RAINY_PERCENT for d in days):
        reply += " 우산 챙기세요 ☂️"
    return reply

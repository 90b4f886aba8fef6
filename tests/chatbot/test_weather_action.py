"""The weather action against a local HTTP provider that answers, hangs, trickles, fails or sends junk.

Every case must give a polite Korean reply within the provider's timeout (the elapsed time is asserted),
never an exception. The last tests go through ``Bot.reply`` with the trained default model: the
``weather_ask`` form, its follow-ups ("그럼 서울은?") and the place asked for when it is missing."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from chatbot.actions import ActionCall, find_action, run_action
from chatbot.actions.weather_action import COORDINATES, answer, weather, weather_settings
from chatbot.dialogue.state import DialogueState

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2025, 6, 10, 14, 0, tzinfo=SEOUL)  # a Tuesday
TIMEOUT = 0.6
SLACK = 1.0  # a busy 2-core machine may start the thread late; a hang would take 10 s


class Provider(BaseHTTPRequestHandler):
    """``/ok``: a daily forecast for the asked days; ``/hang``: no answer; ``/trickle``: a byte at a time;
    ``/error``: HTTP 500; ``/junk``: not JSON; ``/empty``: JSON without the days."""

    release = threading.Event()
    requests: list[dict[str, list[str]]] = []

    def log_message(self, *args: Any) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        Provider.requests.append(query)
        mode = parts.path.strip("/").split("/")[0]
        if mode == "hang":
            Provider.release.wait(10)
            return
        if mode == "error":
            self._send(500, b'{"error": true, "reason": "boom"}')
        elif mode == "junk":
            self._send(200, b"<html>\xff\xfe not json")
        elif mode == "empty":
            self._send(200, b'{"latitude": 35.1, "daily": {"time": []}}')
        elif mode == "trickle":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(50):
                if Provider.release.wait(0.2):
                    return
                self.wfile.write(b" ")
                self.wfile.flush()
        else:
            self._send(200, json.dumps(self._forecast(query)).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    @staticmethod
    def _forecast(query: dict[str, list[str]]) -> dict[str, Any]:
        first, last = date.fromisoformat(query["start_date"][0]), date.fromisoformat(query["end_date"][0])
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        return {"latitude": float(query["latitude"][0]), "longitude": float(query["longitude"][0]),
                "daily_units": {"temperature_2m_max": "°C"},
                "daily": {"time": [d.isoformat() for d in days], "weather_code": [61] + [1] * (len(days) - 1),
                          "temperature_2m_max": [27.4] * len(days), "temperature_2m_min": [18.6] * len(days),
                          "precipitation_probability_max": [80] + [10] * (len(days) - 1)}}


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """The base URL of a local provider (``{base}/ok/v1/forecast`` etc.), served from a thread."""
    Provider.release.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    Provider.release.set()
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    """A local port nothing listens on (connection refused: "no network" without touching one)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str | None, place: str = "부산", day: date | None = None, label: str = "내일",
         text: str = "부산 내일 날씨 어때?") -> ActionCall:
    day = day or NOW.date() + timedelta(days=1)
    start = datetime(day.year, day.month, day.day, tzinfo=SEOUL)
    when = {"type": "time", "text": label,
            "value": {"start": start.isoformat(), "end": (start + timedelta(days=1)).isoformat(), "grain": "day"}}
    services = {"weather": {"url": url, "key": "", "timeout": TIMEOUT} if url else None}
    return ActionCall("weather_ask", {"place": {"type": "region", "text": place, "value": place}, "when": when},
                      DialogueState(), NOW, text, services)


def timed(action_call: ActionCall) -> tuple[str, float]:
    """The reply's text through ``run_action`` (the action's own time limit, as ``Bot.reply`` runs it) and seconds."""
    found = find_action("weather")
    assert found is not None
    started = time.monotonic()
    result = run_action(found, action_call, timeout=5.0)
    return result.reply.text, time.monotonic() - started


def test_a_forecast_becomes_a_short_korean_sentence(provider):
    Provider.requests.clear()
    text, elapsed = timed(call(f"{provider}/ok/v1/forecast"))
    assert text == ("부산의 내일(6월 11일 수요일) 날씨는 약한 비, 최고 27도 / 최저 19도, 비 올 확률 80%예요. "
                    "우산 챙기세요 ☂️")
    assert elapsed < TIMEOUT + SLACK
    asked = Provider.requests[-1]
    assert (float(asked["latitude"][0]), float(asked["longitude"][0])) == COORDINATES["부산"]
    assert asked["start_date"] == asked["end_date"] == ["2025-06-11"]
    assert asked["timezone"] == ["Asia/Seoul"] and "apikey" not in asked


def test_the_key_is_sent_and_a_url_with_a_query_is_extended(provider):
    Provider.requests.clear()
    action_call = call(f"{provider}/ok/v1/forecast?models=best_match")
    action_call.services["weather"]["key"] = "secret"
    text, _ = timed(action_call)
    assert "최고 27도" in text
    assert Provider.requests[-1]["apikey"] == ["secret"] and Provider.requests[-1]["models"] == ["best_match"]


@pytest.mark.parametrize(("mode", "why"), [
    ("hang", "초 안에 답하지 않았어요"),
    ("trickle", "초 안에 답하지 않았어요"),
    ("error", "오류로 답했어요 (HTTP 500)"),
    ("junk", "답을 읽을 수 없었어요"),
    ("empty", "그날 예보가 없어요"),
])
def test_a_provider_that_fails_gets_an_honest_reply_in_time(provider, mode, why):
    text, elapsed = timed(call(f"{provider}/{mode}/v1/forecast"))
    assert text.startswith("부산의 내일 날씨는 지금 가져올 수 없어요.")
    assert why in text
    assert elapsed < TIMEOUT + SLACK, f"{mode}: {elapsed:.2f} s"


def test_no_network_and_no_provider_answer_with_what_was_understood():
    text, elapsed = timed(call(f"http://127.0.0.1:{closed_port()}/v1/forecast"))
    assert text == "부산의 내일 날씨는 지금 가져올 수 없어요. 날씨 서버에 연결할 수 없어요."
    assert elapsed < TIMEOUT + SLACK
    text, _ = timed(call(None))
    assert text == "부산의 내일 날씨는 지금 가져올 수 없어요. 날씨 정보 제공처가 설정되지 않았어요."
    text, _ = timed(call("ftp://example.invalid/forecast"))
    assert "주소(CHATBOT_WEATHER_URL)가 올바르지 않아요" in text


@pytest.mark.parametrize(("offset", "label", "expected"), [
    (-1, "어제", "부산의 어제(6월 9일 월요일) 날씨는 알려 드릴 수 없어요. 이미 지난 날이라 예보가 없어요."),
    (20, "20일 뒤", "부산의 20일 뒤(6월 30일 월요일) 날씨는 알려 드릴 수 없어요. "
                    "예보는 오늘부터 14일 뒤까지만 알려 드릴 수 있어요."),
])
def test_a_day_outside_the_forecast_range_is_said_so_without_asking(provider, offset, label, expected):
    Provider.requests.clear()
    text, _ = timed(call(f"{provider}/ok/v1/forecast", day=NOW.date() + timedelta(days=offset), label=label))
    assert text == expected
    assert Provider.requests == []


def test_a_weekend_lists_each_day_and_a_place_without_coordinates_is_asked_again(provider):
    action_call = call(f"{provider}/ok/v1/forecast", label="이번 주말")
    start = datetime(2025, 6, 14, tzinfo=SEOUL)
    action_call.slots["when"]["value"] = {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat(),
                                          "grain": "day"}
    text, _ = timed(action_call)
    assert text.startswith("부산의 이번 주말 날씨예요: 6월 14일 토요일 약한 비")
    assert "6월 15일 일요일 대체로 맑음" in text
    result = weather(call(f"{provider}/ok/v1/forecast", place="통영"))
    assert result.ask == "place" and "통영의 위치를 몰라서" in result.reason
    assert weather(call(f"{provider}/ok/v1/forecast", place="미국")).ask == "place"


def test_the_provider_timeout_stays_under_the_actions_own_limit(provider):
    action_call = call(f"{provider}/hang/v1/forecast")
    action_call.services["weather"]["timeout"] = 9.0
    action_call.services["action_timeout"] = 1.5
    text, elapsed = timed(action_call)
    assert "1초 안에 답하지 않았어요" in text  # 1.5 s less half a second, so this reply (not the generic one) wins
    assert elapsed < 1.0 + SLACK


def test_weather_settings_reads_the_environment():
    assert weather_settings({}) is None
    assert weather_settings({"CHATBOT_WEATHER_URL": "  "}) is None
    assert weather_settings({"CHATBOT_WEATHER_URL": "https://api.open-meteo.com/v1/forecast",
                             "CHATBOT_WEATHER_API_KEY": "k", "CHATBOT_WEATHER_TIMEOUT": "1.5"}) == {
        "url": "https://api.open-meteo.com/v1/forecast", "key": "k", "timeout": 1.5}
    for bad in ("soon", "-1", "nan", "inf"):
        assert weather_settings({"CHATBOT_WEATHER_URL": "http://x", "CHATBOT_WEATHER_TIMEOUT": bad})["timeout"] == 3.0
    assert weather_settings({"CHATBOT_WEATHER_URL": "http://x", "CHATBOT_WEATHER_TIMEOUT": "60"})["timeout"] == 10.0


def test_without_a_weather_service_the_action_reads_the_environment(provider, monkeypatch):
    monkeypatch.setenv("CHATBOT_WEATHER_URL", f"{provider}/ok/v1/forecast")
    action_call = call(None)
    del action_call.services["weather"]  # the command line passes no services: the environment decides
    assert "최고 27도" in weather(action_call).reply.text
    monkeypatch.delenv("CHATBOT_WEATHER_URL")
    assert "설정되지 않았어요" in weather(action_call).reply.text


def test_answer_wording_without_rain_or_with_missing_values():
    day = date(2025, 6, 11)
    assert answer("서울", "내일", {day: {"code": 0, "max": 30.2, "min": None, "rain": None}}, NOW.date()) == \
        "서울의 내일(6월 11일 수요일) 날씨는 맑음, 최고 30도예요."
    assert answer("서울", "내일", {day: {"code": 3, "max": None, "min": None, "rain": None}}, NOW.date()) == \
        "서울의 내일(6월 11일 수요일) 날씨는 흐림이에요."


# Through Bot.reply with the trained default model.

def services(url: str | None) -> dict[str, Any]:
    return {"weather": {"url": url, "key": "", "timeout": TIMEOUT} if url else None}


def test_a_question_with_place_and_day_is_answered(bot, provider):
    reply = bot.reply("부산 내일 날씨 어때?", {"now": NOW, "services": services(f"{provider}/ok/v1/forecast")})
    assert reply.intent == "weather_ask" and reply.source == "action:weather"
    assert reply.slots["place"] == "부산" and reply.slots["when"]["start"].startswith("2025-06-11")
    assert reply.text.startswith("부산의 내일(6월 11일 수요일) 날씨는")


def test_the_place_is_asked_for_then_follow_ups_reuse_the_intent(bot, provider):
    context = {"now": NOW, "services": services(f"{provider}/ok/v1/forecast")}
    asked = bot.reply("날씨 알려줘", context)
    assert asked.intent == "weather_ask" and asked.text == "어느 지역 날씨를 알려 드릴까요?"
    assert "부산" in asked.suggestions and asked.state["pending"]["slot"] == "place"
    answered = bot.reply("부산", context, state=asked.state)
    assert answered.intent == "weather_ask" and answered.slots["place"] == "부산"
    assert answered.text.startswith("부산의 오늘(6월 10일 화요일) 날씨는")
    again = bot.reply("그럼 서울은?", context, state=answered.state)
    assert again.intent == "weather_ask" and again.source == "action:weather" and again.slots["place"] == "서울"
    assert again.text.startswith("서울의 오늘")
    later = bot.reply("모레는?", context, state=again.state)
    assert later.intent == "weather_ask" and later.slots["place"] == "서울"
    assert later.text.startswith("서울의 모레(6월 12일 목요일)")


def test_small_talk_about_the_weather_stays_small_talk(bot):
    for text in ("날씨 넘 좋다 ㅎㅎ", "더워서 땀 뻘뻘"):
        reply = bot.reply(text, {"now": NOW})
        assert reply.intent == "weather_chat" and not reply.source.startswith("action"), text


def test_without_a_provider_or_with_a_hanging_one_the_bot_still_answers_politely(bot, provider):
    reply = bot.reply("부산 내일 날씨 어때?", {"now": NOW, "services": services(None)})
    assert reply.text == "부산의 내일 날씨는 지금 가져올 수 없어요. 날씨 정보 제공처가 설정되지 않았어요."
    started = time.monotonic()
    reply = bot.reply("부산 내일 날씨 어때?", {"now": NOW, "services": services(f"{provider}/hang/v1/forecast")})
    assert time.monotonic() - started < TIMEOUT + SLACK
    assert reply.text.startswith("부산의 내일 날씨는 지금 가져올 수 없어요.")


def test_the_reply_spells_out_a_chat_spelling_of_the_day():
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from chatbot.actions import ActionCall, find_action
    from chatbot.dialogue.state import DialogueState

    now = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    tomorrow = now.replace(hour=0) + timedelta(days=1)
    when = {"type": "time", "text": "낼", "value": {"start": tomorrow.isoformat(),
                                                    "end": (tomorrow + timedelta(days=1)).isoformat(), "grain": "day"}}
    call = ActionCall("weather_ask", {"place": {"type": "region", "text": "부산", "value": "부산"}, "when": when},
                      DialogueState(), now, "낼 부산 날씨 어떰?", {"weather": None})
    text = find_action("weather").handler(call).reply.text
    assert "부산의 내일 날씨" in text and "낼" not in text

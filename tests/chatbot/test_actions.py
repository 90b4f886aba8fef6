"""Actions (chatbot.actions): the registry's time limit and errors, date answers, reminders, recall."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chatbot.actions import ActionCall, ActionResult, action, find_action, registered_actions, run_action
from chatbot.actions.registry import ACTIONS, FAILED_TEXT, TIMEOUT_TEXT
from chatbot.actions.reminders import MemoryReminderBook
from chatbot.dialogue.state import DialogueState
from chatbot.reply import Reply

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=SEOUL)  # a Monday


def day(offset: int, hour: int | None = None) -> dict:
    start = (NOW + timedelta(days=offset)).replace(hour=hour or 0, minute=0)
    grain = "hour" if hour is not None else "day"
    end = start + (timedelta(hours=1) if hour is not None else timedelta(days=1))
    return {"start": start.isoformat(), "end": end.isoformat(), "grain": grain}


def call(intent: str, text: str = "", state: DialogueState | None = None, book=None, **slots) -> ActionCall:
    return ActionCall(intent, {k: v for k, v in slots.items()}, state or DialogueState(), NOW, text,
                      {"reminders": book} if book is not None else {})


def slot(type_: str, text: str, value) -> dict:
    return {"type": type_, "text": text, "value": value}


def test_every_builtin_action_is_registered() -> None:
    assert {"date_answer", "recall", "reminder_set", "reminder_list", "reminder_delete", "weather"} <= \
        registered_actions()


@pytest.fixture
def temporary_actions():
    from chatbot.actions import register_builtin_actions

    register_builtin_actions()  # imported before the snapshot: a later import cannot re-register over it
    before = dict(ACTIONS)
    yield
    ACTIONS.clear()
    ACTIONS.update(before)


def test_a_failing_action_gets_a_polite_reply_and_is_logged(temporary_actions, caplog) -> None:
    @action("test_broken")
    def broken(_: ActionCall) -> ActionResult:
        raise RuntimeError("boom")

    result = run_action(find_action("test_broken"), call("x"))
    assert result.reply.text == FAILED_TEXT
    assert "test_broken" in caplog.text and "boom" in caplog.text


def test_an_action_that_hangs_is_answered_within_its_time_limit(temporary_actions) -> None:
    release = threading.Event()

    @action("test_slow")
    def slow(_: ActionCall) -> ActionResult:
        release.wait(10)
        return ActionResult(Reply("늦은 답"))

    started = time.monotonic()
    result = run_action(find_action("test_slow"), call("x"), timeout=0.2)
    release.set()
    assert time.monotonic() - started < 1.0
    assert result.reply.text == TIMEOUT_TEXT


def test_an_action_that_returns_the_wrong_thing_is_answered_politely(temporary_actions) -> None:
    action("test_wrong")(lambda _: "not a result")
    assert run_action(find_action("test_wrong"), call("x")).reply.text == FAILED_TEXT


@pytest.mark.parametrize(("text", "when", "expected"), [
    ("3일 뒤가 무슨 요일이야?", slot("time", "3일 뒤", day(3)), "3일 뒤는 12월 10일 목요일이에요."),
    ("크리스마스까지 며칠 남았어?", slot("time", "크리스마스", day(18)),
     "크리스마스(12월 25일 금요일)까지 18일 남았어요."),
    ("다음 주 금요일이 며칠이야?", slot("time", "다음 주 금요일", day(11)), "다음 주 금요일은 12월 18일 금요일이에요."),
    ("100일 뒤는?", slot("time", "100일 뒤", day(100)), "100일 뒤는 2027년 3월 17일 수요일이에요."),
    ("오늘 며칠이야?", slot("time", "오늘", day(0)), "오늘은 12월 7일 월요일이에요."),
    ("어제 며칠이었지?", slot("time", "어제", day(-1)), "어제는 12월 6일 일요일이었어요."),
])
def test_date_answers_are_computed_from_the_resolved_time(text: str, when: dict, expected: str) -> None:
    assert find_action("date_answer").handler(call("ask_date", text, when=when)).reply.text == expected


def test_a_reminder_is_stored_and_a_past_time_is_asked_again() -> None:
    book = MemoryReminderBook()
    set_ = find_action("reminder_set").handler
    result = set_(call("reminder_set", book=book, what=slot("text", "회의", "회의"),
                       when=slot("time", "내일 오후 3시", day(1, 15))))
    assert "12월 8일 화요일 오후 3시" in result.reply.text and "회의" in result.reply.text
    assert [(r["text"], r["due"].hour) for r in book.upcoming()] == [("회의", 15)]
    past = set_(call("reminder_set", book=book, what=slot("text", "회의", "회의"),
                     when=slot("time", "어제 3시", day(-1, 15))))
    assert past.ask == "when" and "이미 지난 시간" in past.reason
    assert len(book.upcoming()) == 1
    morning = set_(call("reminder_set", book=book, what=slot("text", "장보기", "장보기"),
                        when=slot("time", "내일", day(1))))
    assert "오전 9시" in morning.reply.text


def test_an_ambiguous_delete_asks_which_then_deletes_that_one() -> None:
    book = MemoryReminderBook()
    book.add("회의 준비", NOW + timedelta(hours=2))
    book.add("팀 회의", NOW + timedelta(hours=5))
    book.add("운동", NOW + timedelta(hours=8))
    delete = find_action("reminder_delete").handler
    asked = delete(call("reminder_delete", book=book, what=slot("text", "회의", "회의")))
    assert asked.ask == "which" and "2개" in asked.reason
    done = delete(call("reminder_delete", book=book, what=slot("text", "회의", "회의"),
                       which=slot("quantity", "2번", {"value": 2, "unit": "번"})))
    assert "팀 회의" in done.reply.text
    assert [r["text"] for r in book.upcoming()] == ["회의 준비", "운동"]


def test_listing_reminders_of_a_day() -> None:
    book = MemoryReminderBook()
    book.add("치과", NOW + timedelta(days=1, hours=2))
    book.add("운동", NOW + timedelta(days=2))
    listed = find_action("reminder_list").handler(call("reminder_list", book=book, when=slot("time", "내일", day(1))))
    assert "치과" in listed.reply.text and "운동" not in listed.reply.text
    assert "없어요" in find_action("reminder_list").handler(call("reminder_list", book=MemoryReminderBook())).reply.text


def test_reminders_without_a_book_say_so_politely() -> None:
    result = find_action("reminder_set").handler(call("reminder_set", what=slot("text", "x", "x"),
                                                      when=slot("time", "내일 3시", day(1, 15))))
    assert "저장할 수 없어요" in result.reply.text


def test_recall_answers_from_the_stored_turns() -> None:
    state = DialogueState()
    state.add_turn("user", "부산 날씨 어때?")
    state.add_turn("bot", "부산은 맑아요.", "weather_ask")
    recall = find_action("recall").handler
    assert "부산 날씨 어때?" in recall(call("recall", "방금 내가 뭐라고 했지?", state)).reply.text
    assert "부산은 맑아요." in recall(call("recall", "너 방금 뭐라고 했어?", state)).reply.text
    assert "아직" in recall(call("recall", "방금 내가 뭐라고 했지?")).reply.text


def test_a_trainers_action_module_that_cannot_be_imported_is_named(monkeypatch) -> None:
    from chatbot.actions import ActionModuleError, register_builtin_actions

    monkeypatch.setenv("CHATBOT_ACTIONS", "no_such_package.my_actions")
    with pytest.raises(ActionModuleError, match="no_such_package.my_actions"):
        register_builtin_actions()


def test_an_action_may_ask_for_more_time_than_the_hosts_limit(temporary_actions) -> None:
    @action("test_patient", timeout=2.0)
    def patient(_: ActionCall) -> ActionResult:
        time.sleep(0.4)
        return ActionResult(Reply("다 됐어요"))

    assert run_action(find_action("test_patient"), call("x"), timeout=0.1).reply.text == "다 됐어요"

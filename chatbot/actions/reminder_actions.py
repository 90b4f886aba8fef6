"""Reminders and memos: set one ("내일 오후 3시에 회의 있다고 알려줘"), list them ("내 일정 보여줘", "내일 뭐
있어?"), delete one ("회의 알림 지워줘", with a question when several match). They are kept in the person's
``ReminderBook`` (``services["reminders"]``), which the host provides."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import tossi

from chatbot.actions.date_actions import korean_date, start_of
from chatbot.actions.registry import ActionCall, ActionResult, action
from chatbot.reply import Reply

DAY_GRAINS = {"day", "week", "month", "quarter", "year"}
MORNING = 9  # a reminder for "내일" (a day, no hour) is due at 9 in the morning
NO_BOOK_TEXT = "죄송해요, 지금은 알림을 저장할 수 없어요. 잠시 뒤에 다시 해 주세요."


def korean_moment(moment: datetime, now: datetime) -> str:
    """``12월 8일 화요일 오후 3시`` (minutes when not on the hour; the year when not this one)."""
    half = "오전" if moment.hour < 12 else "오후"
    hour = moment.hour % 12 or 12
    minutes = f" {moment.minute}분" if moment.minute else ""
    return f"{korean_date(moment.date(), with_year=moment.year != now.year)} {half} {hour}시{minutes}"


def _book(call: ActionCall) -> Any:
    return call.services.get("reminders")


def due_time(call: ActionCall) -> tuple[datetime | None, str]:
    """When the reminder falls due, and a note when the hour was assumed; None when the slot is unusable."""
    when = call.slots.get("when") or {}
    value = when.get("value")
    moment = start_of(value, call.now)
    if moment is None:
        return None, ""
    if isinstance(value, dict) and value.get("grain") in DAY_GRAINS:
        note = f" (시간을 말씀하지 않아서 오전 {MORNING}시로 했어요)"
        return moment.replace(hour=MORNING, minute=0, second=0, microsecond=0), note
    return moment, ""


@action("reminder_set", "알림을 저장해요")
def reminder_set(call: ActionCall) -> ActionResult:
    book = _book(call)
    if book is None:
        return ActionResult(Reply(NO_BOOK_TEXT), keep_slots=False)
    what = str(call.value("what") or "").strip()
    if not what:
        return ActionResult(Reply(""), ask="what", reason="무엇을 알려 드릴지 알아듣지 못했어요.")
    due, note = due_time(call)
    if due is None:
        return ActionResult(Reply(""), ask="when", reason="언제인지 알아듣지 못했어요.")
    if due <= call.now:
        return ActionResult(Reply(""), ask="when",
                            reason=f"{tossi.postfix(korean_moment(due, call.now), '은')} 이미 지난 시간이에요.")
    book.add(what[:200], due)
    text = f"알겠어요! {korean_moment(due, call.now)}에 '{what[:200]}' 알려 드릴게요 ⏰{note}"
    return ActionResult(Reply(text, suggestions=["내 일정 보여줘"]), keep_slots=False)


def _window(call: ActionCall) -> tuple[datetime, datetime | None, str]:
    """The listing's time window: the asked day (or range), else from now on."""
    value = (call.slots.get("when") or {}).get("value")
    start = start_of(value, call.now)
    # A day or longer ("내일", "이번 주") is a window; "지금" or "3시" is not: from now on.
    if start is not None and isinstance(value, dict) and value.get("grain") in DAY_GRAINS \
            and isinstance(value.get("end"), str):
        try:
            end = datetime.fromisoformat(value["end"])
        except ValueError:
            end = None
        if end is not None:
            label = str((call.slots.get("when") or {}).get("text") or "그때")
            return max(start, call.now) if end > call.now else start, end, label
    return call.now, None, ""


def describe(items: list[dict[str, Any]], now: datetime) -> str:
    return " / ".join(f"{n}) {korean_moment(i['due'], now)} {i['text']}" for n, i in enumerate(items, 1))


@action("reminder_list", "저장한 알림을 보여 줘요")
def reminder_list(call: ActionCall) -> ActionResult:
    book = _book(call)
    if book is None:
        return ActionResult(Reply(NO_BOOK_TEXT), keep_slots=False)
    start, end, label = _window(call)
    items = book.upcoming(start, end, limit=10)
    if not items:
        text = (f"{label}에는 잡힌 일정이 없어요." if label
                else "앞으로 예정된 알림이 없어요. '내일 3시에 회의 알려줘'처럼 말씀해 보세요.")
        return ActionResult(Reply(text), keep_slots=False)
    head = f"{label} 일정은 {len(items)}개예요" if label else f"앞으로 알림이 {len(items)}개 있어요"
    return ActionResult(Reply(f"{head}: {describe(items, call.now)}"), keep_slots=False)


def _matches(call: ActionCall, book: Any) -> list[dict[str, Any]]:
    what = str(call.value("what") or "").strip()
    start, end, label = _window(call)
    items = book.upcoming(call.now - timedelta(days=1) if not label else start, end, limit=50)
    words = [w for w in what.replace("알림", " ").replace("일정", " ").split() if len(w) > 0]
    return [i for i in items if all(w in i["text"] for w in words)] if words else items


@action("reminder_delete", "알림을 지워요")
def reminder_delete(call: ActionCall) -> ActionResult:
    book = _book(call)
    if book is None:
        return ActionResult(Reply(NO_BOOK_TEXT), keep_slots=False)
    matches = _matches(call, book)
    if not matches:
        text = "지울 알림을 찾지 못했어요. '내 일정 보여줘'로 목록을 먼저 확인해 보세요."
        return ActionResult(Reply(text), keep_slots=False)
    which = call.value("which")
    if len(matches) > 1 and which is None:
        return ActionResult(Reply(""), ask="which",
                            reason=f"해당하는 알림이 {len(matches)}개 있어요: {describe(matches, call.now)}.")
    if which is not None:
        number: Any = which.get("value") if isinstance(which, dict) else which  # "1번": a quantity
        try:
            index = int(float(number)) - 1
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index < len(matches):
            return ActionResult(Reply(""), ask="which", reason=f"1부터 {len(matches)} 사이의 번호로 말씀해 주세요.")
        chosen = matches[index]
    else:
        chosen = matches[0]
    book.delete(chosen["id"])
    return ActionResult(Reply(f"'{chosen['text']}' 알림({korean_moment(chosen['due'], call.now)})을 지웠어요."),
                        keep_slots=False)

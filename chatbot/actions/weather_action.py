"""Weather: the place and time slots, answered from an HTTP provider when one is configured."""

from __future__ import annotations

from chatbot.actions.registry import ActionCall, ActionResult, action
from chatbot.reply import Reply


@action("weather", "지역과 날짜의 날씨를 알려 줘요")
def weather(call: ActionCall) -> ActionResult:
    place = (call.slots.get("place") or {}).get("value") or "그 지역"
    when = (call.slots.get("when") or {}).get("text") or "오늘"
    return ActionResult(Reply(f"{place}의 {when} 날씨는 지금 가져올 수 없어요. 날씨 정보 제공처가 설정되지 않았어요."))

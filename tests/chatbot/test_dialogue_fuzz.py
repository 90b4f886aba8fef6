"""Fuzzing conversations: any sequence of messages, the state handed back each time, never raises, and every
state the bot hands back is JSON that reads back the same (so the web layer can store it).

Messages mix what opens and fills forms (reminders, dates, weather), reset words, follow-ups, junk and
long lines, so the fuzzer walks through open forms, follow-ups and topic changes. ``DIALOGUE_FUZZ_EXAMPLES``
sets the number of conversations (50 by default; CI runs 300)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.actions.reminders import MemoryReminderBook
from chatbot.dialogue.state import DialogueState
from chatbot.errors import InputError

EXAMPLES = int(os.environ.get("DIALOGUE_FUZZ_EXAMPLES", "50"))
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))
LINES = ["알림 설정해줘", "내일 오후 3시에 회의 있다고 알려줘", "치과 가기", "모레 아침 9시", "32일", "어제 3시",
         "취소", "됐어", "처음부터 다시", "부산 날씨 어때?", "그럼 서울은?", "모레는?", "아니 4일 뒤",
         "3일 뒤는 무슨 요일이야?", "1번", "첫 번째 거", "회의 알림 지워줘", "내 일정 보여줘", "방금 내가 뭐라고 했지?",
         "안녕", "ㅋㅋㅋㅋ", "🙂🙂", "12월 32일", "/help",
         "다음 주 말고 이번 주 금요일"]  # no forecast: it fits models for seconds (tests/chatbot/test_tool_actions.py)
TEXT = st.one_of(st.sampled_from(LINES), st.text(min_size=1, max_size=60),
                 st.builds(lambda a, b: f"{a} {b}", st.sampled_from(LINES), st.sampled_from(LINES)),
                 st.text(alphabet="가나다라마바사 0123456789월일시", min_size=1, max_size=1000))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_any_conversation_keeps_a_storable_state(bot, lines: list[str]) -> None:
    state, book = None, MemoryReminderBook()
    for line in lines:
        try:
            reply = bot.reply(line, {"now": NOW, "services": {"reminders": book, "action_timeout": 30.0}},
                              state=state)
        except InputError:
            continue  # empty or too long: a 4xx for the web layer, the state unchanged
        assert isinstance(reply.text, str) and reply.text
        stored = json.loads(json.dumps(reply.state, ensure_ascii=False))
        assert DialogueState.from_dict(stored).to_dict() == reply.state
        state = stored

"""The words of a message that fill a free-text slot (chatbot.dialogue.free_text)."""

from __future__ import annotations

import pytest

from chatbot.dialogue.free_text import free_text, residual
from chatbot.message import Entity


@pytest.mark.parametrize(("text", "cut", "expected"), [
    ("내일 오후 3시에 회의 있다고 알려줘", "내일 오후 3시", "회의 있다"),
    ("약 먹으라고 알려줘", None, "약 먹기"),
    ("운동하라고 알려줘", None, "운동하기"),
    ("엄마한테 전화하기 리마인드 해줘", None, "엄마한테 전화하기"),
    ("치과 예약 메모해 줘", None, "치과 예약"),
    ("회의 알림 지워줘", None, "회의"),
    ("알림 설정해줘", None, ""),
    ("알림 삭제해 줘", None, ""),
])
def test_free_text_drops_entities_requests_and_quotative_endings(text: str, cut: str | None, expected: str) -> None:
    entities = [Entity("time", cut, text.index(cut), text.index(cut) + len(cut))] if cut else []
    assert free_text(text, entities) == expected


@pytest.mark.parametrize(("text", "cut"), [("부산이요", "부산"), ("모레 아침 9시로 해줘", "모레 아침 9시"),
                                         ("서울", "서울")])
def test_a_bare_answer_leaves_nothing_but_polite_tails(text: str, cut: str) -> None:
    assert residual(text, [Entity("x", cut, 0, len(cut))]) == ""


def test_a_sentence_is_not_bare() -> None:
    assert residual("부산 맛집 추천해줘", [Entity("region", "부산", 0, 2)]) != ""

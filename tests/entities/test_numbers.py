"""``number_extractor``: digits and Korean numerals, alone (number) or with a unit (quantity), exact offsets;
words that merely contain numeral syllables are left alone; it never raises."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.entities import resolve_overlaps
from chatbot.entities.numbers import NumberExtractor
from chatbot.entities.time import TimeExtractor
from chatbot.message import Entity, Message
from chatbot.nlp.components import Normalizer


def found(text: str) -> list[tuple]:
    message = Normalizer().process(Message(text=text))
    return [(e.type, e.text, e.start, e.end, e.value) for e in NumberExtractor().extract(message)]


def quantity(text: str, start: int, value: float, unit: str) -> tuple:
    return ("quantity", text, start, start + len(text), {"value": value, "unit": unit})


@pytest.mark.parametrize(("text", "expected"), [
    # digits
    ("10000 넘었어", [("number", "10000", 0, 5, 10000)]),
    ("1,234원입니다", [quantity("1,234원", 0, 1234, "KRW")]),
    ("지금 1.5 정도야", [("number", "1.5", 3, 6, 1.5)]),
    ("영하 -3도래", [quantity("-3도", 3, -3, "degree")]),
    ("3개국 여행", [("number", "3", 0, 1, 3)]),  # 3개 goes on with 국: not the counter 개
    # digits with units, glued or after a space
    ("1.5킬로 빠졌어", [quantity("1.5킬로", 0, 1.5, "kg")]),
    ("3시간 걸려요", [quantity("3시간", 0, 3, "hour")]),
    ("5분만 기다려", [quantity("5분", 0, 5, "minute")]),
    ("커피 2잔 주세요", [quantity("2잔", 3, 2, "잔")]),
    ("오늘 10km 뛰었어", [quantity("10km", 3, 10, "km")]),
    ("감자 3 kg 샀어", [quantity("3 kg", 3, 3, "kg")]),
    ("50% 할인해요", [quantity("50%", 0, 50, "%")]),
    ("2박 3일 여행", [quantity("2박", 0, 2, "박"), quantity("3일", 3, 3, "day")]),
    ("3만 5천 원이요", [quantity("3만 5천 원", 0, 35000, "KRW")]),
    ("1.5만 원", [quantity("1.5만 원", 0, 15000, "KRW")]),
    ("3억 5천만 원", [quantity("3억 5천만 원", 0, 350_000_000, "KRW")]),
    # Sino-Korean numerals
    ("삼만 오천 원이에요", [quantity("삼만 오천 원", 0, 35000, "KRW")]),
    ("삼만오천", [("number", "삼만오천", 0, 4, 35000)]),
    ("이십 개 주세요", [quantity("이십 개", 0, 20, "개")]),
    ("나이는 이십", [("number", "이십", 4, 6, 20)]),
    ("백 원만 빌려줘", [quantity("백 원", 0, 100, "KRW")]),
    ("만 원이면 돼", [quantity("만 원", 0, 10000, "KRW")]),
    ("천이백 명이 왔어", [quantity("천이백 명", 0, 1200, "명")]),
    ("이십오", [("number", "이십오", 0, 3, 25)]),
    # native numerals
    ("사과 하나 주세요", [("number", "하나", 3, 5, 1)]),
    ("둘이 가자", [("number", "둘", 0, 1, 2)]),
    ("일곱", [("number", "일곱", 0, 2, 7)]),
    ("서른다섯이야", [("number", "서른다섯", 0, 4, 35)]),
    ("두 개 주세요", [quantity("두 개", 0, 2, "개")]),
    ("세 명이요", [quantity("세 명", 0, 3, "명")]),
    ("두개만", [quantity("두개", 0, 2, "개")]),
    ("스무 살이야", [quantity("스무 살", 0, 20, "살")]),
    ("열두 개", [quantity("열두 개", 0, 12, "개")]),
    ("한 번만 더", [quantity("한 번", 0, 1, "번")]),
    # offsets are into the normalised text
    ("  커피   두    잔", [quantity("두 잔", 3, 2, "잔")]),
])
def test_numbers_and_quantities(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize("text", [
    "이거 뭐야", "사과 먹을래", "오늘 뭐 해", "일어나기 싫어", "천천히 말해 줘", "만나서 반가워", "백화점 가자",
    "십자가 목걸이", "구름이 많네", "삼겹살 먹자", "육개장 먹을래", "칠판 지워", "팔다 남은 거", "한국 사람이야",
    "세상에", "네 알겠어요", "두부 사 와", "하나님", "열이 나요", "쉰 목소리", "이분이 누구야", "사원 모집",
    "구분해 줘", "만세", "만점 받았어", "천만에요", "이천 가자", "S22 샀어", "mp3 파일", "3D 영화", "세 시에 봐",
    "이십세기", "오십견",
])
def test_words_that_contain_numeral_syllables_are_not_numbers(text):
    assert found(text) == []


def test_values_are_ints_when_whole_and_floats_otherwise():
    values = [e[4] for e in found("1.0 그리고 2.5 그리고 3")]
    assert values == [1, 2.5, 3] and [type(v) for v in values] == [int, float, int]


def test_time_extractor_listed_first_wins_the_tie_and_longer_times_beat_numbers():
    message = Normalizer().process(Message(text="3일에 보고 3일 뒤에 또 3시간 놀자"))
    for stage in (TimeExtractor(), NumberExtractor()):  # the order the docs ask for
        message = stage.process(message)
    assert [(e.type, e.text) for e in message.entities] == [("time", "3일"), ("time", "3일 뒤"),
                                                          ("quantity", "3시간")]


def test_the_overlap_rule_keeps_the_longer_quantity_over_a_number_inside_it():
    kept = resolve_overlaps([Entity("number", "3", 0, 1, 3), Entity("quantity", "3kg", 0, 3, {"value": 3})])
    assert [e.text for e in kept] == ["3kg"]


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.text(max_size=200),
    st.text(alphabet="0123456789,.- %만억조천백십일이삼사오육칠팔구하나둘셋두세네한스무열개원명kgm", max_size=300),
    st.text(min_size=900, max_size=1000),
    st.text(alphabet="0123456789", min_size=1, max_size=400),
    st.lists(st.sampled_from(["삼만", " ", "오천", "원", "1,2", ".", "-", "🙂", "\x00", "\n", "개", "두", "kg"]),
             max_size=80).map("".join),
))
def test_it_never_raises(text):
    message = Normalizer().process(Message(text=text))
    for entity in NumberExtractor().extract(message):
        assert 0 <= entity.start < entity.end <= len(message.normalized)
        assert message.normalized[entity.start:entity.end] == entity.text


@pytest.mark.parametrize("text, expected", [
    ("두통이 심해", []),  # 두통 (headache) is a word, not "two 통"
    ("한도가 얼마죠", []),  # 한도 (limit)
    ("약 먹어야 하나", []),  # the ending 하나 of a question
    ("기운이 하나도 없어", []),  # "not at all"
    ("둘도 없는 친구야", []),
    ("농담 하나 해 주세요", [("number", "하나", 1)]),
    ("맥주 한잔 할까?", [("quantity", "한잔", {"value": 1, "unit": "잔"})]),
    ("친구 셋이랑 먹을 거야", [("number", "셋", 3)]),
])
def test_kiwi_tags_decide_what_the_syllables_cannot(text, expected):
    from chatbot.registry import create

    stages = [create("normalizer"), create("tokenizer"), NumberExtractor()]
    message = Message(text=text)
    for stage in stages:
        message = stage.process(message)
    assert [(e.type, e.text, e.value) for e in message.entities] == expected

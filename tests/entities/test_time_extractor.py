"""``time_extractor``: the Entity it writes, the "now" it counts from, its one patch, and that it never raises."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from korean_datetime import parse_all

from chatbot.entities.time import TimeExtractor
from chatbot.message import Entity, Message
from chatbot.nlp.components import Normalizer

SEOUL = ZoneInfo("Asia/Seoul")
MONDAY = datetime(2026, 12, 7, 10, 0)  # naive: read as Asia/Seoul


def extract(text: str, now: object = MONDAY, **params) -> list[Entity]:
    message = Normalizer().process(Message(text=text, context={"now": now} if now is not None else {}))
    return TimeExtractor(**params).extract(message)


def test_an_entity_with_offsets_into_the_normalized_text_and_an_iso_value():
    message = Normalizer().process(Message(text="  음   모레 저녁에\u200b 시간 돼?", context={"now": MONDAY}))
    [entity] = TimeExtractor().process(message).entities
    assert message.normalized == "음 모레 저녁에 시간 돼?"
    assert (entity.type, entity.text, entity.start, entity.end) == ("time", "모레 저녁", 2, 7)
    assert message.normalized[entity.start:entity.end] == entity.text
    assert entity.value == {"start": "2026-12-09T18:00:00+09:00", "end": "2026-12-09T21:00:00+09:00",
                            "grain": "hour"}
    assert entity.source == "time_extractor"


def test_a_range_is_one_entity_from_its_start_to_its_end():
    [entity] = extract("저녁 7시부터 9시까지 영업해요")
    assert entity.text == "저녁 7시부터 9시까지"
    assert entity.value == {"start": "2026-12-07T19:00:00+09:00", "end": "2026-12-07T21:00:00+09:00",
                            "grain": "hour"}


def test_several_expressions_in_one_message():
    assert [e.text for e in extract("내일 3시에 보고 모레 5시에 또 보자")] == ["내일 3시", "모레 5시"]


def test_now_in_another_zone_is_read_in_seoul():
    # 2026-12-06 20:00 UTC is Monday 05:00 in Seoul: "내일" is Tuesday there.
    [entity] = extract("내일 봐", now=datetime(2026, 12, 6, 20, 0, tzinfo=UTC))
    assert entity.value["start"] == "2026-12-08T00:00:00+09:00"


def test_the_timezone_parameter_sets_the_zone_of_the_values():
    [entity] = extract("내일 봐", timezone="UTC")
    assert entity.value["start"] == "2026-12-08T00:00:00+00:00"


def test_without_a_now_it_counts_from_the_current_time_in_its_zone():
    before = datetime.now(SEOUL).date()
    [entity] = extract("오늘 뭐 해?", now=None)
    after = datetime.now(SEOUL).date()  # the same day, unless midnight passed meanwhile
    assert entity.value["start"] in {f"{day.isoformat()}T00:00:00+09:00" for day in (before, after)}


def test_an_unknown_timezone_is_rejected_at_once():
    with pytest.raises(Exception, match="Nowhere"):
        TimeExtractor(timezone="Nowhere/Nothing")


@pytest.mark.parametrize(("text", "expression", "start", "end"), [
    ("정오에 만나요", "정오", "2026-12-07T12:00:00+09:00", "2026-12-07T13:00:00+09:00"),
    ("내일 자정까지 내", "내일 자정", "2026-12-09T00:00:00+09:00", "2026-12-09T01:00:00+09:00"),
])
def test_noon_and_midnight_are_hours_like_12_oclock(text, expression, start, end):
    # The patch: korean-datetime gives them as one minute, unlike "낮 12시" / "밤 12시".
    [raw] = parse_all(text, now=MONDAY.replace(tzinfo=SEOUL))
    assert (raw.text, raw.grain.value) == (expression, "minute")
    [entity] = extract(text)
    assert entity.value == {"start": start, "end": end, "grain": "hour"}
    [twelve] = extract(text.replace("정오", "낮 12시").replace("자정", "밤 12시"))
    assert twelve.value == entity.value


def test_a_minute_before_noon_stays_a_minute():
    [entity] = extract("정오 10분 전에 와")
    assert entity.value["grain"] == "minute" and entity.value["start"].startswith("2026-12-07T11:50")


def test_time_beats_the_number_inside_it_by_the_overlap_rule():
    message = Message(text="3일 뒤에 봐", normalized="3일 뒤에 봐", context={"now": MONDAY})
    message.entities = [Entity("quantity", "3일", 0, 2, {"value": 3, "unit": "일"}, "number_extractor")]
    assert [e.type for e in TimeExtractor().process(message).entities] == ["time"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.text(max_size=200),
    st.text(alphabet="0123456789 .,:~-/시분일월년주", max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=900, max_size=1000),
    st.lists(st.sampled_from(["내일", "3시", "부터", "까지", "~", "오후", "🙂", "\x00", "\n", "12월", "32일", "반",
                              "다음 주", "추석", "99999년", "-", "25시"]), max_size=60).map("".join),
))
def test_it_never_raises(text):
    for entity in extract(text):
        assert 0 <= entity.start < entity.end <= len(Normalizer().process(Message(text=text)).normalized)

"""The entity contract: the overlap rule, offsets back into the text as sent, and replies that carry entities."""

from __future__ import annotations

from chatbot.entities import add_entities, resolve_overlaps, to_original
from chatbot.message import Entity, Message
from chatbot.nlp.normalize import align, normalize


def _e(type_: str, start: int, end: int, source: str = "a") -> Entity:
    return Entity(type_, "x" * (end - start), start, end, None, source)


def test_the_longer_span_wins_an_overlap():
    number, time = _e("number", 3, 4, "numbers"), _e("time", 0, 6, "time")
    assert resolve_overlaps([number, time]) == [time]


def test_of_two_spans_of_one_length_the_one_found_first_wins():
    lookup, tagger = _e("region", 0, 2, "lookup"), _e("LC", 0, 2, "crf")
    assert resolve_overlaps([lookup, tagger]) == [lookup]
    assert resolve_overlaps([tagger, lookup]) == [tagger]


def test_spans_that_do_not_overlap_are_all_kept_in_text_order():
    a, b = _e("region", 5, 7), _e("time", 0, 2)
    assert resolve_overlaps([a, b]) == [b, a]
    assert resolve_overlaps([_e("t", 2, 2)]) == []  # an empty span is nothing


def test_a_later_stage_adds_to_what_earlier_ones_found():
    message = Message(text="t")
    add_entities(message, [_e("time", 0, 6, "time")])
    add_entities(message, [_e("number", 3, 4, "numbers"), _e("region", 7, 9, "lookup")])
    assert [(e.type, e.source) for e in message.entities] == [("time", "time"), ("region", "lookup")]


def test_align_maps_normalized_characters_back_to_the_original():
    original = "ｓｅｏｕｌ  서울에ㅋㅋㅋㅋ 가요\u200b!!!!"
    normalized = normalize(original)
    positions = align(original, normalized)
    assert len(positions) == len(normalized) + 1
    for i, char in enumerate(normalized):
        folded = original[positions[i]].translate({cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)})
        assert folded == char or (char == " " and original[positions[i]].isspace())
    assert positions == sorted(positions)


def test_entities_move_into_the_text_as_sent():
    original = "내일    서울에서  봐요"
    normalized = normalize(original)  # "내일 서울에서 봐요"
    start = normalized.index("서울")
    moved = to_original([Entity("region", "서울", start, start + 2, "서울", "lookup")], original, normalized)
    assert (moved[0].start, moved[0].end, moved[0].text) == (6, 8, "서울")
    assert original[moved[0].start:moved[0].end] == "서울"


def test_entity_to_dict_fills_the_value_with_the_text_when_none_was_given():
    assert Entity("food", "라면", 0, 2, None, "crf").to_dict() == {
        "type": "food", "text": "라면", "start": 0, "end": 2, "value": "라면", "source": "crf"}


def test_a_tagger_learns_from_marked_files_only_and_not_the_types_other_stages_find():
    from chatbot.entities import training_rows

    marked = Message(text="내일 부산", source="a.yaml:3",
                     gold_entities=[Entity("time", "내일", 0, 2), Entity("region", "부산", 3, 5)])
    unmarked_same_file = Message(text="안녕", source="a.yaml:4")
    intent_file = Message(text="배고파", source="b.yaml:9")
    rows = training_rows([marked, unmarked_same_file, intent_file], ignore_types=["time"])
    assert [m.text for m in rows] == ["내일 부산", "안녕"]
    assert [e.type for e in rows[0].gold_entities] == ["region"]
    assert [e.type for e in marked.gold_entities] == ["time", "region"]  # the corpus row is left as it was
    built_in_code = [Message(text="부산", gold_entities=[Entity("region", "부산", 0, 2)]), Message(text="안녕")]
    assert len(training_rows(built_in_code)) == 2

"""Spans to BIO tags over units, and back."""

from chatbot.entities.tagging import spans_to_tags, tags_to_spans
from chatbot.message import Entity

TEXT = "내일 서울에 가"
MORPHEMES = [(0, 2), (3, 5), (5, 6), (7, 8)]  # 내일 / 서울 / 에 / 가


def test_spans_become_tags_and_come_back():
    entities = [Entity("time", "내일", 0, 2), Entity("region", "서울", 3, 5)]
    tags = spans_to_tags(MORPHEMES, entities)
    assert tags == ["B-time", "B-region", "O", "O"]
    assert tags_to_spans(MORPHEMES, tags) == [("time", 0, 2), ("region", 3, 5)]


def test_character_units_give_multi_unit_spans():
    units = [(i, i + 1) for i in range(len(TEXT))]
    tags = spans_to_tags(units, [Entity("region", "서울", 3, 5)])
    assert tags[3:6] == ["B-region", "I-region", "O"]
    assert tags_to_spans(units, tags) == [("region", 3, 5)]


def test_an_entity_inside_one_unit_tags_that_unit():
    assert spans_to_tags([(0, 3)], [Entity("region", "서울", 0, 2)]) == ["B-region"]


def test_an_i_tag_after_o_or_another_type_starts_a_span_and_bioes_reads_alike():
    units = [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert tags_to_spans(units, ["O", "I-a", "I-b", "O"]) == [("a", 1, 2), ("b", 2, 3)]
    assert tags_to_spans(units, ["S-a", "B-a", "E-a", "S-a"]) == [("a", 0, 1), ("a", 1, 3), ("a", 3, 4)]

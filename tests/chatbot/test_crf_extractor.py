"""The CRF entity tagger: learns typed spans from a few annotated sentences, saves and loads, and stays
quiet without annotations."""

from __future__ import annotations

import pytest

from chatbot.entities import gold_in_normalized
from chatbot.entities.crf import CrfEntityExtractor, unit_features, units
from chatbot.message import Entity, Message, TrainingData
from tests.chatbot.conftest import prepare

pytest.importorskip("pycrfsuite")

CITIES = ["부산", "서울", "대전", "광주", "제주"]
TEMPLATES = ["{}에 가고 싶어", "{} 날씨 알려줘", "내일 {}에서 만나", "{}로 여행 갈래", "{} 맛집 추천해 줘"]


def annotated(text: str, city: str) -> Message:
    start = text.index(city)
    return Message(text=text, gold_entities=[Entity("CITY", city, start, start + len(city))])


@pytest.fixture(scope="module")
def trained(front) -> CrfEntityExtractor:
    rows = [annotated(t.format(c), c) for t in TEMPLATES for c in CITIES]
    rows += [Message(text=t) for t in ["그냥 심심해", "오늘 기분 좋아", "뭐 하고 놀까"]]
    data = TrainingData(prepare(front, rows), lookups={"CITY": {"서울시": "서울", "서울": "서울"}})
    return CrfEntityExtractor(max_iterations=50).fit(data)


def found(extractor, front, text: str) -> list[tuple[str, str, int, int]]:
    message = extractor.process(prepare(front, [Message(text=text)])[0])
    return [(e.type, e.text, e.start, e.end) for e in message.entities]


def test_it_finds_the_entities_it_was_taught_with_particles(trained, front):
    assert found(trained, front, "부산에 가고 싶어") == [("CITY", "부산", 0, 2)]
    assert found(trained, front, "내일 대전에서 만나") == [("CITY", "대전", 3, 5)]
    assert found(trained, front, "그냥 심심해") == []
    assert trained.types() == ["CITY"]


def test_offsets_point_into_the_normalized_text(trained, front):
    message = trained.process(prepare(front, [Message(text="  부산에   가고   싶어")])[0])
    assert [(e.text, message.normalized[e.start:e.end]) for e in message.entities] == [("부산", "부산")]
    assert message.entities[0].source == "crf_entity_extractor"


def test_a_lookup_table_gives_the_canonical_value(trained, front):
    message = trained.process(prepare(front, [Message(text="서울 날씨 알려줘")])[0])
    assert [(e.text, e.value) for e in message.entities] == [("서울", "서울")]
    message = trained.process(prepare(front, [Message(text="부산 날씨 알려줘")])[0])
    assert [(e.text, e.value) for e in message.entities] == [("부산", None)]


def test_save_and_load_round_trip(trained, front, tmp_path):
    trained.save(tmp_path / "crf")
    assert (tmp_path / "crf" / "crf.model").is_file()
    loaded = CrfEntityExtractor.load(tmp_path / "crf", dict(trained.params))
    for text in ["광주로 여행 갈래", "제주 맛집 추천해 줘", "오늘 기분 좋아"]:
        assert found(loaded, front, text) == found(trained, front, text)
    assert found(loaded, front, "광주로 여행 갈래") == [("CITY", "광주", 0, 2)]


def test_no_annotations_learn_nothing_and_find_nothing(front, tmp_path):
    data = TrainingData(prepare(front, [Message(text="부산에 가고 싶어", gold_intent="travel")]))
    extractor = CrfEntityExtractor().fit(data)
    assert extractor.model_ is None
    assert found(extractor, front, "부산에 가고 싶어") == []
    extractor.save(tmp_path / "empty")
    assert found(CrfEntityExtractor.load(tmp_path / "empty", {}), front, "부산에 가고 싶어") == []


def test_gold_spans_move_into_the_normalized_frame(front):
    message = Message(text="아  아  부산에 가자", gold_entities=[Entity("CITY", "부산", 6, 8)])
    message = prepare(front, [message])[0]
    moved = gold_in_normalized(message)
    assert [(e.text, message.normalized[e.start:e.end]) for e in moved] == [("부산", "부산")]


def test_features_come_one_per_non_space_character(front):
    message = prepare(front, [Message(text="부산에 가자")])[0]
    features = unit_features(message)
    assert len(features) == len(units(message)) == 5
    assert "p=NNP" in features[0] and "wpos=B" in features[0] and "c=부" in features[0]


def test_bioes_marks_single_units_and_span_ends():
    from chatbot.entities.tagging import tags_to_spans, to_bioes

    bio = ["B-A", "I-A", "I-A", "O", "B-B", "B-A", "I-A"]
    assert to_bioes(bio) == ["B-A", "I-A", "E-A", "O", "S-B", "B-A", "E-A"]
    units_ = [(i, i + 1) for i in range(len(bio))]
    assert tags_to_spans(units_, to_bioes(bio)) == tags_to_spans(units_, bio)


def test_gazetteer_marks_known_entity_strings():
    from chatbot.entities.crf import build_gazetteer, gazetteer_marks

    known = [Entity("CITY", "부산", 0, 2), Entity("ORG", "부산시청", 0, 4), Entity("PS", "김", 0, 1)]
    gazetteer = build_gazetteer(known)
    assert gazetteer == {"부산": ["CITY"], "부산시청": ["ORG"]}  # one-character strings are left out
    marks = gazetteer_marks("부산시청에", gazetteer)
    assert marks[0] == ["gCITY=B", "gORG=B"] and marks[1] == ["gCITY=E", "gORG=I"] and marks[3] == ["gORG=E"]
    assert 4 not in marks


def test_eojeol_features_describe_the_whole_eojeol(front):
    from chatbot.entities.crf import EOJEOL_GROUPS

    message = prepare(front, [Message(text="부산시청에서 만나자 2024년")])[0]
    plain = unit_features(message)
    rich = unit_features(message, eojeol=EOJEOL_GROUPS)
    assert len(rich) == len(plain) == len(units(message))
    first = rich[0]  # 부 of 부산시청에서: stem 부산시청, tail 에서
    assert "wtail=에서/JKB" in first and "ss2=시청" in first and "ss1=청" in first and "sp1=부" in first
    assert "wd=0/4" in first and "sd=3" in first and "wshape=H" in first
    assert any(f.startswith("wps=") and f.endswith("+JKB") for f in first)
    assert "-1w=none" in first and any(f.startswith("1wtail=") for f in first)  # no eojeol before; one after
    assert "wshape=DH" in rich[-1]  # 2024년
    assert not any(f.startswith(("wtail=", "ss2=", "wd=")) for f in plain[0])  # off unless asked


def test_eojeol_groups_are_checked_and_read_from_a_comma_list():
    assert CrfEntityExtractor(eojeol="tail, stemsuf").params["eojeol"] == ["tail", "stemsuf"]
    with pytest.raises(ValueError, match="unknown eojeol feature groups"):
        CrfEntityExtractor(eojeol=["tail", "suffixes"])


def test_eojeol_features_train_and_tag(front):
    rows = [annotated(t.format(c), c) for t in TEMPLATES for c in CITIES]
    extractor = CrfEntityExtractor(max_iterations=50, eojeol=["tail", "stemsuf"])
    extractor.fit(TrainingData(prepare(front, rows)))
    assert found(extractor, front, "부산에 가고 싶어") == [("CITY", "부산", 0, 2)]



def test_lookup_table_names_are_gazetteer_features(front):
    rows = prepare(front, [annotated(t.format(c), c) for t in TEMPLATES for c in CITIES])
    extractor = CrfEntityExtractor(max_iterations=5)
    extractor.fit(TrainingData(rows, lookups={"CITY": {"목포": "목포", "목포시": "목포"}}))
    # the tables' names join the training strings in the gazetteer, and mark a message's characters
    assert extractor.gazetteer_["목포시"] == ["CITY"] and extractor.gazetteer_["부산"] == ["CITY"]
    message = prepare(front, [Message(text="목포에 가자")])[0]
    assert "gCITY=B" in extractor.features(message)[0] and "gCITY=E" in extractor.features(message)[1]

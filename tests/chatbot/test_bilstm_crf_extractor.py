"""The BiLSTM-CRF entity extractor: it learns entities from a few annotated sentences and finds them in new
ones at the right offsets (particles attached), saves and loads to the same predictions, and with no
annotations finds nothing."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from chatbot.entities import gold_in_normalized  # noqa: E402
from chatbot.entities.bilstm_crf import BiLstmCrfEntityExtractor, morpheme_tags  # noqa: E402
from chatbot.message import Entity, Message, TrainingData  # noqa: E402
from chatbot.nlp.components import MorphTokenizer, Normalizer  # noqa: E402

# Written for this test: places and dishes in several positions, most with a particle attached.
SENTENCES = [
    ("서울에 가고 싶어", [("region", "서울")]),
    ("부산에서 친구를 만났어", [("region", "부산")]),
    ("내일 대구로 출발해", [("region", "대구")]),
    ("제주도 날씨 어때", [("region", "제주도")]),
    ("강릉에 바다 보러 가자", [("region", "강릉")]),
    ("주말에 부산 여행 갈래", [("region", "부산")]),
    ("서울까지 얼마나 걸려", [("region", "서울")]),
    ("대구에서 살아요", [("region", "대구")]),
    ("김치찌개 먹고 싶다", [("food", "김치찌개")]),
    ("떡볶이 좋아해?", [("food", "떡볶이")]),
    ("점심은 라면으로 하자", [("food", "라면")]),
    ("비빔밥 한 그릇 주세요", [("food", "비빔밥")]),
    ("저녁에 김치찌개를 끓였어", [("food", "김치찌개")]),
    ("라면 끓여 먹을까", [("food", "라면")]),
    ("부산에서 떡볶이 먹었어", [("region", "부산"), ("food", "떡볶이")]),
    ("서울 가서 비빔밥 먹자", [("region", "서울"), ("food", "비빔밥")]),
    ("제주도에서 라면 먹었다", [("region", "제주도"), ("food", "라면")]),
    ("강릉 가는 기차 있어?", [("region", "강릉")]),
    ("안녕하세요", []),
    ("오늘 기분 좋아", []),
    ("뭐 하고 있어", []),
    ("고마워요 잘 자", []),
]
LOOKUPS = {"food": {"김치찌개": "김치찌개", "김찌": "김치찌개", "떡볶이": "떡볶이", "라면": "라면", "비빔밥": "비빔밥"}}
PARAMS = {"char_embedding_size": 16, "pos_embedding_size": 8, "hidden_size": 32, "min_count": 1, "epochs": 30,
          "batch_size": 16, "learning_rate": 0.03, "warmup_steps": 0, "patience": 30, "device": "cpu",
          "progress": False, "seed": 0}
STAGES = [Normalizer(), MorphTokenizer(backend="kiwi")]


def annotated(text: str, spans: list[tuple[str, str]]) -> Message:
    return Message(text=text, gold_entities=[Entity(t, s, text.index(s), text.index(s) + len(s)) for t, s in spans])


def prepared(messages: list[Message]) -> list[Message]:
    for stage in STAGES:
        messages = stage.process_batch(messages)
    return messages


def found(extractor: BiLstmCrfEntityExtractor, text: str) -> list[tuple[str, str, int, int, object]]:
    message = extractor.process(prepared([Message(text=text)])[0])
    return [(e.type, e.text, e.start, e.end, e.value) for e in message.entities]


@pytest.fixture(scope="module")
def trained() -> BiLstmCrfEntityExtractor:
    data = TrainingData(prepared([annotated(t, s) for t, s in SENTENCES]), lookups=LOOKUPS)
    return BiLstmCrfEntityExtractor(**PARAMS).fit(data)


def test_it_finds_learnt_entities_in_new_sentences_without_their_particles(trained):
    assert found(trained, "내일 부산에 가요") == [("region", "부산", 3, 5, None)]
    assert found(trained, "대구에서 김치찌개 먹자") == [("region", "대구", 0, 2, None),
                                                     ("food", "김치찌개", 5, 9, "김치찌개")]
    assert found(trained, "오늘 기분 어때") == []
    assert trained.types() == ["food", "region"]
    assert all(e.source == "bilstm_crf_entity_extractor" for e in
               trained.process(prepared([Message(text="서울에 가자")])[0]).entities)


def test_save_and_load_give_the_same_predictions(trained, tmp_path):
    trained.save(tmp_path / "tagger")
    loaded = BiLstmCrfEntityExtractor.load(tmp_path / "tagger", dict(PARAMS))
    probes = ["내일 부산에 가요", "대구에서 김치찌개 먹자", "제주도 가서 떡볶이 먹을래", "안녕"]
    assert [found(loaded, p) for p in probes] == [found(trained, p) for p in probes]
    assert next(loaded.model_.parameters()).device.type == "cpu"


def test_without_annotations_it_learns_and_finds_nothing(tmp_path):
    data = TrainingData(prepared([Message(text=t) for t, _ in SENTENCES]))
    extractor = BiLstmCrfEntityExtractor(**PARAMS).fit(data)
    assert extractor.model_ is None and found(extractor, "부산에 가요") == []
    extractor.save(tmp_path / "empty")
    assert found(BiLstmCrfEntityExtractor.load(tmp_path / "empty", dict(PARAMS)), "부산에 가요") == []


def test_gold_spans_move_into_the_normalized_text():
    message = prepared([annotated("와   부산ㅋㅋㅋㅋ 가자", [("region", "부산")])])[0]
    assert message.normalized == "와 부산ㅋㅋ 가자"
    assert [(e.start, e.end, e.text) for e in gold_in_normalized(message)] == [(2, 4, "부산")]


def test_each_character_carries_its_morpheme_tag_and_position():
    message = prepared([Message(text="부산에 가")])[0]
    units = [(i, i + 1) for i in range(len(message.normalized))]
    assert morpheme_tags(message, units) == ["B-NNP", "I-NNP", "B-JKB", "<sp>", "B-VV"]

"""``lookup_extractor``: the corpus's lookup tables found on Kiwi morphemes, with canonical values."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.entities.lookup import LookupExtractor
from chatbot.message import Message, Token, TrainingData
from chatbot.nlp.components import MorphTokenizer, Normalizer
from chatbot.pipeline import Pipeline
from chatbot.registry import create

LOOKUPS = {
    "region": {"서울": "서울", "서울시": "서울", "서울 특별시": "서울", "부산": "부산", "부산광역시": "부산"},
    "food": {"김치찌개": "김치찌개", "김치": "김치", "떡볶이": "떡볶이"},
}
NORMALIZER, TOKENIZER = Normalizer(), MorphTokenizer()


@pytest.fixture(scope="module")
def extractor() -> LookupExtractor:
    return LookupExtractor().fit(TrainingData([], lookups=LOOKUPS))


def found(extractor: LookupExtractor, text: str) -> list[tuple[str, str, str]]:
    message = extractor.process(TOKENIZER.process(NORMALIZER.process(Message(text))))
    for e in message.entities:
        assert message.normalized[e.start:e.end] == e.text and e.source == "lookup_extractor"
    return [(e.type, e.text, e.value) for e in message.entities]


@pytest.mark.parametrize(("text", "expected"), [
    ("서울에 가고 싶어", [("region", "서울", "서울")]),  # a particle does not block the match
    ("부산에서 만나", [("region", "부산", "부산")]),
    ("서울시에서 봐", [("region", "서울시", "서울")]),  # a synonym gives its canonical value
    ("부산광역시에 살아", [("region", "부산광역시", "부산")]),
])
def test_particles_do_not_block_and_synonyms_give_the_canonical_value(extractor, text, expected):
    assert found(extractor, text) == expected


def test_an_entry_of_several_morphemes_matches_with_or_without_the_space(extractor):
    # Kiwi reads 서울특별시 as 서울 + 특별시: the entry "서울 특별시" covers both, longer than 서울 alone.
    assert found(extractor, "서울특별시 날씨") == [("region", "서울특별시", "서울")]
    assert found(extractor, "서울 특별시 날씨") == [("region", "서울 특별시", "서울")]


def test_an_entry_matches_the_surface_of_morphemes_the_tokenizer_split(extractor):
    message = TOKENIZER.process(NORMALIZER.process(Message("김치찌개 먹자")))
    # as if the tokenizer had split 김치찌개 into 김치 + 찌개
    message.tokens = [Token("김치", "NNG", 0, 2), Token("찌개", "NNG", 2, 4), *message.tokens[1:]]
    [entity] = extractor.process(message).entities
    assert (entity.text, entity.value) == ("김치찌개", "김치찌개")  # the longest entry, not 김치


def test_a_match_covers_whole_morphemes(extractor):
    assert found(extractor, "서울대 다녀") == []  # 서울 is not found inside the one morpheme 서울대
    assert found(extractor, "김치찌개랑 김치 먹자") == [("food", "김치찌개", "김치찌개"), ("food", "김치", "김치")]


def test_every_occurrence_is_found_left_to_right(extractor):
    assert found(extractor, "부산 떡볶이랑 서울 떡볶이") == [
        ("region", "부산", "부산"), ("food", "떡볶이", "떡볶이"),
        ("region", "서울", "서울"), ("food", "떡볶이", "떡볶이")]


def test_case_and_full_width_forms_do_not_matter():
    extractor = LookupExtractor().fit(TrainingData([], lookups={"brand": {"KTX": "KTX", "ktx 산천": "KTX"}}))
    assert found(extractor, "ｋｔｘ 타고 가") == [("brand", "ktx", "KTX")]


def test_an_unfitted_or_empty_extractor_finds_nothing():
    assert found(LookupExtractor(), "서울에 가") == []
    assert found(LookupExtractor().fit(TrainingData([])), "서울에 가") == []


def test_saved_and_loaded_it_finds_the_same(extractor, tmp_path: Path):
    extractor.save(tmp_path / "lookup")
    loaded = LookupExtractor.load(tmp_path / "lookup", {})
    assert loaded.types() == ["food", "region"]
    assert found(loaded, "서울시에서 김치찌개") == found(extractor, "서울시에서 김치찌개") == [
        ("region", "서울시", "서울"), ("food", "김치찌개", "김치찌개")]


def test_registered_and_trained_in_a_pipeline_from_the_corpus_tables(tiny_corpus, tmp_path):
    from chatbot.corpus import load_corpus

    assert isinstance(create("lookup_extractor"), LookupExtractor)
    steps = [{"name": "normalizer"}, {"name": "tokenizer"}, {"name": "lookup_extractor"}]
    pipeline = Pipeline.from_config({"pipeline": steps})
    pipeline.fit(load_corpus([tiny_corpus("yaml")]))  # the tiny corpus declares region: 서울 (서울시), 부산
    [message] = pipeline.process_batch([Message("서울시 날씨 어때")])
    assert [(e.type, e.value) for e in message.entities] == [("region", "서울")]
    loaded = Pipeline.load(pipeline.save(tmp_path / "model"))
    assert [(e.text, e.value) for e in loaded.process(Message("부산에 가")).entities] == [("부산", "부산")]

"""Fuzzing every entity extractor: whatever a user types, an extractor raises nothing and every entity
it returns is a well-formed span of the text it read, and of the text as sent once moved back.

The extractors are found at test time: every component in ``chatbot.registry.COMPONENTS`` whose class
subclasses ``EntityExtractor`` (so extractors added later are covered without touching this file), plus
the tests' own stub. Each is fitted on a tiny annotated corpus behind the stages it needs (mecab for
speed), with small sizes for the parameters that make a network slow. ``ENTITY_FUZZ_EXAMPLES`` sets the
messages per extractor (1,000 by default). A torch tagger (a component with a ``device``) gets a fifth of
them: pytorch-crf decodes one character at a time in Python, 20-40 ms for a 1,000-character line, which
made 1,000 messages cost minutes; the CPU extractors of the default pipeline get them all."""

from __future__ import annotations

import json
import os

import pytest
from entity_stubs import STUB
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.entities import EntityExtractor, to_original
from chatbot.errors import InputError
from chatbot.message import Entity, Message, TrainingData
from chatbot.message_input import check_message
from chatbot.pipeline import Pipeline
from chatbot.registry import COMPONENTS, component_class

EXAMPLES = int(os.environ.get("ENTITY_FUZZ_EXAMPLES", "1000"))
# The stages an extractor may need before it, in pipeline order.
PREFIX = [{"name": "normalizer"}, {"name": "tokenizer", "params": {"backend": "mecab"}},
          {"name": "lemmatizer"}, {"name": "stopwords"}]
# Small values for the parameters that make a trained tagger slow, where an extractor has them.
SMALL = {"epochs": 1, "max_epochs": 1, "hidden_size": 8, "embedding_size": 8, "embedding_dim": 8,
         "batch_size": 8, "progress": False, "device": "cpu", "max_iterations": 5}


def extractor_names() -> list[str]:
    names = []
    for name in COMPONENTS:
        try:
            cls = component_class(name)
        except ImportError:  # an optional dependency is missing: nothing to fuzz
            continue
        if issubclass(cls, EntityExtractor):
            names.append(name)
    return [*names, STUB]


def annotated(text: str, *spans: tuple[str, str]) -> Message:
    gold = [Entity(type_, word, text.index(word), text.index(word) + len(word)) for type_, word in spans]
    return Message(text=text, gold_entities=gold, source=f"fuzz.yaml:{len(text)}")


# Our own sentences, with dates, times, numbers and places for every kind of extractor to learn from.
TINY = TrainingData(
    [annotated("내일 오후 3시에 서울 가요", ("date", "내일"), ("time", "오후 3시"), ("city", "서울")),
     annotated("부산까지 2시간 걸려요", ("city", "부산"), ("duration", "2시간")),
     annotated("사과 세 개랑 배 12개 주세요", ("number", "세 개"), ("number", "12개")),
     annotated("다음 주 월요일 10시 반에 만나", ("date", "다음 주 월요일"), ("time", "10시 반")),
     annotated("서울역에서 만나요", ("station", "서울역")),
     annotated("그냥 심심해"),
     Message(text="안녕하세요", gold_intent="greet"), Message(text="날씨 어때", gold_intent="weather")],
    lookups={"city": {"서울": "서울", "부산": "부산", "서울특별시": "서울"}},
)

_PIPELINES: dict[str, Pipeline] = {}


def fitted(name: str) -> Pipeline:
    """The prefix stages up to the last one the extractor needs, then the extractor with small parameters,
    fitted on TINY."""
    if name not in _PIPELINES:
        cls = component_class(name)
        params = {k: v for k, v in SMALL.items() if k in cls.defaults}
        needs = set(cls(**params).needs())
        last = max((i for i, step in enumerate(PREFIX) if set(component_class(step["name"]).provides) & needs),
                   default=0)
        steps = [*PREFIX[:last + 1], {"name": name, "params": params}]
        pipeline = Pipeline.from_config({"pipeline": steps})
        _PIPELINES[name] = pipeline.fit(TINY)
    return _PIPELINES[name]


HANGUL = "가나다라서울부산역시분초일월년오후전내모레주ㄱㅋㅎㅠㅜ"
SCRIPTS = HANGUL + "abcXYZ漢字東京ひらがなカタカナأبجдиж" + "0123456789０１２３" + ".,:~-/%+원시분"
EMOJI = ["😀", "🇰🇷", "👍🏽", "👨‍👩‍👧", "❤️", "🎉"]
CONTROL = ["\x00", "\x07", "\x1b", "\u200b", "\u200d", "\ufeff", "\u3000", "\r\n", "\t", "\u202e"]
PHRASES = ["내일 오후 3시", "3일 뒤", "2024년 5월 1일", "천 이백 원", "1,234.5", "오후 ３시 ２０분", "서울역에서 서울",
           "12:30", "모레 아침", "0.5", "-3", "1e9", "10시 반", "3/4", "100%", "서울특별시"]
pieces = st.one_of(st.text(alphabet=SCRIPTS, max_size=12), st.sampled_from(EMOJI), st.sampled_from(CONTROL),
                   st.sampled_from(PHRASES))
mixed = st.lists(pieces, max_size=20).map("".join)
messages = st.one_of(
    mixed,
    st.text(max_size=80),  # any code point, surrogates and controls included
    st.text(alphabet="0123456789", min_size=1, max_size=40),  # digits only
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.tuples(mixed.filter(bool), st.integers(1, 400)).map(lambda p: (p[0] * p[1])[:1000].ljust(1000, "가")),
)


def well_formed(entities: list[Entity], text: str) -> None:
    for e in entities:
        assert 0 <= e.start < e.end <= len(text), (e, text)
        assert e.text == text[e.start:e.end], (e, text)
        assert isinstance(e.type, str) and e.type
        json.dumps(e.to_dict(), ensure_ascii=False)  # what the API answers


@pytest.mark.parametrize("name", extractor_names())
def test_an_extractor_survives_fuzzed_messages(name):
    pipeline = fitted(name)
    neural = "device" in component_class(name).defaults

    @settings(max_examples=EXAMPLES // 5 if neural else EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(messages)
    def check(text: str) -> None:
        message = pipeline.process(Message(text=text))
        well_formed(message.entities, message.normalized)
        try:
            sent = str(check_message(text))
        except InputError:  # the API would refuse it; the pipeline's own spans were checked above
            return
        well_formed(to_original(message.entities, sent, message.normalized), sent)

    check()


def test_the_stub_is_among_the_fuzzed_and_finds_what_it_should():
    assert STUB in extractor_names()
    found = fitted(STUB).process(Message(text="  서울역ㅋㅋㅋㅋ 부산")).entities
    assert [(e.type, e.text) for e in found] == [("station", "서울역"), ("city", "부산")]

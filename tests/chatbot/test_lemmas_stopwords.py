"""Lemmas (dictionary forms, Porter stems for English) and stopword marking."""

from __future__ import annotations

import pytest

from chatbot.message import Message, TrainingData
from chatbot.nlp.analyze import analyze
from chatbot.nlp.components import (
    DEFAULT_STOPWORDS,
    Lemmatizer,
    MorphTokenizer,
    Normalizer,
    StopwordFilter,
    read_word_list,
)
from chatbot.nlp.lemmas import english_stem, lemma_of
from chatbot.nlp.pos import coarse_pos

ALL_BACKENDS = ["kiwi", "mecab", "okt", "komoran"]


def tokens_of(text: str, backend: str = "kiwi") -> list[dict]:
    return analyze(text, backend)["tokens"]


def first(tokens: list[dict], coarse: str) -> dict:
    found = [t for t in tokens if coarse_pos(t["pos"]) == coarse]
    assert found, f"no {coarse} token in {tokens}"
    return found[0]


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_verb_lemma(backend):
    verb = first(tokens_of("먹었어요", backend), "VERB")
    assert verb["lemma"] == "먹다"
    if backend in ("kiwi", "mecab", "komoran"):
        assert verb["pos"].startswith("VV")


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_adjective_lemma(backend):
    assert first(tokens_of("좋네요", backend), "ADJ")["lemma"] == "좋다"


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_irregular_adjective_lemma(backend):
    assert first(tokens_of("어제 너무 추웠어", backend), "ADJ")["lemma"] == "춥다"


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_english_words_in_mixed_text_are_porter_stemmed(backend):
    tokens = tokens_of("나 어제 running 하고 jumping 했어", backend)
    lemmas = {t["form"].lower(): t["lemma"] for t in tokens if coarse_pos(t["pos"]) == "LATIN"}
    assert lemmas.get("running") == "run"
    assert lemmas.get("jumping") == "jump"


def test_lemma_rules():
    assert lemma_of("먹", "VV") == "먹다"
    assert lemma_of("춥", "VA-I") == "춥다"
    assert lemma_of("서울", "NNP") == "서울"
    assert lemma_of("Running", "SL") == "run"
    assert english_stem("cats") == "cat"


def test_stopwords_by_part_of_speech():
    tokens = tokens_of("서울에 가요.")
    by_form = {t["form"]: t for t in tokens}
    assert by_form["서울"]["stopword"] is False
    assert by_form["에"]["stopword"] is True  # particle
    assert by_form["."]["stopword"] is True  # punctuation
    endings = [t for t in tokens if coarse_pos(t["pos"]) == "ENDING"]
    assert endings and all(t["stopword"] for t in endings)
    verb = first(tokens, "VERB")
    assert verb["stopword"] is False


def test_stopword_from_the_list_file():
    assert "그냥" in read_word_list(DEFAULT_STOPWORDS)
    tokens = tokens_of("그냥 영화 보자")
    by_form = {t["form"]: t for t in tokens}
    assert by_form["그냥"]["stopword"] is True
    assert by_form["영화"]["stopword"] is False


def test_word_list_ignores_comments_and_blank_lines(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("# a comment\n\n서울  # trailing comment\n 부산 \n", encoding="utf-8")
    assert read_word_list(path) == {"서울", "부산"}


def _process(stages, text: str) -> Message:
    message = Message(text=text)
    for stage in stages:
        message = stage.process(message)
    return message


def test_custom_words_file_is_honoured_and_copied_into_the_model(tmp_path):
    words = tmp_path / "my_stopwords.txt"
    words.write_text("# my list\n서울\n", encoding="utf-8")
    prefix = [Normalizer(), MorphTokenizer(backend="kiwi"), Lemmatizer()]
    text = "서울 부산 여행"

    default = StopwordFilter().fit(TrainingData([]))
    assert not {t.form for t in _process([*prefix, default], text).tokens if t.stopword} & {"서울"}

    custom = StopwordFilter(words_file=str(words))
    assert custom.fit(TrainingData([])) is custom
    flagged = {t.form for t in _process([*prefix, custom], text).tokens if t.stopword}
    assert "서울" in flagged and "부산" not in flagged

    custom.save(tmp_path / "model")
    words.unlink()  # serving must not depend on the source file
    loaded = StopwordFilter.load(tmp_path / "model", custom.params)
    flagged = {t.form for t in _process([*prefix, loaded], text).tokens if t.stopword}
    assert "서울" in flagged and "부산" not in flagged

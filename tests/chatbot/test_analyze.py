"""``analyze``: the JSON that ``python -m chatbot analyze`` prints."""

from __future__ import annotations

import json

import pytest

from chatbot.nlp.analyze import analyze

TOKEN_KEYS = {"form", "pos", "lemma", "start", "end", "stopword"}


def test_analyze_returns_the_documented_shape():
    result = analyze("서울에 가고 싶어요")
    assert set(result) == {"text", "normalized", "tokens", "entities"}
    assert result["normalized"] == "서울에 가고 싶어요"
    assert result["tokens"]
    for token in result["tokens"]:
        assert set(token) == TOKEN_KEYS
        assert isinstance(token["form"], str) and token["form"]
        assert isinstance(token["pos"], str) and token["pos"]
        assert isinstance(token["lemma"], str) and token["lemma"]
        assert type(token["start"]) is int and type(token["end"]) is int
        assert isinstance(token["stopword"], bool)
    json.dumps(result, ensure_ascii=False)  # JSON-serialisable as it is


def test_offsets_index_the_normalized_text_not_the_input():
    # Leading spaces, full-width letters and repeats make the normalized text differ from the input.
    result = analyze("   서울에서   밥을 먹었어요ㅋㅋㅋㅋ  ＡＢＣ！")
    normalized = result["normalized"]
    assert normalized == "서울에서 밥을 먹었어요ㅋㅋ ABC!"
    for token in result["tokens"]:
        assert 0 <= token["start"] <= token["end"] <= len(normalized)
        assert token["form"] in normalized[token["start"]:token["end"]], token
    seoul = result["tokens"][0]
    assert (seoul["form"], seoul["start"], seoul["end"]) == ("서울", 0, 2)


def test_analyze_fills_lemmas_and_stopwords():
    tokens = analyze("밥을 먹었어요")["tokens"]
    assert any(t["lemma"] == "먹다" and not t["stopword"] for t in tokens)
    assert any(t["form"] == "을" and t["stopword"] for t in tokens)


@pytest.mark.parametrize("backend", ["kiwi", "mecab"])
def test_analyze_with_another_backend(backend):
    result = analyze("서울에 가고 싶어요", backend)
    assert result["tokens"][0]["form"] == "서울"


def test_analyze_unknown_backend_raises():
    with pytest.raises(ValueError):
        analyze("안녕", "nope")


def test_analyze_shows_entities_with_offsets_into_the_text_as_given():
    from entity_stubs import STUB

    text = "  ㅋㅋㅋㅋ 서울역에서 부산 가요"
    result = analyze(text, "mecab", extractors=[STUB])
    assert [(e["type"], e["text"], e["start"], e["end"], e["value"], e["source"]) for e in result["entities"]] == [
        ("station", "서울역", 7, 10, "서울역", "word_list_extractor"),
        ("city", "부산", 13, 15, "부산", "word_list_extractor")]
    assert all(text[e["start"]:e["end"]] == e["text"] for e in result["entities"])
    assert analyze(text, "mecab", extractors=[])["entities"] == []
    with pytest.raises(ValueError):
        analyze(text, "mecab", extractors=["normalizer"])  # not an entity extractor


def test_the_analyze_command_prints_entities_as_json_and_as_text(capsys):
    from entity_stubs import STUB

    from chatbot.cli import main

    assert main(["analyze", "서울에 가요", "--tokenizer", "mecab", "--extractor", STUB]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["entities"] == [{"type": "city", "text": "서울", "start": 0, "end": 2, "value": "서울",
                                    "source": "word_list_extractor"}]
    assert main(["analyze", "서울에 가요", "--tokenizer", "mecab", "--extractor", STUB, "--text"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "normalized: 서울에 가요" and "entities: 1" in lines
    assert lines[-1] == "  city\t서울\t[0:2]\tvalue=서울\t(word_list_extractor)"
    assert main(["analyze", "안녕", "--tokenizer", "mecab", "--text"]) == 0
    assert "entities: none" in capsys.readouterr().out.splitlines()

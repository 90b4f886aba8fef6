"""Entity corpora in sequence-labelling formats: Kochat's tag CSV and KLUE-NER's character TSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.corpus import CorpusError, load_corpus, read_corpus


def spans(message) -> list[tuple[str, str, int, int]]:
    return [(e.type, e.text, e.start, e.end) for e in message.gold_entities]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_kochat_tag_file_is_read_as_entities_not_intents(tmp_path):
    path = write(tmp_path / "entity.csv", "question,label\n"
                 "내일 부산 날씨 알려줘,S-DATE S-LOCATION O O\n"
                 "다음 주 수요일 제주도 맛집,B-DATE I-DATE E-DATE S-LOCATION O\n"
                 "그냥 심심해,O O\n")
    data = load_corpus([path], min_intents=0)
    assert [m.gold_intent for m in data.messages] == [None, None, None]
    assert data.intents == []
    first, second, third = data.messages
    assert spans(first) == [("DATE", "내일", 0, 2), ("LOCATION", "부산", 3, 5)]
    assert spans(second) == [("DATE", "다음 주 수요일", 0, 8), ("LOCATION", "제주도", 9, 12)]
    assert spans(third) == []
    assert first.source == f"{path}:2"
    assert data.entity_types == ["DATE", "LOCATION"]


def test_an_intent_file_with_a_label_column_stays_an_intent_file(tmp_path):
    path = write(tmp_path / "intent.csv", "question,label\n안녕,greet\n비 와?,weather\n")
    data = load_corpus([path])
    assert [m.gold_intent for m in data.messages] == ["greet", "weather"]


def test_kochat_tag_problems_name_file_and_line(tmp_path):
    path = write(tmp_path / "entity.csv", "question,label\n"
                 "내일 부산 날씨 알려줘,S-DATE S-LOCATION O O\n"
                 "서울 날씨,S-LOCATION O O\n"  # three tags for two tokens
                 "오늘 대전 날씨,O I-LOCATION O\n"  # I- without B-
                 "광주 맛집 추천,B-LOCATION I-DATE O\n"  # I- of another type
                 "대구 날씨 어때,X-LOCATION O O\n")  # unknown shape
    data, problems = read_corpus([path], min_intents=0)
    assert len(data.messages) == 1
    lines = {p["line"]: p["message"] for p in problems.entries}
    assert set(lines) == {3, 4, 5, 6}
    assert "3 tag(s) for 2" in lines[3]
    assert "I-LOCATION" in lines[4] and "B-LOCATION" in lines[4]
    assert "I-DATE" in lines[5]
    assert "X-LOCATION" in lines[6]
    with pytest.raises(CorpusError, match=r"entity\.csv:3"):
        load_corpus([path], min_intents=0)


KLUE = (
    "## 설명 주석\n"
    "## 컬럼명 : CHAR\tNE_TAG\n"
    "## s-1\t<철수:PS>는 <부산:LC>에 갔다\n"
    + "".join(f"{c}\t{t}\n" for c, t in zip("철수는 부산에 갔다",
                                           ["B-PS", "I-PS", "O", "O", "B-LC", "I-LC", "O", "O", "O", "O"],
                                           strict=True))
    + "\n"
    "## s-2\t<3시:TI> 회의\n"
    + "".join(f"{c}\t{t}\n" for c, t in zip("3시 회의", ["B-TI", "I-TI", "O", "O", "O"], strict=True))
)


def test_klue_ner_tsv_gives_character_offsets(tmp_path):
    path = write(tmp_path / "ner.tsv", KLUE)
    data = load_corpus([path], min_intents=0)
    assert [m.text for m in data.messages] == ["철수는 부산에 갔다", "3시 회의"]
    assert spans(data.messages[0]) == [("PS", "철수", 0, 2), ("LC", "부산", 4, 6)]
    assert spans(data.messages[1]) == [("TI", "3시", 0, 2)]
    assert data.messages[0].gold_intent is None
    assert data.messages[0].source == f"{path}:3"


def test_klue_ner_problems_name_file_and_line(tmp_path):
    text = ("## s-1\t<철수:PS> 왔다\n철\tB-PS\n수\tI-PS\n \tO\n왔\n다\tO\n\n"  # line 5: no tag
            "## s-2\t<영희:PS> 왔다\n영\tB-PS\n희\tI-PS\n \tO\n갔\tO\n다\tO\n\n"  # spells another sentence
            "## s-3\t영희 왔다\n영\tO\n희\tI-PS\n \tO\n왔\tO\n다\tO\n")  # I- after O
    data, problems = read_corpus([write(tmp_path / "ner.tsv", text)], min_intents=0)
    assert data.messages == []
    lines = {p["line"]: p["message"] for p in problems.entries}
    assert set(lines) == {5, 8, 15}
    assert "CHAR<TAB>TAG" in lines[5]
    assert "do not spell" in lines[8]
    assert "I-PS" in lines[15]

"""Entities in corpora: inline markup, lookup tables with synonyms, entity-only rows and their merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.corpus import CorpusError, load_corpus, merge_by_sentence, read_corpus
from chatbot.corpus.markup import MarkupError, parse_markup, render_markup
from chatbot.corpus.report import corpus_report
from chatbot.message import Entity, Message, TrainingData


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(CorpusError) as excinfo:
        load_corpus([path])
    return excinfo.value.problems


INTENTS = """version: 1
intents:
  - intent: weather
    examples:
      - "[부산](region) 내일 날씨 어때"
      - "[서울시](region:서울)에 비 와?"
      - 오늘 날씨 어때
  - intent: food
    examples:
      - "[김치찌개](food) 먹고 싶다"
    pairs:
      - q: "[라면](food) 맛있게 끓이는 법"
        a: 물을 적게 넣어 보세요.
"""


# --- markup -----------------------------------------------------------------------------------------


def test_markup_gives_plain_text_and_offsets_into_it():
    text, entities = parse_markup("내일 [부산](region) 가서 [돼지국밥](food) 먹자")
    assert text == "내일 부산 가서 돼지국밥 먹자"
    assert [(e.type, text[e.start:e.end], e.value) for e in entities] == [("region", "부산", None),
                                                                         ("food", "돼지국밥", None)]


def test_a_synonym_carries_its_canonical_value():
    text, [entity] = parse_markup("[서울시](region:서울)에서 봐")
    assert (text, entity.text, entity.start, entity.end, entity.value) == ("서울시에서 봐", "서울시", 0, 3, "서울")


@pytest.mark.parametrize("text", ["[공지] 안녕하세요", "(웃음) 좋아요 :)", "아 진짜 ㅋㅋ (농담)",
                                  r"\[공지\](중요) 읽어 줘"])
def test_brackets_that_are_not_markup_stay_plain_text(text):
    plain, entities = parse_markup(text)
    assert entities == []
    assert plain == text.replace("\\", "")


@pytest.mark.parametrize("text", [
    "[부산](region) 내일 날씨 어때", "[서울시](region:서울)에서 봐", "[공지] [라면](food) 먹자 (진짜)",
    r"역슬래시 \\ 하나와 [a)b](x:v\)w)", "아무 표시 없음",
])
def test_render_is_the_inverse_of_parse(text):
    plain, entities = parse_markup(text)
    assert parse_markup(render_markup(plain, entities)) == (plain, entities)


def test_render_writes_a_synonym_only_when_the_value_differs():
    entities = [Entity("region", "부산", 0, 2, "부산"), Entity("region", "서울시", 3, 6, "서울")]
    assert render_markup("부산 서울시", entities) == "[부산](region) [서울시](region:서울)"


@pytest.mark.parametrize(("text", "message", "column"), [
    ("[부산(region) 날씨", "never closed", 1),
    ("부산](region) 날씨", "without '['", 3),
    ("[가 [부산](region)]", "do not nest", 4),
    ("[부산](region 날씨", "not closed with ')'", 5),
    ("[](region) 날씨", "empty entity text", 1),
    ("[부산]() 날씨", "without a type", 5),
    ("[부산](지역) 날씨", "bad entity type name", 5),
    ("[부산](region:) 날씨", "empty value", 5),
    ("[ 부산](region)", "starts or ends with a space", 1),
])
def test_malformed_markup_is_an_error_with_its_column(text, message, column):
    with pytest.raises(MarkupError) as excinfo:
        parse_markup(text)
    assert message in str(excinfo.value) and excinfo.value.column == column


# --- YAML corpora -----------------------------------------------------------------------------------


def test_yaml_examples_and_pair_questions_carry_gold_entities(tmp_path):
    data = load_corpus([write(tmp_path / "c.yaml", INTENTS)])
    rows = {m.text: m for m in data.messages}
    assert set(rows) == {"부산 내일 날씨 어때", "서울시에 비 와?", "오늘 날씨 어때", "김치찌개 먹고 싶다",
                         "라면 맛있게 끓이는 법"}
    pair = rows["라면 맛있게 끓이는 법"]
    assert pair.gold_answer == "물을 적게 넣어 보세요." and pair.gold_intent == "food"
    assert [(e.type, e.text, e.start, e.end) for e in pair.gold_entities] == [("food", "라면", 0, 2)]
    assert rows["오늘 날씨 어때"].gold_entities == []
    assert data.lookups == {"region": {"서울시": "서울", "서울": "서울"}}  # the marked synonym joins the table


@pytest.mark.parametrize(("example", "message"), [
    ('"[부산(region) 날씨"', "entity markup: '[' is never closed"),
    ('"[부산](region 날씨"', "not closed with ')'"),
    ('"[](region) 날씨"', "empty entity text"),
    ('"[부산]() 날씨"', "without a type"),
    ('"[부산](지역) 날씨"', "bad entity type name '지역'"),
    ('"[부산](region)"', None),  # markup alone is a sentence
    ('"[ ](region)"', "empty entity text"),
])
def test_markup_errors_name_the_file_and_line(tmp_path, example, message):
    path = write(tmp_path / "c.yaml", "version: 1\nintents:\n  - intent: a\n    examples:\n      - 안녕\n"
                                      f"      - {example}\n  - intent: b\n    examples: [잘 가]\n")
    if message is None:
        assert load_corpus([path]).messages[1].text == "부산"
        return
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:6: ") and message in problem


def test_unquoted_markup_at_the_start_gets_a_hint(tmp_path):
    path = write(tmp_path / "c.yaml", "version: 1\nintents:\n  - intent: a\n    examples:\n"
                                      "      - [부산](region) 날씨\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:5: YAML syntax error") and "must be quoted" in problem


ENTITIES = """version: 1
entities:
  - entity: region
    values:
      - 서울: [서울시, 서울 특별시]
      - 부산: 부산광역시
      - 대구
  - entity: food
    examples:
      - "[김치찌개](food) 한 그릇"
"""


def test_entities_key_declares_lookup_tables_with_synonyms(tmp_path):
    data = load_corpus([write(tmp_path / "e.yaml", ENTITIES)])
    assert data.lookups["region"] == {"서울": "서울", "서울시": "서울", "서울 특별시": "서울", "부산": "부산",
                                      "부산광역시": "부산", "대구": "대구"}
    [row] = data.messages  # an entity-only example: no intent
    assert row.gold_intent is None and [e.text for e in row.gold_entities] == ["김치찌개"]
    assert data.entity_types == ["food", "region"]


@pytest.mark.parametrize(("values", "line", "message"), [
    ("      - 서울: [서울시]\n      - 부산: [서울시]\n", 6, "'서울시' is already a synonym of '서울'"),
    ("      - 서울: [서울시]\n      - 서울시\n", 6, "'서울시' is already a synonym of '서울'"),
    ("      - 서울: [서울시]\n      - {부산: [], 대구: []}\n", 6, "one value an item"),
    ("      - 서울: [\"\"]\n", 5, "empty or non-text item"),
    ("      - \"\"\n", 5, "empty value"),
])
def test_lookup_table_errors_name_the_file_and_line(tmp_path, values, line, message):
    path = write(tmp_path / "e.yaml", "version: 1\nentities:\n  - entity: region\n    values:\n" + values)
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:{line}: ") and message in problem


@pytest.mark.parametrize(("entity", "message"), [
    ("  - entity: 지역\n    values: [서울]\n", "bad entity type name '지역'"),
    ("  - entity: region\n", "has no values or examples"),
    ("  - entity: region\n    values: 서울\n", "must be a list"),
    ("  - entity: region\n    synonyms: [서울]\n", "unknown key 'synonyms'"),
    ("  - values: [서울]\n", "needs an 'entity' type name"),
])
def test_entity_declaration_errors_name_the_file_and_line(tmp_path, entity, message):
    path = write(tmp_path / "e.yaml", "version: 1\nentities:\n" + entity)
    problems = problems_of(path)
    assert any(p.startswith(f"{path}:3: ") or p.startswith(f"{path}:4: ") for p in problems)
    assert any(message in p for p in problems), problems


def test_an_unknown_synonym_target_of_a_declared_table_is_an_error_on_its_line(tmp_path):
    table = write(tmp_path / "a_table.yaml", ENTITIES)  # declares region: 서울, 부산, 대구
    intents = write(tmp_path / "b.yaml", INTENTS.replace("region:서울", "region:셔울"))
    with pytest.raises(CorpusError) as excinfo:
        load_corpus([table, intents])
    [problem] = excinfo.value.problems
    assert problem.startswith(f"{intents}:6: unknown synonym target '셔울' of entity 'region'")
    assert "대구, 부산, 서울" in problem


def test_a_marked_synonym_conflicting_with_the_table_is_an_error(tmp_path):
    table = write(tmp_path / "a_table.yaml", ENTITIES)
    intents = write(tmp_path / "b.yaml", INTENTS.replace("[서울시](region:서울)", "[서울시](region:부산)"))
    with pytest.raises(CorpusError) as excinfo:
        load_corpus([table, intents])
    assert excinfo.value.problems == [f"{intents}:6: '서울시' already stands for '서울' in entity 'region', not '부산'"]


def test_a_declared_synonym_gives_a_plain_annotation_its_value(tmp_path):
    table = write(tmp_path / "a_table.yaml", ENTITIES)
    intents = write(tmp_path / "b.yaml", INTENTS.replace("[서울시](region:서울)", "[서울시](region)"))
    data = load_corpus([table, intents])
    [entity] = next(m for m in data.messages if m.text.startswith("서울시")).gold_entities
    assert entity.value == "서울"
    [busan] = next(m for m in data.messages if m.text.startswith("부산")).gold_entities
    assert busan.value is None  # a value is its own canonical form


# --- entity-only corpora and the merge rule -------------------------------------------------------


def test_an_entity_only_corpus_is_valid(tmp_path):
    path = write(tmp_path / "e.yaml", ENTITIES)
    data = load_corpus([path])
    assert data.intents == [] and data.messages[0].gold_entities
    data, problems = read_corpus([path])
    assert not problems


def test_a_corpus_of_lookup_tables_only_holds_no_examples(tmp_path):
    path = write(tmp_path / "e.yaml", "version: 1\nentities:\n  - entity: region\n    values: [서울]\n")
    assert problems_of(path) == [f"{path}: the corpus holds no examples"]


def test_one_intent_with_entity_rows_still_needs_two_intents(tmp_path):
    path = write(tmp_path / "e.yaml", ENTITIES + "intents:\n  - intent: a\n    examples: [안녕]\n")
    [problem] = problems_of(path)
    assert "only one class (a)" in problem


def test_entity_rows_merge_into_intent_rows_with_the_same_sentence(tmp_path):
    entity_file = write(tmp_path / "a_entities.yaml", """version: 1
entities:
  - entity: date
    examples:
      - "부산 [내일](date) 날씨 어때"
      - "[오늘](date) 날씨 어때"
      - "[모레](date) [부산](region) 가자"
      - "[모레](date) 부산 가자"
""")
    data = load_corpus([entity_file, write(tmp_path / "b.yaml", INTENTS)])
    rows = {m.text: m for m in data.messages}
    assert len(data.messages) == 6  # two entity rows joined intent rows, two became one
    busan = rows["부산 내일 날씨 어때"]
    assert busan.gold_intent == "weather"
    assert [(e.type, e.text) for e in busan.gold_entities] == [("region", "부산"), ("date", "내일")]
    assert [(e.type, e.text) for e in rows["오늘 날씨 어때"].gold_entities] == [("date", "오늘")]
    trip = rows["모레 부산 가자"]  # no intent row has this sentence: it stays an entity-only row, merged once
    assert trip.gold_intent is None and [e.type for e in trip.gold_entities] == ["date", "region"]


def test_merge_keeps_the_intent_rows_own_annotation_on_an_overlap():
    intent_row = Message("부산 날씨", "weather", gold_entities=[Entity("region", "부산", 0, 2)])
    other = Message("부산 날씨", None, gold_entities=[Entity("city", "부산 날", 0, 4), Entity("topic", "날씨", 3, 5)])
    data = merge_by_sentence(TrainingData([intent_row, other, Message("날씨", "weather")]))
    assert data.messages[0] is intent_row and len(data.messages) == 2
    assert [(e.type, e.start) for e in intent_row.gold_entities] == [("region", 0), ("topic", 3)]


def test_merge_works_for_rows_of_any_reader():
    """Rows as a tabular entity reader appends them: no intent, entities, a source of their own."""
    rows = [Message("서울 가는 기차", "travel", source="a.csv:2"),
            Message("서울 가는 기차", None, source="b.tsv:7", gold_entities=[Entity("LC", "서울", 0, 2)]),
            Message("아무 개체 없음", None, source="b.tsv:8")]
    data = merge_by_sentence(TrainingData(rows))
    assert [m.source for m in data.messages] == ["a.csv:2", "b.tsv:8"]
    assert data.messages[0].gold_entities == [Entity("LC", "서울", 0, 2)]


# --- the report ------------------------------------------------------------------------------------


def test_report_counts_entity_types_and_warns_about_thin_ones(tmp_path):
    table = write(tmp_path / "a_table.yaml", ENTITIES)
    report = corpus_report([table, write(tmp_path / "b.yaml", INTENTS)])
    assert report["ok"] is True
    assert report["entities"] == {
        "food": {"annotations": 3, "examples": 3, "values": 2, "lookup_entries": 0},
        "region": {"annotations": 2, "examples": 2, "values": 2, "lookup_entries": 6},
    }
    assert report["entity_rows"] == 1
    assert report["intents"] == {"weather": 3, "food": 2}  # entity-only rows are not an intent
    [warning] = [w for w in report["warnings"] if "개체 유형" in w]
    assert "food (3문장)" in warning and "region (2문장)" in warning


def test_validate_prints_the_entity_figures(tmp_path, capsys):
    from chatbot.cli import main

    main(["validate", "--data", str(write(tmp_path / "b.yaml", INTENTS))])
    out = capsys.readouterr().out
    assert "region (2 annotations in 2 rows, 2 values, 2 lookup entries)" in out

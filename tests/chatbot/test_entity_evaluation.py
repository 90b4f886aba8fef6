"""Entity figures of ``evaluate_messages``: exact span-and-type scores per type, micro and macro F1,
offsets of predictions moved into the text as written, and corpora of entity annotations alone."""

from __future__ import annotations

import pytest

from chatbot.entities import entity_annotated
from chatbot.evaluation import entity_metrics, evaluate_messages, predicted_entities
from chatbot.message import Entity, Message


def E(type_: str, text: str, start: int) -> Entity:  # noqa: N802 - reads like the constructor
    return Entity(type_, text, start, start + len(text))


def test_entity_metrics_need_the_exact_span_and_type():
    text = "내일 서울에서 김치찌개 먹자"
    gold = [E("date", "내일", 0), E("city", "서울", 3), E("food", "김치찌개", 8)]
    pred = [E("date", "내일", 0), E("city", "서울에", 3), E("dish", "김치찌개", 8)]  # one right, two wrong
    result = entity_metrics([(text, gold, pred)])
    assert result["per_type"]["date"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert result["per_type"]["city"]["f1"] == 0.0  # a longer span is not a match
    assert result["per_type"]["food"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert result["per_type"]["dish"]["support"] == 0  # a predicted-only type is listed with no support
    assert result["micro"]["precision"] == pytest.approx(1 / 3, abs=1e-4)
    assert result["micro"]["recall"] == pytest.approx(1 / 3, abs=1e-4)
    assert result["micro_f1"] == result["micro"]["f1"] == pytest.approx(1 / 3, abs=1e-4)
    assert result["macro_f1"] == pytest.approx(1 / 4, abs=1e-4)  # date 1, city 0, food 0, dish 0
    assert result["examples"] == 1


def test_adjacent_entities_of_one_type_stay_two():
    text = "서울부산"
    gold = [E("city", "서울", 0), E("city", "부산", 2)]
    merged = entity_metrics([(text, gold, [E("city", "서울부산", 0)])])
    assert merged["micro"]["recall"] == 0.0 and merged["micro"]["precision"] == 0.0
    exact = entity_metrics([(text, gold, gold)])
    assert exact["per_type"]["city"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}


def test_entity_metrics_without_any_entity_are_zeros_not_an_error():
    result = entity_metrics([("안녕", [], []), ("", [], [])])
    assert result["per_type"] == {} and result["micro_f1"] == 0.0 and result["examples"] == 2


def test_predicted_offsets_point_into_the_text_as_written():
    # The pipeline's entity points into the normalized text; the report compares in message.text.
    text = "  ㅋㅋㅋㅋ 서울에 가요"
    message = Message(text=text, normalized="ㅋㅋ 서울에 가요", entities=[E("city", "서울", 3)],
                      gold_entities=[E("city", "서울", 7)])
    moved = predicted_entities(message)
    assert [(e.start, e.end, e.text) for e in moved] == [(7, 9, "서울")]
    assert text[7:9] == "서울"
    report = evaluate_messages([message])
    assert report["entities"]["per_type"]["city"]["f1"] == 1.0


def entity_row(text: str, gold: list[Entity], pred: list[Entity], line: int, file: str = "ent.yaml") -> Message:
    return Message(text=text, normalized=text, source=f"{file}:{line}", gold_entities=gold, entities=pred)


def test_an_entity_only_corpus_gets_entity_figures_alone():
    messages = [entity_row("서울 가자", [E("city", "서울", 0)], [E("city", "서울", 0)], 1),
                entity_row("부산 가자", [E("city", "부산", 0)], [], 2)]
    report = evaluate_messages(messages)
    assert set(report) == {"rows", "entities"}  # no intent, fallback or response section
    assert report["rows"] == 2
    assert report["entities"]["per_type"]["city"]["recall"] == 0.5


def test_rows_of_an_annotated_file_count_and_intent_only_files_do_not():
    annotated = [entity_row("서울 가자", [E("city", "서울", 0)], [E("city", "서울", 0)], 1),
                 entity_row("부산은 멀어", [], [E("city", "부산", 0)], 2)]  # annotated as none: a false positive
    intent_only = Message(text="부산 좋아", normalized="부산 좋아", gold_intent="travel", intent="travel",
                          source="intents.csv:2", entities=[E("city", "부산", 0)])
    assert entity_annotated([*annotated, intent_only]) == annotated
    report = evaluate_messages([*annotated, intent_only])
    assert report["entities"]["examples"] == 2
    assert report["entities"]["micro"]["precision"] == 0.5  # the intent-only file's 부산 is not counted
    assert report["intent"]["accuracy"] == 1.0 and report["intent"]["per_class"]["travel"]["support"] == 1
    assert report["fallback"]["in_domain_kept"] == 1.0  # over the one row with an intent


def test_intent_corpora_have_no_entity_section():
    report = evaluate_messages([Message(text="안녕", gold_intent="greet", intent="greet", source="a.csv:2")])
    assert "entities" not in report and report["intent"]["accuracy"] == 1.0

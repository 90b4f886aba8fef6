"""The trainer console's entity figures: the per-type table and the examples whose entities are wrong,
read from the model's report.json and predictions.jsonl, shown only when the report scores entities."""

from __future__ import annotations

import json
from pathlib import Path

from tests.webui.trainer_support import add_users, console_config, hand_made_job, login, text_of
from webui.trainer.reports import WRONG_ENTITY_EXAMPLES, wrong_entity_examples, wrong_examples

JOB = "20250501-000000-0000ee"
ENTITIES = {"examples": 3, "micro": {"precision": 0.5, "recall": 0.3333, "f1": 0.4, "support": 3},
            "micro_f1": 0.4, "macro_f1": 0.3333,
            "per_type": {"city": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2},
                         "date": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}}}


def entity(type_: str, text: str, start: int) -> dict:
    return {"type": type_, "start": start, "end": start + len(text), "text": text, "value": text}


ROWS = [
    {"text": "서울 가자", "gold_intent": None, "pred_intent": "travel", "confidence": 0.6, "fallback": False,
     "pred_entities": [entity("city", "서울", 0)], "gold_entities": [entity("city", "서울", 0)]},
    {"text": "내일 부산", "gold_intent": None, "pred_intent": "travel", "confidence": 0.6, "fallback": False,
     "pred_entities": [entity("city", "부산", 3)], "gold_entities": [entity("date", "내일", 0),
                                                                    entity("city", "부산", 3)]},
    {"text": "부산역 앞", "gold_intent": None, "pred_intent": "travel", "confidence": 0.6, "fallback": False,
     "pred_entities": [entity("city", "부산", 0)], "gold_entities": [entity("city", "부산역", 0)]},
    {"text": "안녕", "gold_intent": "greet", "pred_intent": "greet", "confidence": 0.9, "fallback": False,
     "pred_entities": [entity("city", "안녕", 0)]},  # an intent-only row: its entities are not scored
]


def evaluation(report: dict, rows: list[dict]) -> dict:
    return {"report.json": json.dumps(report, ensure_ascii=False),
            "predictions.jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)}


def job_page(make_app, tmp_path: Path, model: Path, files: dict) -> str:
    app = add_users(make_app(**console_config(tmp_path)))
    hand_made_job(tmp_path / "trainer", JOB, model=model, evaluation=files,
                  progress=[{"stage": "done", "done": 1, "total": 1}])
    response = login(app, "트레이너").get(f"/trainer/jobs/{JOB}")
    assert response.status_code == 200
    return text_of(response)


def section(page: str, table_id: str) -> str:
    start = page.index(f'id="{table_id}"')
    return page[start:page.index("</table>", start)]


def test_the_job_page_shows_entity_figures_and_entity_mistakes(make_app, tmp_path, tiny_model_dir):
    report = {"rows": 4, "intent": {"accuracy": 1.0, "macro_f1": 1.0, "per_class": {
        "greet": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}}}, "entities": ENTITIES}
    page = job_page(make_app, tmp_path, tiny_model_dir, evaluation(report, ROWS))
    assert '<dd id="entity-micro-f1">0.4000</dd>' in page and '<dd id="entity-macro-f1">0.3333</dd>' in page
    types = section(page, "per-entity-type")
    assert "<td>city</td><td>0.5000</td><td>0.5000</td><td>0.5000</td><td>2</td>" in types
    assert "<td>date</td><td>0.0000</td><td>0.0000</td><td>0.0000</td><td>1</td>" in types
    wrong = section(page, "wrong-entities")
    assert "<td>내일 부산</td><td>date: 내일, city: 부산</td><td>city: 부산</td>" in wrong  # a missed date
    assert "<td>부산역 앞</td><td>city: 부산역</td><td>city: 부산</td>" in wrong  # a short span
    assert "서울 가자" not in wrong and "안녕" not in wrong
    assert '<dd id="eval-accuracy">1.0000</dd>' in page  # the intent figures stay
    assert 'id="wrong-examples"' not in page  # the rows without an intent are no intent mistakes


def test_an_entity_only_report_shows_entities_without_intent_sections(make_app, tmp_path, tiny_model_dir):
    page = job_page(make_app, tmp_path, tiny_model_dir, evaluation({"rows": 3, "entities": ENTITIES}, ROWS[:3]))
    assert 'id="per-entity-type"' in page and 'id="wrong-entities"' in page
    assert 'id="eval-accuracy"' not in page and "혼동 행렬" not in page and 'id="wrong-none"' not in page


def test_an_intent_report_has_no_entity_section(make_app, tmp_path, tiny_model_dir):
    report = {"rows": 1, "intent": {"accuracy": 1.0, "macro_f1": 1.0, "per_class": {}}}
    page = job_page(make_app, tmp_path, tiny_model_dir, evaluation(report, ROWS[3:]))
    assert 'id="entity-heading"' not in page and 'id="per-entity-type"' not in page
    assert "혼동 행렬" in page


def test_the_wrong_entity_list_is_capped_and_skips_broken_lines(tmp_path):
    rows = [{**ROWS[2], "text": f"부산역 {n}"} for n in range(WRONG_ENTITY_EXAMPLES + 5)]
    path = tmp_path / "predictions.jsonl"
    path.write_text("{broken\n" + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    wrong = wrong_entity_examples(path)
    assert len(wrong) == WRONG_ENTITY_EXAMPLES == 20
    assert wrong[0] == {"text": "부산역 0", "gold": ["city: 부산역"], "pred": ["city: 부산"]}
    assert wrong_examples(path) == []  # no gold intents: no intent mistakes
    assert wrong_entity_examples(None) == []


# The conversation tests' figures (report.json's dialogues, from evaluate --dialogues), beside the others.
DIALOGUES = {"conversations": 4, "conversations_passed": 3, "turns": 10, "turns_passed": 8, "turn_accuracy": 0.8,
             "intent_turns": 9, "intent_accuracy": 0.8889, "slot_turns": 5, "slot_accuracy": 0.6,
             "intent_and_slots_turns": 9, "intent_and_slots": 0.7778, "entity_accuracy": None, "reply_accuracy": 1.0,
             "failing_turns": [{"conversation": "reminders::취소", "where": "r.yaml:9", "turn": 2, "person": "a",
                                "user": "됐어 <b>", "reply": "네, 억지로 하지 않아도 괜찮아요",
                                "intent": "disagree",
                                "problems": ["intent: expected reminder_set", "reply: lacks '취소'"]}]}


def test_the_job_page_shows_dialogue_figures_and_failing_turns(make_app, tmp_path, tiny_model_dir):
    report = {"rows": 4, "intent": {"accuracy": 1.0, "macro_f1": 1.0, "per_class": {}}, "entities": ENTITIES,
              "dialogues": {**DIALOGUES, "failing_turns": DIALOGUES["failing_turns"] * 30}}
    page = job_page(make_app, tmp_path, tiny_model_dir, evaluation(report, ROWS))
    assert '<dd id="dialogue-turn-accuracy">0.8000</dd>' in page and '<dd id="dialogue-passed">3 / 4</dd>' in page
    figures = section(page, "dialogue-figures")
    assert "<td>의도</td><td>0.8889</td><td>9</td>" in figures and "<td>슬롯</td><td>0.6000</td><td>5</td>" in figures
    assert "<td>의도와 슬롯</td><td>0.7778</td><td>9</td>" in figures
    failures = section(page, "dialogue-failures")
    assert failures.count("<tr><td>reminders::취소 (2턴)</td>") == 20  # capped
    assert "<td>됐어 &lt;b&gt;</td>" in failures  # escaped
    assert "intent: expected reminder_set; reply: lacks &#39;취소&#39;" in failures
    assert 'id="per-entity-type"' in page and '<dd id="eval-accuracy">1.0000</dd>' in page  # beside the others


def test_a_report_without_dialogues_has_no_dialogue_section(make_app, tmp_path, tiny_model_dir):
    report = {"rows": 1, "intent": {"accuracy": 1.0, "macro_f1": 1.0, "per_class": {}},
              "dialogues": "not a section"}
    page = job_page(make_app, tmp_path, tiny_model_dir, evaluation(report, ROWS[3:]))
    assert 'id="dialogue-heading"' not in page and 'id="dialogue-figures"' not in page


def test_all_dialogue_turns_right_says_so(make_app, tmp_path, tiny_model_dir):
    report = {"rows": 1, "intent": {"accuracy": 1.0, "macro_f1": 1.0, "per_class": {}},
              "dialogues": {**DIALOGUES, "failing_turns": []}}
    page = job_page(make_app, tmp_path, tiny_model_dir, evaluation(report, ROWS[3:]))
    assert 'id="dialogue-failures-none"' in page and 'id="dialogue-failures"' not in page

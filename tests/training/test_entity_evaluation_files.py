"""``evaluate`` and training's validation report with entities: predictions.jsonl carries each
example's predicted (and, where scored, gold) entities with offsets into its text, report.json an
``entities`` section, and a corpus of entity annotations alone is evaluated without intents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from entity_stubs import train_stub_model

import training.evaluate
from chatbot.message import Entity, Message, TrainingData
from training.evaluate import evaluate_model, write_evaluation

ENTITY_KEYS = {"type", "start", "end", "text", "value"}


def read_rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]


def entity_only_rows() -> list[Message]:
    """Rows of one annotated file, as a corpus reader gives them: gold offsets into the text, no intent."""
    rows = [("  서울에 가요ㅋㅋㅋㅋ", [("city", 2, 4)]), ("부산 가는 기차", [("city", 0, 2)]),
            ("서울역에서 만나", [("station", 0, 3)]), ("그냥 집에 있을래", []),
            ("김치찌개랑 부산 어묵", [("food", 0, 4)])]  # the stub also finds 부산, which is not annotated
    return [Message(text=text, source=f"places.yaml:{n}",
                    gold_entities=[Entity(t, text[s:e], s, e) for t, s, e in spans])
            for n, (text, spans) in enumerate(rows, start=1)]


@pytest.fixture(scope="module")
def stub_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_stub_model(tmp_path_factory.mktemp("entity_model"))


def test_an_entity_only_corpus_is_evaluated_on_entities_alone(stub_model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(training.evaluate, "load_corpus",
                        lambda paths, min_intents=0: TrainingData(entity_only_rows()))
    out = tmp_path / "report"
    report = evaluate_model(stub_model_dir, ["places.yaml"], out)
    assert not {"intent", "fallback", "response"} & set(report)
    city = report["entities"]["per_type"]["city"]
    assert city["support"] == 2 and city["recall"] == 1.0
    assert city["precision"] == pytest.approx(2 / 3, abs=1e-4)  # the unannotated 부산 is a false positive
    assert report["entities"]["per_type"]["station"]["f1"] == 1.0
    assert report["entities"]["per_type"]["food"]["f1"] == 1.0
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["entities"] == report["entities"]
    assert not (out / "confusion_matrix.png").exists()  # nothing to draw without intents

    rows = read_rows(out)
    assert len(rows) == 5
    for row in rows:
        for entity in row["pred_entities"] + row["gold_entities"]:
            assert set(entity) == ENTITY_KEYS
            assert row["text"][entity["start"]:entity["end"]] == entity["text"]
    first = rows[0]
    assert first["text"] == "  서울에 가요ㅋㅋㅋㅋ"  # the text as written; offsets into it, not the normalized one
    assert first["pred_entities"] == [{"type": "city", "start": 2, "end": 4, "text": "서울", "value": "서울"}]
    assert first["gold_entities"] == first["pred_entities"]
    assert rows[3]["gold_entities"] == [] and rows[3]["pred_entities"] == []


def test_mixed_corpora_score_intents_and_entities_on_their_own_rows(stub_model_dir, tiny_corpus, tmp_path,
                                                                    monkeypatch):
    from chatbot.corpus import load_corpus

    intents = load_corpus([tiny_corpus("csv")], min_intents=0).messages
    monkeypatch.setattr(training.evaluate, "load_corpus",
                        lambda paths, min_intents=0: TrainingData(intents + entity_only_rows()))
    out = tmp_path / "report"
    report = evaluate_model(stub_model_dir, ["tiny.csv", "places.yaml"], out)
    assert report["rows"] == len(intents) + 5
    assert sum(s["support"] for s in report["intent"]["per_class"].values()) == len(intents)
    assert set(report["intent"]["per_class"]) == {"greet", "weather", "food"}  # the tiny corpus's own
    assert report["entities"]["examples"] == 5  # the intent file's rows carry no annotations to score
    rows = read_rows(out)
    assert sum("gold_entities" in r for r in rows) == 5
    assert all("pred_entities" in r for r in rows)
    assert (out / "confusion_matrix.png").is_file()


def test_write_evaluation_removes_a_stale_confusion_matrix(tmp_path):
    (tmp_path / "confusion_matrix.png").write_bytes(b"old")
    messages = entity_only_rows()
    write_evaluation(tmp_path, {"rows": len(messages)}, messages, title="t")
    assert not (tmp_path / "confusion_matrix.png").exists()
    assert all(r["pred_entities"] == [] for r in read_rows(tmp_path))  # not processed: nothing predicted


def test_the_validation_split_takes_rows_without_an_intent():
    from training.train import split

    intents = [Message(text=f"{word} {n}", gold_intent=word) for word in ("a", "b") for n in range(10)]
    data = TrainingData(intents + entity_only_rows() * 2)
    train, val = split(data, 0.3, seed=0)
    assert len(train) + len(val) == len(data.messages)
    assert any(m.gold_intent is None for m in val) and any(m.gold_intent for m in val)

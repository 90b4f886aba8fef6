"""Every trained model directory carries its validation split's evaluation, in the files ``evaluate`` writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.config import load_config
from training.evaluate import evaluate_model
from training.train import train_model

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PREDICTION_KEYS = {"text", "gold_intent", "pred_intent", "confidence", "fallback", "gold_answer", "reply",
                   "pred_entities"}  # gold_entities only on rows of a corpus that annotates entities


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_model_directory_has_the_validation_evaluation(tiny_model_dir):
    meta = read_json(tiny_model_dir / "meta.json")
    assert meta["evaluation"] == "evaluation"
    folder = tiny_model_dir / meta["evaluation"]
    report = read_json(folder / "report.json")
    assert report["split"] == "validation"
    assert report["created_at"] == meta["created_at"]
    assert report["rows"] == meta["validation"]["rows"] > 0
    assert report["intent"] == meta["validation"]["intent"]  # the same figures as meta.json's summary
    assert report["fallback"] == meta["validation"]["fallback"]
    assert set(report["intent"]["per_class"]) <= {"greet", "weather", "food"}
    for scores in report["intent"]["per_class"].values():
        assert set(scores) == {"precision", "recall", "f1", "support"}
    assert sum(s["support"] for s in report["intent"]["per_class"].values()) == report["rows"]
    assert sum(report["reply_sources"].values()) == pytest.approx(1.0, abs=1e-3)

    rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == report["rows"]
    for row in rows:
        assert PREDICTION_KEYS <= set(row) <= PREDICTION_KEYS | {"gold_entities"}  # on rows of files that mark entities
        assert row["gold_intent"] in {"greet", "weather", "food"}
        assert isinstance(row["fallback"], bool) and 0.0 <= row["confidence"] <= 1.0
    right = sum(r["pred_intent"] == r["gold_intent"] for r in rows)
    assert right / len(rows) == pytest.approx(report["intent"]["accuracy"], abs=1e-4)

    png = (folder / "confusion_matrix.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000


def test_train_and_evaluate_write_the_same_files(tiny_model_dir, tiny_corpus, tmp_path):
    out = tmp_path / "report"
    report = evaluate_model(tiny_model_dir, [tiny_corpus("csv")], out)
    assert {p.name for p in out.iterdir()} == {p.name for p in (tiny_model_dir / "evaluation").iterdir()}
    validation = read_json(tiny_model_dir / "evaluation" / "report.json")
    assert {"rows", "intent", "fallback", "reply_sources", "model", "data"} <= set(validation) & set(report)


def test_retraining_replaces_the_evaluation_with_the_new_one(tiny_corpus, tmp_path):
    out = tmp_path / "model"
    corpus = tiny_corpus("yaml")
    train_model([corpus], out)
    first = read_json(out / "evaluation" / "report.json")
    config = load_config("default")
    config["training"] = {**config.get("training", {}), "validation_split": 0.3}
    train_model([corpus], out, config)
    second = read_json(out / "evaluation" / "report.json")
    assert second["rows"] > first["rows"]
    assert len((out / "evaluation" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()) == second["rows"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model")]  # written inside the atomic swap


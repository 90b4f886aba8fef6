"""What the console shows of a trained model: its evaluation report, the examples it got wrong, and
how it compares with the live model. Read from the model directory's files only (``meta.json`` and
the ``evaluation/`` folder that ``chatbot train`` writes), never by loading the model."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from webui.releases import model_version
from webui.trainer.storage import read_json

OOD_LABEL = "OOD"
WRONG_EXAMPLES = 50
# (label, key, kind) rows of the comparison table; "number" rows get a difference column.
COMPARE_ROWS = (("버전", "version", "text"), ("학습 시각", "created_at", "text"),
                ("학습 데이터 행 수", "rows", "number"), ("의도 수", "intents", "number"),
                ("검증 정확도", "validation_accuracy", "number"), ("검증 macro-F1", "validation_macro_f1", "number"),
                ("평가 보고서 정확도", "eval_accuracy", "number"), ("평가 보고서 macro-F1", "eval_macro_f1", "number"))
# The rows the promotion's confirmation shows: what is replaced by what, and the accuracy of each.
CONFIRM_KEYS = ("version", "validation_accuracy", "eval_accuracy")


def evaluation_dir(model_dir: Path, meta: dict[str, Any] | None = None) -> Path | None:
    """The model's evaluation folder (``meta.json``'s ``evaluation``, default ``evaluation``), when it
    exists inside the model directory."""
    meta = meta if meta is not None else read_json(model_dir / "meta.json") or {}
    name = meta.get("evaluation") if isinstance(meta.get("evaluation"), str) else "evaluation"
    root = os.path.realpath(model_dir)
    path = Path(os.path.realpath(model_dir / name))
    if os.path.commonpath([root, path]) != root or path == Path(root) or not path.is_dir():
        return None  # a name pointing elsewhere is not followed
    return path


def model_summary(model_dir: Path | None) -> dict[str, Any] | None:
    """Headline figures of a model directory for the comparison and the report; None without meta.json.

    ``report`` is ``evaluation/report.json`` when the model has one, else the validation figures from
    meta.json (``report_source`` says which), so a model trained before evaluation reports still shows its
    figures."""
    if model_dir is None or not (model_dir / "meta.json").is_file():
        return None
    meta = read_json(model_dir / "meta.json")
    meta = meta if isinstance(meta, dict) else {}
    folder = evaluation_dir(model_dir, meta)
    evaluation = read_json(folder / "report.json") if folder else None
    evaluation = evaluation if isinstance(evaluation, dict) else None
    validation = meta.get("validation") if isinstance(meta.get("validation"), dict) else {}
    report = evaluation or validation or None
    data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    val_intent, eval_intent = _intent(validation), _intent(evaluation)
    matrix = folder / "confusion_matrix.png" if folder else None
    return {
        "version": model_version(model_dir), "created_at": meta.get("created_at"), "rows": data.get("rows"),
        "intents": data.get("intents"), "validation_accuracy": val_intent.get("accuracy"),
        "validation_macro_f1": val_intent.get("macro_f1"), "eval_accuracy": eval_intent.get("accuracy"),
        "eval_macro_f1": eval_intent.get("macro_f1"), "report": report,
        "report_source": "evaluation" if evaluation else ("validation" if validation else None),
        "per_class": _intent(report).get("per_class") or {},
        "confusion_matrix": matrix if matrix is not None and matrix.is_file() else None,
        "predictions": folder / "predictions.jsonl" if folder and (folder / "predictions.jsonl").is_file() else None,
    }


def _intent(report: dict[str, Any] | None) -> dict[str, Any]:
    intent = (report or {}).get("intent")
    return intent if isinstance(intent, dict) else {}


def wrong_examples(predictions: Path | None, limit: int = WRONG_EXAMPLES) -> list[dict[str, Any]]:
    """Up to ``limit`` rows of ``predictions.jsonl`` the model got wrong: another intent, a fallback on an
    in-domain message, or an out-of-domain message it answered."""
    if predictions is None:
        return []
    wrong = []
    with contextlib.suppress(OSError), predictions.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if not isinstance(row, dict):
                continue
            gold, fallback = row.get("gold_intent"), bool(row.get("fallback"))
            missed = not fallback if gold == OOD_LABEL else (fallback or row.get("pred_intent") != gold)
            if missed:
                wrong.append(row)
                if len(wrong) >= limit:
                    break
    return wrong


def compare(live: dict[str, Any] | None, candidate: dict[str, Any]) -> dict[str, Any]:
    """The comparison table's rows ``{label, key, live, candidate, diff, kind}`` and per-intent F1 side by
    side (``{intent, live, candidate, diff}``) over the intents of either model; ``confirm``: the rows the
    promotion's confirmation shows."""
    rows = []
    for label, key, kind in COMPARE_ROWS:
        old, new = (live or {}).get(key), candidate.get(key)
        rows.append({"label": label, "key": key, "live": old, "candidate": new, "kind": kind, "diff": _diff(old, new)})
    live_classes = (live or {}).get("per_class") or {}
    new_classes = candidate.get("per_class") or {}
    intents = []
    for name in sorted(set(live_classes) | set(new_classes)):
        old, new = _f1(live_classes.get(name)), _f1(new_classes.get(name))
        intents.append({"intent": name, "live": old, "candidate": new, "diff": _diff(old, new)})
    return {"rows": rows, "intents": intents, "confirm": [r for r in rows if r["key"] in CONFIRM_KEYS]}


def _f1(figures: Any) -> float | None:
    value = figures.get("f1") if isinstance(figures, dict) else None
    return value if isinstance(value, (int, float)) else None


def _diff(old: Any, new: Any) -> float | None:
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
    return round(new - old, 4) if numbers else None

"""What the console shows of a trained model: its evaluation report, the examples it got wrong, and
how it compares with the live model. Read from the model directory's files only (its training record
and evaluation folder, through ``chatbot.model_dir.ModelDir``), never by loading the model."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatbot.model_dir import ModelDir

OOD_LABEL = "OOD"
WRONG_EXAMPLES = 50
WRONG_ENTITY_EXAMPLES = 20
WRONG_DIALOGUE_TURNS = 20
# (label, key, kind) rows of the comparison table; "number" rows get a difference column.
COMPARE_ROWS = (("버전", "version", "text"), ("학습 시각", "created_at", "text"),
                ("학습 데이터 행 수", "rows", "number"), ("의도 수", "intents", "number"),
                ("검증 정확도", "validation_accuracy", "number"), ("검증 macro-F1", "validation_macro_f1", "number"),
                ("평가 보고서 정확도", "eval_accuracy", "number"), ("평가 보고서 macro-F1", "eval_macro_f1", "number"))
# The rows the promotion's confirmation shows: what is replaced by what, and the accuracy of each.
CONFIRM_KEYS = ("version", "validation_accuracy", "eval_accuracy")


def model_summary(model_dir: Path | None) -> dict[str, Any] | None:
    """Headline figures of a model directory for the comparison and the report (``ModelDir.summary``);
    None without a training record."""
    return ModelDir(model_dir).summary() if model_dir is not None else None


def _rows(predictions: Path | None) -> Iterator[dict[str, Any]]:
    """The readable rows of ``predictions.jsonl`` (a broken line is skipped, a missing file is none)."""
    if predictions is None:
        return
    with contextlib.suppress(OSError), predictions.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                yield row


def wrong_examples(predictions: Path | None, limit: int = WRONG_EXAMPLES) -> list[dict[str, Any]]:
    """Up to ``limit`` rows of ``predictions.jsonl`` the model got wrong: another intent, a fallback on an
    in-domain message, or an out-of-domain message it answered. Rows without a gold intent (entity
    annotations alone) are not intent mistakes."""
    wrong = []
    for row in _rows(predictions):
        gold, fallback = row.get("gold_intent"), bool(row.get("fallback"))
        if not gold:
            continue
        missed = not fallback if gold == OOD_LABEL else (fallback or row.get("pred_intent") != gold)
        if missed:
            wrong.append(row)
            if len(wrong) >= limit:
                break
    return wrong


def wrong_entity_examples(predictions: Path | None, limit: int = WRONG_ENTITY_EXAMPLES) -> list[dict[str, Any]]:
    """Up to ``limit`` scored rows (those with ``gold_entities``) whose predicted entities differ from the
    gold ones in a span or a type, as ``{text, gold, pred}`` with ``type: text`` labels for each entity."""
    wrong = []
    for row in _rows(predictions):
        gold, pred = row.get("gold_entities"), row.get("pred_entities") or []
        if not isinstance(gold, list) or not isinstance(pred, list):
            continue
        if _spans(gold) != _spans(pred):
            wrong.append({"text": row.get("text", ""), "gold": _labels(gold), "pred": _labels(pred)})
            if len(wrong) >= limit:
                break
    return wrong


def _spans(entities: list[Any]) -> set[tuple[Any, Any, Any]]:
    return {(e.get("type"), e.get("start"), e.get("end")) for e in entities if isinstance(e, dict)}


def _labels(entities: list[Any]) -> list[str]:
    return [f"{e.get('type')}: {e.get('text')}" for e in entities if isinstance(e, dict)]


def entity_report(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The report's ``entities`` section when it has one with per-type figures, else None."""
    section = (report or {}).get("entities")
    return section if isinstance(section, dict) and isinstance(section.get("per_type"), dict) else None


def dialogue_report(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The report's ``dialogues`` section (``evaluate --dialogues``: per-turn accuracy of conversation files)
    with its failing turns capped at ``WRONG_DIALOGUE_TURNS``, else None."""
    section = (report or {}).get("dialogues")
    if not isinstance(section, dict) or not isinstance(section.get("turns"), int):
        return None
    failing = [t for t in section.get("failing_turns") or [] if isinstance(t, dict)]
    return {**section, "failing_turns": failing[:WRONG_DIALOGUE_TURNS]}


def search_report(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The report's ``search`` section (the default training's cross-validated choice of featurisation and
    classifier), its table best first, else None (a config that names its components does not search)."""
    section = (report or {}).get("search")
    if not isinstance(section, dict) or not isinstance(section.get("table"), list):
        return None
    rows = [r for r in section["table"] if isinstance(r, dict) and isinstance(r.get("macro_f1"), int | float)]
    chosen = section.get("chosen") or {}
    for row in rows:
        row["chosen"] = (row.get("featurisation"), row.get("classifier")) == (chosen.get("featurisation"),
                                                                             chosen.get("classifier"))
    return {**section, "table": sorted(rows, key=lambda r: -r["macro_f1"])}


def fallback_report(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The report's ``fallback_tuning`` section (how the fallback thresholds were set and what they cost),
    else None (no fallback detector, or a model trained before the section existed)."""
    section = (report or {}).get("fallback_tuning")
    return section if isinstance(section, dict) and "target_kept" in section else None


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

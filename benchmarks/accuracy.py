"""Shared steps of the accuracy benchmarks: seeded splits, temporary corpus files, train, evaluate.

Datasets are read from ``../shared/data`` and split in memory; the pieces are written to a
temporary directory (never the repository) so that the real ``train_model``/``evaluate_model``
path is what gets measured.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from sklearn.model_selection import train_test_split

from chatbot.model_dir import ModelDir

BENCH_CONFIGS = Path(__file__).resolve().parent / "configs"


def stratified_split(rows: list[dict[str, str]], fraction: float, seed: int, key: str = "intent"):
    """Split rows into (train, held_out), stratified on ``key``."""
    return train_test_split(rows, test_size=fraction, random_state=seed, stratify=[r[key] for r in rows])


def write_csv(rows: list[dict[str, str]], path: Path) -> Path:
    """Write rows with a header (text, intent[, answer]) as our CSV corpus format."""
    fields = [f for f in ("text", "intent", "answer") if any(f in r for r in rows)]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in fields} for r in rows)
    return path


def train_and_evaluate(train_rows: list[dict[str, str]], eval_rows: list[dict[str, str]], config: str | Path,
                       extra_eval: list[Path] = (), overrides: dict[str, Any] | None = None,
                       keep_model: Path | None = None) -> dict[str, Any]:
    """Train with the project's trainer on ``train_rows`` and evaluate on ``eval_rows`` (+ files).

    ``overrides`` are the train command's flags (``device``, ``seed``, ``time_budget_minutes``);
    ``keep_model`` is where to copy the trained model directory (else it is deleted)."""
    from training.evaluate import evaluate_model
    from training.train import train_model

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        tmp = Path(tmp)
        train_file = write_csv(train_rows, tmp / "train.csv")
        eval_file = write_csv(eval_rows, tmp / "eval.csv")
        started = time.perf_counter()
        meta = train_model([train_file], tmp / "model", config, overrides=overrides)
        train_seconds = time.perf_counter() - started
        report = evaluate_model(tmp / "model", [eval_file, *extra_eval], tmp / "report")
        saved = ModelDir(tmp / "model").read_config()
        report["model_steps"] = saved
        if keep_model is not None:
            shutil.copytree(tmp / "model", keep_model, dirs_exist_ok=True)
    report["train_seconds"] = round(train_seconds, 1)
    report["model_meta"] = {k: meta.get(k) for k in ("classifier", "validation", "tokenizer", "neural", "fit_rows",
                                                        "search")}
    report["pipeline_config"] = str(config)
    return report


def summarise(runs: list[dict[str, Any]], keys: list[str]) -> dict[str, Any]:
    """Mean, standard deviation, minimum and per-run values of each key over repeated splits."""
    import statistics

    out = {}
    for key in keys:
        values = [r[key] for r in runs]
        out[key] = {"mean": round(statistics.fmean(values), 4),
                    "std": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
                    "min": min(values), "runs": values}
    return out

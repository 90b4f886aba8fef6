"""``train`` and ``evaluate`` sub-commands, contributed to ``python -m chatbot`` by entry point."""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from training.config import DEFAULT_CONFIG, available_configs


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the training sub-commands to the chatbot CLI."""
    train = subparsers.add_parser("train", help="train a model directory from a corpus")
    train.add_argument("--data", action="append", required=True,
                       help="corpus file or directory (YAML, CSV, TSV, JSONL); repeatable")
    train.add_argument("--out", required=True, help="model directory to write")
    train.add_argument("--config", default=DEFAULT_CONFIG,
                       help=f"bundled config name ({', '.join(available_configs())}) or a YAML file")
    train.set_defaults(func=run_train)

    evaluate = subparsers.add_parser("evaluate", help="evaluate a model on a labelled corpus")
    evaluate.add_argument("--model", required=True, help="model directory")
    evaluate.add_argument("--data", action="append", required=True, help="labelled corpus; repeatable")
    evaluate.add_argument("--out", required=True, help="directory for report.json, predictions.jsonl and the PNG")
    evaluate.set_defaults(func=run_evaluate)


def run_train(args: argparse.Namespace) -> int:
    from training.train import train_model

    with tqdm(total=None, desc="train", unit=" step", file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(stage: str) -> None:
            bar.set_postfix_str(stage)
            bar.update(1)

        meta = train_model(args.data, args.out, args.config, progress=progress)
    val = meta.get("validation", {})
    summary = {
        "out": meta["out_dir"], "rows": meta["data"]["rows"], "intents": meta["data"]["intents"],
        "classifier": meta["classifier"]["model"], "tokenizer": meta["tokenizer"],
        "validation_accuracy": val.get("intent", {}).get("accuracy"),
        "validation_macro_f1": val.get("intent", {}).get("macro_f1"),
        "train_seconds": meta["train_seconds"],
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from training.evaluate import evaluate_model

    report = evaluate_model(args.model, args.data, args.out)
    brief = {k: report[k] for k in ("rows", "intent", "fallback", "response") if k in report}
    if "intent" in brief:
        brief["intent"] = {k: v for k, v in brief["intent"].items() if k != "per_class"}
    print(json.dumps(brief, ensure_ascii=False, indent=2))
    print(f"wrote {args.out}/report.json, predictions.jsonl, confusion_matrix.png", file=sys.stderr)
    return 0

"""``train``, ``evaluate`` and ``pretrain`` sub-commands, contributed to ``python -m chatbot`` by entry point."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import closing, nullcontext

from tqdm import tqdm

from chatbot.model_dir import ModelDir
from chatbot.progress import listening
from training.cli_support import distributed_session, minutes
from training.config import DEFAULT_CONFIG, available_configs
from training.forecaster_cli import register as register_forecaster
from training.pretrain import register as register_pretrain
from training.progress import ProgressLog
from training.vision_cli import register as register_vision


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the training sub-commands to the chatbot CLI."""
    train = subparsers.add_parser("train", help="train a model directory from a corpus")
    train.add_argument("--data", action="append", required=True,
                       help="corpus file or directory (YAML, CSV, TSV, JSONL); repeatable")
    train.add_argument("--out", required=True, help="model directory to write")
    train.add_argument("--config", default=DEFAULT_CONFIG,
                       help=f"bundled config name ({', '.join(available_configs())}) or a YAML file")
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                       help="where neural components train (default: the config's, usually auto)")
    train.add_argument("--resume", action="store_true",
                       help="continue neural training from the checkpoints in OUT/checkpoints")
    train.add_argument("--time-budget", type=minutes, default=None, metavar="MINUTES",
                       help="stop neural training in time for the whole command to end near this, with a usable model")
    train.add_argument("--seed", type=int, default=None, help="seed for the validation split and every component")
    train.add_argument("--search-budget", type=float, default=None, metavar="SECONDS",
                       help="seconds for choosing the featurisation and classifier by cross-validation (configs with "
                            "a training.search section, such as the default; 60 unless the config says; 0: no search)")
    train.add_argument("--pretrained", default=None, metavar="PATH_OR_ID",
                       help="BERT-family checkpoint for the bert-* configs: a folder from `chatbot pretrain`, "
                            "or KoBERT/KLUE-BERT/KoELECTRA copied here (nothing is downloaded)")
    train.add_argument("--dialogues", nargs="+", default=None, metavar="PATH",
                       help="run these conversation files or folders (e.g. tests/dialogues) on the new model and add "
                            "their per-turn accuracy to evaluation/report.json (the console shows it)")
    train.add_argument("--progress-file", default=None, metavar="PATH",
                       help="append one JSON line per step ({time, stage, done, total}), then a done or failed line")
    train.set_defaults(func=run_train)

    evaluate = subparsers.add_parser("evaluate", help="evaluate a model on a labelled corpus")
    evaluate.add_argument("--model", required=True, help="model directory")
    evaluate.add_argument("--data", action="append", required=True, help="labelled corpus; repeatable")
    evaluate.add_argument("--out", required=True, help="directory for report.json, predictions.jsonl and the PNG")
    evaluate.add_argument("--dialogues", nargs="+", default=None, metavar="PATH",
                          help="also run these conversation files or folders (e.g. tests/dialogues) and report "
                               "per-turn accuracy (report.json's dialogues); none unless given")
    evaluate.set_defaults(func=run_evaluate)

    register_pretrain(subparsers)
    register_vision(subparsers)
    register_forecaster(subparsers)


def run_train(args: argparse.Namespace) -> int:
    from training.train import train_model

    overrides = {"device": args.device, "resume": args.resume, "time_budget_minutes": args.time_budget,
                 "seed": args.seed, "pretrained": args.pretrained}
    with distributed_session(args.device) as rank:
        log = ProgressLog(args.progress_file) if args.progress_file and rank == 0 else None
        with tqdm(total=None, desc="train", unit=" step", file=sys.stderr, dynamic_ncols=True,
                  disable=rank != 0) as bar, closing(log) if log else nullcontext():
            def progress(stage: str) -> None:
                bar.set_postfix_str(stage)
                bar.update(1)
                if log:
                    log.step(stage)

            def plan(total: int) -> None:
                bar.total = total
                bar.refresh()
                if log:
                    log.plan(total)

            def within(done: int, total: int) -> None:  # a network's training steps, inside one pipeline step
                if log:
                    log.within(done, total)

            try:
                with listening(within):
                    meta = train_model(args.data, args.out, args.config, progress=progress, overrides=overrides,
                                       plan=plan, dialogues=args.dialogues, search_budget=args.search_budget)
            except BaseException as exc:  # the reader of the file learns why; the exit status stays as it was
                if log:
                    log.failed(exc)
                raise
            summary = train_summary(meta)
            if log:
                log.finished(meta["out_dir"], summary)
    if rank != 0:
        return 0
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


def train_summary(meta: dict) -> dict:
    """What ``train`` prints: the training record's headline figures (``ModelDir.headline``) and how it trained."""
    head = ModelDir.headline(meta)
    return {
        "out": meta["out_dir"], "rows": head["rows"], "intents": head["intents"],
        "classifier": meta["classifier"]["model"], "tokenizer": meta["tokenizer"],
        "search": (meta.get("search") or {}).get("chosen"),
        "validation_accuracy": head["validation_accuracy"], "validation_macro_f1": head["validation_macro_f1"],
        "refit": meta.get("refit"), "fit_rows": meta.get("fit_rows"), "world_size": meta.get("world_size", 1),
        "neural": meta.get("neural", {}), "loss_curve": meta.get("loss_curve"),
        "train_seconds": meta["train_seconds"],
    }


def run_evaluate(args: argparse.Namespace) -> int:
    from training.evaluate import evaluate_model

    report = evaluate_model(args.model, args.data, args.out, dialogues=args.dialogues)
    brief = {k: report[k] for k in ("rows", "intent", "fallback", "response", "entities", "dialogues") if k in report}
    if "intent" in brief:
        brief["intent"] = {k: v for k, v in brief["intent"].items() if k != "per_class"}
    if "entities" in brief:
        brief["entities"] = {k: brief["entities"][k] for k in ("micro_f1", "macro_f1", "examples")
                             if k in brief["entities"]}
    if "dialogues" in brief:
        brief["dialogues"] = {k: v for k, v in brief["dialogues"].items() if k != "failing_turns"}
    print(json.dumps(brief, ensure_ascii=False, indent=2))
    written = ["report.json", "predictions.jsonl"] + (["confusion_matrix.png"] if "intent" in report else [])
    print(f"wrote {args.out}/" + ", ".join(written), file=sys.stderr)
    return 0

"""``python -m chatbot train-forecaster``'s arguments, kept apart from the training code so that building
the command line does not import torch for every other sub-command."""

from __future__ import annotations

import argparse
import json
import sys

from training.cli_support import minutes


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-forecaster`` to the chatbot CLI."""
    parser = subparsers.add_parser(
        "train-forecaster", help="train an LSTM/GRU forecaster for the /forecast chat command",
        description="Train an LSTM/GRU forecaster on a CSV file or dataset:NAME (co2, sunspots, nile, elnino, gdp). "
                    "Holds out the last blocks of --horizon points and scores them (MASE, sMAPE, vs seasonal "
                    "naive); writes model.safetensors, forecaster.json, report.json and loss_curve.png.")
    parser.add_argument("--data", required=True, metavar="SPEC", help="a CSV file | dataset:NAME")
    parser.add_argument("--out", required=True, help="model directory to write")
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    parser.add_argument("--window", type=int, default=None, help="input length (default: two seasons, or 16)")
    parser.add_argument("--horizon", type=int, default=12, help="steps predicted at once (default 12)")
    parser.add_argument("--hidden", type=int, default=32, help="hidden size (default 32)")
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None, help="default 150, with early stopping")
    parser.add_argument("--period", type=int, default=None,
                        help="seasonal period (default: from the dates' frequency, such as 12 for monthly)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", dest="learning_rate", type=float, default=1e-2)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--time-budget", type=minutes, default=None, metavar="MINUTES")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints")
    parser.set_defaults(func=run_train_forecaster)


def run_train_forecaster(args: argparse.Namespace) -> int:
    from training.forecaster import train_forecaster

    for name in ("window", "horizon", "hidden", "layers", "epochs", "period", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    options = {k: getattr(args, k) for k in ("cell", "window", "horizon", "hidden", "layers", "epochs", "period",
                                              "batch_size", "learning_rate", "device", "time_budget", "seed",
                                              "resume")}
    report = train_forecaster(args.data, args.out, **options)
    training = report["training"]
    summary = {"out": str(args.out), **{k: report[k] for k in ("data", "points", "model", "period", "held_out")},
               "window": report["config"]["window"], "horizon": report["config"]["horizon"],
               **{k: training[k] for k in ("steps", "best_step", "stopped_by", "best_validation_loss", "resumed_from",
                                           "device", "precision", "seconds")}}
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    print(f"wrote {args.out}: model.safetensors, forecaster.json, report.json, loss_curve.png", file=sys.stderr)
    return 0

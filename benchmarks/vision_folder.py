"""The trainer's workflow on an image folder: ``python -m chatbot train-vision --data FOLDER`` from the command line.

    python benchmarks/vision_folder.py [--models resnet lenet] [--epochs 15] [--time-budget 2] [--threads N]
                                       [--keep-models DIR]

Writes an image folder into a temporary directory, one subfolder per class under ``train/`` and
``test/``, from real data: scikit-learn's 8x8 digits enlarged to 32x32 greyscale PNG files (the
1,437 rows of ``training.vision.load_splits``'s training part in ``train/``, its 360 held-out rows
in ``test/``, so the figures can be set beside ``vision_digits.py``'s). Then, for each model, it
runs the real command in a subprocess, as a trainer would:

    python -m chatbot train-vision --data FOLDER --out DIR --model M --epochs N --time-budget MIN
        --image-size 32 --no-flip

(``--no-flip``: a mirrored 2 or 3 is not a digit; ``--image-size 32``: the pictures are 32 pixels,
the folder default of 64 would only enlarge them and cost 4x the time on a CPU). It reads
``report.json`` and reports the held-out accuracy on ``test/``, the command's wall seconds, the
training seconds and examples/s, and checks that ``confusion_matrix.png``, ``labels.json``,
``vision.json`` and ``model.safetensors`` were written. The GPU throughput the issue also asks
for needs ``--device cuda`` on a machine with a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from PIL import Image  # noqa: E402

from benchmarks.common import (  # noqa: E402
    REPO_ROOT,
    add_common_arguments,
    arguments_dict,
    emit,
    environment,
    log,
    markdown_table,
)

EXPECTED_FILES = ("model.safetensors", "vision.json", "labels.json", "report.json", "confusion_matrix.png")


def load_now() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def write_folder(root: Path, size: int) -> dict[str, int]:
    """train/<digit>/*.png and test/<digit>/*.png from scikit-learn's digits; the image counts."""
    from chatbot.vision.datasets import load_digits
    from training.vision import load_splits

    digits = load_digits()  # uint8 0..255, bright strokes on black
    _, train_rows, validation_rows, _, test_rows, _ = load_splits("digits", 0.2, 0.1, seed=0)
    counts = {}
    for split, rows in (("train", train_rows + validation_rows), ("test", test_rows)):
        for row in rows:
            folder = root / split / digits.classes[digits.targets[row]]
            folder.mkdir(parents=True, exist_ok=True)
            picture = Image.fromarray(digits.images[row]).resize((size, size), Image.Resampling.BILINEAR)
            picture.save(folder / f"{row:04d}.png")
        counts[split] = len(rows)
    return counts


def run_cli(folder: Path, out: Path, model: str, args: argparse.Namespace) -> dict[str, Any]:
    """One ``train-vision`` command; its report, timings and the files it wrote."""
    command = [sys.executable, "-m", "chatbot", "train-vision", "--data", str(folder), "--out", str(out),
               "--model", model, "--epochs", str(args.epochs), "--time-budget", str(args.time_budget),
               "--image-size", str(args.image_size), "--no-flip", "--seed", str(args.seed), "--device", args.device]
    log("$ " + " ".join(["python", *command[1:]]))
    load_before = load_now()
    started = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)} if args.threads else None
    process = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        log(process.stderr[-3000:])
        return {"model": model, "returncode": process.returncode, "error": process.stderr[-1000:]}
    printed = json.loads(process.stdout)  # the command prints its report (without per-class figures)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    training = report["training"]
    return {
        "model": model, "returncode": 0, "command": " ".join(["python", *command[1:]]),
        "accuracy": report["held_out"]["accuracy"], "macro_f1": report["held_out"]["macro_f1"],
        "held_out_split": report["held_out_split"], "rows": report["rows"], "classes": report["classes"],
        "command_seconds": round(wall, 2), "train_vision_seconds": report["seconds"],
        "training_seconds": round(training["seconds"], 2), "examples_per_second": training["examples_per_second"],
        "steps": training["steps"], "best_step": training["best_step"], "stopped_by": training["stopped_by"],
        "epochs_run": len(report.get("history", [])), "device": training["device"],
        "stdout_is_the_report": printed.get("held_out", {}).get("accuracy") == report["held_out"]["accuracy"],
        "files": {name: (out / name).is_file() for name in EXPECTED_FILES},
        "labels": json.loads((out / "labels.json").read_text(encoding="utf-8")),
        "load_before": load_before, "load_after": load_now(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, data=False)
    parser.add_argument("--models", nargs="+", default=["resnet", "lenet"], choices=["resnet", "lenet", "resnet18"])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--time-budget", type=float, default=2.0, metavar="MINUTES", help="per model")
    parser.add_argument("--image-size", type=int, default=32, help="the PNGs' side and the model input's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads of the command, through OMP_NUM_THREADS (default: one per core)")
    parser.add_argument("--keep-models", type=Path, metavar="DIR", help="copy the model directories here")
    args = parser.parse_args()
    env = environment(["torch", "torchvision", "pillow"])
    runs = []
    with tempfile.TemporaryDirectory(prefix="vision-folder-") as tmp:
        folder = Path(tmp) / "digits-folder"
        counts = write_folder(folder, args.image_size)
        log(f"image folder {folder}: {counts['train']} training and {counts['test']} test PNGs, "
            f"{args.image_size}x{args.image_size}")
        for model in args.models:
            out = Path(tmp) / f"model-{model}"
            run = run_cli(folder, out, model, args)
            runs.append(run)
            if run["returncode"] == 0:
                log(f"{model}: held-out accuracy {run['accuracy']:.4f}, command {run['command_seconds']} s, "
                    f"{run['examples_per_second']} examples/s, stopped by {run['stopped_by']}, files {run['files']}")
                if args.keep_models:
                    target = args.keep_models / f"folder-{model}"
                    shutil.rmtree(target, ignore_errors=True)
                    shutil.copytree(out, target, ignore=shutil.ignore_patterns("checkpoints"))
    ok = all(r["returncode"] == 0 and all(r["files"].values()) for r in runs)
    result = {
        "benchmark": "vision_folder", "images": counts, "image_side_px": args.image_size, "all_ok": ok,
        "runs": runs, "gpu": "none on this machine: GPU throughput not measured" if args.device != "cuda" else None,
        "params": arguments_dict(args), "environment": env, "load_at_end": load_now(),
    }
    rows = [[r["model"], r.get("accuracy"), r.get("macro_f1"), r.get("command_seconds"), r.get("training_seconds"),
             r.get("examples_per_second"), r.get("stopped_by")] for r in runs]
    log(markdown_table(["model", "held-out acc.", "macro-F1", "command s", "train s", "examples/s", "stopped by"],
                       rows))
    emit(result, args.out)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Held-out accuracy of the default digits model, against scikit-learn baselines on the same split.

    python benchmarks/vision_digits.py [--seeds 0 1 2] [--no-fonts] [--threads N] [--keep-model DIR]

For each seed, ``train_vision("digits", TMP, seed=SEED, progress=False)`` trains the default
model (``python -m chatbot train-vision --data digits``, defaults otherwise) and its report gives
the accuracy on the fixed held-out split (a stratified 20% of scikit-learn's 1,797 digits, 360
images, seed 0, the same whatever ``--seed``), the training seconds and examples/s. Target
(issue 5): accuracy >= 0.99.

Baselines on the same held-out rows, taken from ``training.vision.load_splits`` itself: an RBF
SVM with ``gamma=0.001, C=10`` (scikit-learn's digits example), an RBF SVM whose C and gamma are
chosen by 5-fold cross-validation on the training part only, k-nearest neighbours and logistic
regression, all on the raw 64 pixel counts (0..16) of the 1,437 rows that are not held out.

"Fonts" (skip with ``--no-fonts``) is a domain-shift check of the serving side, not the target:
the digits 0-9 typeset with the TrueType fonts found on the machine (DejaVu, Liberation), black
on a white 280x280 canvas like the chat's drawing pad, in several sizes, positions and stroke
widths, encoded to PNG and classified through ``load_image`` and ``ImageClassifier.classify``
as the chat does. Typeset digits are not handwriting (serifs, a closed 4, a 1 with a flag), so
this shows how well ``prepare`` maps a user's picture onto the 8x8 training style.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np  # noqa: E402

from benchmarks.common import add_common_arguments, arguments_dict, emit, environment, log, markdown_table  # noqa: E402

FONT_FILES = [
    "dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf", "dejavu/DejaVuSans-Oblique.ttf", "dejavu/DejaVuSerif.ttf",
    "dejavu/DejaVuSansMono.ttf", "liberation/LiberationSans-Regular.ttf", "liberation/LiberationSerif-Regular.ttf",
    "liberation/LiberationMono-Regular.ttf",
]
FONT_SIZES = (150, 200)  # pixels: the digit's height is about 0.73 of this
OFFSETS = ((0, 0), (-40, -30), (40, 30))  # where the digit's centre sits, relative to the canvas centre
STROKES = (0, 6, 12)  # extra outline width in pixels (the drawing pad's pen is 21 px wide at 280 px)
CANVAS = 280


def load_now() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def train_seed(seed: int, folder: Path) -> dict[str, Any]:
    """Train the default digits model for one seed; its held-out figures and timings."""
    from training.vision import train_vision

    load_before = load_now()
    started = time.perf_counter()
    report = train_vision("digits", folder, seed=seed, progress=False)
    wall = time.perf_counter() - started
    held_out = report["held_out"]
    training = report["training"]
    return {
        "seed": seed, "accuracy": held_out["accuracy"], "macro_f1": held_out["macro_f1"],
        "errors": round((1 - held_out["accuracy"]) * report["rows"]["held_out"]),
        "recall_per_class": {k: v["recall"] for k, v in held_out["per_class"].items()},
        "rows": report["rows"], "held_out_split": report["held_out_split"],
        "training_seconds": round(training["seconds"], 2), "train_vision_seconds": report["seconds"],
        "wall_seconds": round(wall, 2), "examples_per_second": training["examples_per_second"],
        "steps": training["steps"], "best_step": training["best_step"], "stopped_by": training["stopped_by"],
        "load_before": load_before, "load_after": load_now(),
    }


def baselines(cv_folds: int) -> dict[str, Any]:
    """scikit-learn classifiers trained on the non-held-out rows, scored on the held-out rows of ``load_splits``."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from training.vision import load_splits

    dataset, train_rows, validation_rows, test_data, test_rows, held_out = load_splits("digits", 0.2, 0.1, seed=0)
    bunch = load_digits()
    if test_data is not dataset or not np.array_equal(np.asarray(dataset.targets), bunch.target):
        raise SystemExit("error: the trainer's digits are not scikit-learn's digits in the same order")
    rows = np.asarray(sorted(train_rows + validation_rows))
    test = np.asarray(test_rows)
    x, y = bunch.data, bunch.target
    if set(rows) & set(test):
        raise SystemExit("error: held-out rows overlap the training rows")
    results: dict[str, Any] = {"held_out_split": held_out, "train_rows": len(rows), "held_out_rows": len(test)}

    def score(name: str, model: Any, extra: dict[str, Any] | None = None) -> None:
        started = time.perf_counter()
        model.fit(x[rows], y[rows])
        fit_seconds = time.perf_counter() - started
        accuracy = float((model.predict(x[test]) == y[test]).mean())
        results[name] = {"accuracy": round(accuracy, 4), "errors": int(round((1 - accuracy) * len(test))),
                         "fit_seconds": round(fit_seconds, 2), **(extra or {})}
        log(f"{name}: held-out accuracy {accuracy:.4f} ({fit_seconds:.1f} s)")

    score("svm_rbf_gamma0.001_C10", SVC(kernel="rbf", gamma=0.001, C=10))
    grid = GridSearchCV(SVC(kernel="rbf"), {"C": [1, 3, 10, 30, 100], "gamma": [0.0003, 0.0005, 0.001, 0.002, 0.004]},
                        cv=StratifiedKFold(cv_folds, shuffle=True, random_state=0), n_jobs=1)
    score("svm_rbf_cv_grid", grid)
    results["svm_rbf_cv_grid"].update(best_params=grid.best_params_, cv_accuracy=round(float(grid.best_score_), 4))
    score("knn_3", KNeighborsClassifier(n_neighbors=3))
    score("logistic_regression", make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)))
    return results


def find_fonts() -> list[Path]:
    """The TrueType fonts of FONT_FILES present on this machine, else matplotlib's bundled DejaVu Sans."""
    fonts = [Path("/usr/share/fonts/truetype") / name for name in FONT_FILES]
    fonts = [f for f in fonts if f.is_file()]
    if not fonts:
        from matplotlib import font_manager

        fonts = [Path(font_manager.findfont("DejaVu Sans"))]
    return fonts


def typeset(digit: int, font_path: Path, size: int, offset: tuple[int, int], stroke: int) -> bytes:
    """PNG bytes of one black digit on a white canvas."""
    from PIL import Image, ImageDraw, ImageFont

    canvas = Image.new("RGB", (CANVAS, CANVAS), "white")
    font = ImageFont.truetype(str(font_path), size)
    centre = (CANVAS // 2 + offset[0], CANVAS // 2 + offset[1])
    ImageDraw.Draw(canvas).text(centre, str(digit), fill="black", font=font, anchor="mm",
                                stroke_width=stroke, stroke_fill="black")
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def font_check(model_dir: Path, fonts: list[Path]) -> dict[str, Any]:
    """Share of typeset digits classified right, overall and by font, stroke and digit."""
    from chatbot.vision.classifier import ImageClassifier
    from chatbot.vision.images import load_image

    classifier = ImageClassifier.load(model_dir)
    by_font: dict[str, list[bool]] = {}
    by_stroke: dict[int, list[bool]] = {}
    by_size: dict[int, list[bool]] = {}
    by_digit: dict[int, list[bool]] = {}
    confusions: Counter[str] = Counter()
    for font in fonts:
        for size in FONT_SIZES:
            for offset in OFFSETS:
                for stroke in STROKES:
                    for digit in range(10):
                        picture = load_image(typeset(digit, font, size, offset, stroke)).image
                        predicted = classifier.classify(picture, top_k=1).classes[0]
                        right = predicted == str(digit)
                        by_font.setdefault(font.stem, []).append(right)
                        by_stroke.setdefault(stroke, []).append(right)
                        by_size.setdefault(size, []).append(right)
                        by_digit.setdefault(digit, []).append(right)
                        if not right:
                            confusions[f"{digit}->{predicted}"] += 1

    def share(values: list[bool]) -> float:
        return round(sum(values) / len(values), 4)

    everything = [v for values in by_font.values() for v in values]
    return {"images": len(everything), "correct": share(everything),
            "by_font": {k: share(v) for k, v in by_font.items()},
            "by_stroke_px": {str(k): share(v) for k, v in by_stroke.items()},
            "by_font_size_px": {str(k): share(v) for k, v in by_size.items()},
            "by_digit": {str(k): share(v) for k, v in by_digit.items()},
            "top_confusions": dict(confusions.most_common(8))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, data=False)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--target-accuracy", type=float, default=0.99)
    parser.add_argument("--cv-folds", type=int, default=5, help="folds of the SVM grid search (training part only)")
    parser.add_argument("--no-fonts", dest="fonts", action="store_false", help="skip the typeset-digits check")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads while training (default: torch's choice, one per core)")
    parser.add_argument("--keep-model", type=Path, metavar="DIR",
                        help="copy the first seed's model directory here (e.g. for vision_latency.py --model)")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    env = environment(["torch", "torchvision", "pillow"])
    runs, fonts_result = [], {}
    fonts = find_fonts() if args.fonts else []
    with tempfile.TemporaryDirectory(prefix="vision-digits-") as tmp:
        for seed in args.seeds:
            log(f"seed {seed}: training the default digits model (load {load_now()})")
            folder = Path(tmp) / f"seed{seed}"
            run = train_seed(seed, folder)
            log(f"seed {seed}: held-out accuracy {run['accuracy']:.4f} ({run['errors']} of "
                f"{run['rows']['held_out']} wrong), training {run['training_seconds']} s, "
                f"{run['examples_per_second']} examples/s, load {run['load_after']}")
            if fonts:
                run["fonts"] = font_check(folder, fonts)
                log(f"seed {seed}: typeset digits {run['fonts']['correct']:.4f} right of {run['fonts']['images']}")
            runs.append(run)
            if args.keep_model and seed == args.seeds[0]:
                shutil.rmtree(args.keep_model, ignore_errors=True)
                shutil.copytree(folder, args.keep_model, ignore=shutil.ignore_patterns("checkpoints"))
                log(f"model of seed {seed} kept in {args.keep_model}")
    if fonts:
        fonts_result = {"fonts": [str(f) for f in fonts], "sizes_px": list(FONT_SIZES),
                        "offsets_px": [list(o) for o in OFFSETS], "strokes_px": list(STROKES), "canvas_px": CANVAS,
                        "correct_per_seed": [r["fonts"]["correct"] for r in runs],
                        "correct_mean": round(statistics.fmean(r["fonts"]["correct"] for r in runs), 4)}
    log("baselines on the same held-out split")
    base = baselines(args.cv_folds)
    accuracies = [r["accuracy"] for r in runs]
    result = {
        "benchmark": "vision_digits",
        "target_accuracy": args.target_accuracy,
        "accuracy_mean": round(statistics.fmean(accuracies), 4), "accuracy_min": min(accuracies),
        "accuracy_per_seed": accuracies,
        "target_met_on_mean": statistics.fmean(accuracies) >= args.target_accuracy,
        "target_met_every_seed": min(accuracies) >= args.target_accuracy,
        "training_seconds_per_seed": [r["training_seconds"] for r in runs],
        "training_seconds_mean": round(statistics.fmean(r["training_seconds"] for r in runs), 2),
        "torch_threads": torch.get_num_threads(), "runs": runs, "baselines": base, "typeset_digits": fonts_result,
        "params": arguments_dict(args), "environment": env, "load_at_end": load_now(),
    }
    rows = [[f"CNN seed {r['seed']}", r["accuracy"], r["macro_f1"], r["training_seconds"], r["examples_per_second"],
             r["fonts"]["correct"] if fonts else None] for r in runs]
    rows += [[name, v["accuracy"], None, v["fit_seconds"], None, None]
             for name, v in base.items() if isinstance(v, dict) and "accuracy" in v]
    log(markdown_table(["model", "held-out acc.", "macro-F1", "train s", "examples/s", "typeset digits"], rows))
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

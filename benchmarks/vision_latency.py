"""CPU latency of classifying one picture, as the chat's ``/image`` command does (target: <= 20 ms on 2 cores).

    python benchmarks/vision_latency.py [--model DIR [DIR ...]] [--threads 2] [--repeat 300] [--no-bot]

Every timed call starts from the uploaded bytes: ``load_image(bytes)`` (safe decoding to RGB)
then ``ImageClassifier.classify(picture, top_k=3, explain=...)``. The cases:

- ``drawing``: a 280x280 PNG of a digit drawn with a 21-pixel pen, black on white, as the chat's
  drawing pad sends it; ``explain=False`` (labels only);
- ``drawing_gradcam``: the same with ``explain=True`` (the Grad-CAM overlay the chat shows);
- ``photo``: a 1024x768 JPEG (smooth colour gradients plus noise, quality 90), ``explain=False``;
- ``photo_gradcam``: the same with ``explain=True``;
- ``bot_drawing`` / ``bot_photo``: the whole chat path, ``Bot.reply("", image=load_image(bytes))``,
  which adds the reply text and the Grad-CAM PNG attachment. The chat pipeline is trained into a
  temporary folder first (``python -m chatbot train --data data/corpus``, seconds) unless
  ``--chat-model`` names one; ``--no-bot`` skips these cases.

After ``--warmup`` untimed calls, each case runs ``--repeat`` times; median, p95, mean and max are
reported in ms, with the decoding share, the first call's time after loading and torch's thread
counts. Without ``--model``, the default digits model is trained into a temporary folder first
(``train_vision("digits", ...)``, about 30 s on 2 quiet cores).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from benchmarks.common import (  # noqa: E402
    REPO_ROOT,
    add_common_arguments,
    arguments_dict,
    emit,
    environment,
    log,
    markdown_table,
)
from chatbot.vision.classifier import ImageClassifier  # noqa: E402
from chatbot.vision.images import load_image  # noqa: E402

PAD = 280
PEN = 21  # the drawing pad's pen: max(8, 7.5% of the pad) pixels (webui/static)
SEVEN = [(75, 70), (205, 70), (125, 225)]  # a handwritten-looking 7, as pen strokes
TARGET_MS = 20


def drawing_png() -> bytes:
    """A digit 7 drawn with round pen ends, black on a white 280x280 PNG."""
    canvas = Image.new("RGB", (PAD, PAD), "white")
    draw = ImageDraw.Draw(canvas)
    draw.line(SEVEN, fill="black", width=PEN, joint="curve")
    for x, y in SEVEN:
        draw.ellipse((x - PEN // 2, y - PEN // 2, x + PEN // 2, y + PEN // 2), fill="black")
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def photo_jpeg(width: int = 1024, height: int = 768, seed: int = 0) -> bytes:
    """A photo-sized JPEG: smooth colour gradients and sensor-like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = [128 + 100 * np.sin(x / 97 + 1), 128 + 100 * np.cos(y / 61), 128 + 90 * np.sin((x + y) / 150)]
    pixels = np.stack(channels, axis=-1) + rng.normal(0, 12, (height, width, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def summary(total: list[float], decode: list[float]) -> dict[str, Any]:
    ordered = sorted(total)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return {"median_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2),
            "mean_ms": round(statistics.fmean(ordered), 2), "max_ms": round(ordered[-1], 2),
            "decode_median_ms": round(statistics.median(decode), 2), "runs": len(ordered),
            "meets_target_median": statistics.median(ordered) <= TARGET_MS, "meets_target_p95": p95 <= TARGET_MS}


def time_case(work: Callable[[Any], Any], data: bytes, warmup: int, repeat: int) -> dict[str, Any]:
    """``work(decoded)`` after ``load_image(data)``, timed end to end from the bytes."""
    for _ in range(warmup):
        work(load_image(data))
    total, decode = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        decoded = load_image(data)
        decoded_at = time.perf_counter()
        work(decoded)
        ended = time.perf_counter()
        total.append((ended - started) * 1000)
        decode.append((decoded_at - started) * 1000)
    return summary(total, decode)


def train_digits(folder: Path) -> Path:
    from training.vision import train_vision

    log("no --model: training the default digits model first (about 30 s on 2 quiet cores)")
    train_vision("digits", folder, seed=0, progress=False)
    return folder


def chat_model(folder: Path) -> Path:
    log("training the chat pipeline for the Bot.reply cases (python -m chatbot train --data data/corpus)")
    subprocess.run([sys.executable, "-m", "chatbot", "train", "--data", "data/corpus", "--out", str(folder)],
                   cwd=REPO_ROOT, check=True, capture_output=True)
    return folder


def measure_model(model_dir: Path, inputs: dict[str, bytes], args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    classifier = ImageClassifier.load(model_dir)
    load_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    first = classifier.classify(load_image(inputs["drawing"]).image, top_k=3)
    first_ms = (time.perf_counter() - started) * 1000
    meta = classifier.meta
    result: dict[str, Any] = {
        "model": str(model_dir), "arch": meta.get("arch"), "dataset": meta.get("dataset"),
        "input": {k: meta["preprocess"].get(k) for k in ("style", "image_size", "channels", "native_size")},
        "parameters": sum(p.numel() for p in classifier.model.parameters()),
        "load_ms": round(load_ms, 1), "first_call_ms": round(first_ms, 1),
        "drawing_top3": [[label, round(score, 4)] for label, score in first.labels], "cases": {},
    }
    for case, data, explain in (("drawing", inputs["drawing"], False), ("drawing_gradcam", inputs["drawing"], True),
                                ("photo", inputs["photo"], False), ("photo_gradcam", inputs["photo"], True)):
        log(f"{model_dir.name}: {case} ({args.repeat} runs, load {[round(x, 2) for x in os.getloadavg()]})")
        result["cases"][case] = time_case(lambda d, e=explain: classifier.classify(d.image, top_k=3, explain=e),
                                          data, args.warmup, args.repeat)
    return result


def measure_bot(chat_dir: Path, vision_dir: Path, inputs: dict[str, bytes], args: argparse.Namespace) -> dict:
    from chatbot.bot import Bot

    bot = Bot.load(chat_dir, vision_model=vision_dir)
    reply = bot.reply("", image=load_image(inputs["drawing"]))
    cases: dict[str, Any] = {"drawing_reply_text": reply.text,
                             "attachments": [a.get("type") for a in reply.attachments]}
    for case in ("drawing", "photo"):
        log(f"Bot.reply: {case} ({args.repeat} runs)")
        cases[f"bot_{case}"] = time_case(lambda d: bot.reply("", image=d), inputs[case], args.warmup, args.repeat)
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, data=False)
    parser.add_argument("--model", type=Path, nargs="+", metavar="DIR",
                        help="image model directories (default: train the digits model into a temporary folder)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2, the target's cores)")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--chat-model", type=Path, metavar="DIR", help="chat model for the Bot.reply cases")
    parser.add_argument("--no-bot", dest="bot", action="store_false", help="skip the Bot.reply cases")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    env = environment(["torch", "torchvision", "pillow"])
    inputs = {"drawing": drawing_png(), "photo": photo_jpeg()}
    with tempfile.TemporaryDirectory(prefix="vision-latency-") as tmp:
        models = args.model or [train_digits(Path(tmp) / "digits")]
        measured = [measure_model(m, inputs, args) for m in models]
        bot = {}
        if args.bot:
            chat_dir = args.chat_model or chat_model(Path(tmp) / "chat")
            bot = measure_bot(chat_dir, models[0], inputs, args)
    result = {
        "benchmark": "vision_latency", "target_ms": TARGET_MS,
        "torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads(),
        "inputs": {"drawing": f"{PAD}x{PAD} PNG, {len(inputs['drawing'])} bytes",
                   "photo": f"1024x768 JPEG, {len(inputs['photo'])} bytes"},
        "models": measured, "bot": bot,
        "params": {**arguments_dict(args), "model": [str(m) for m in args.model or []]}, "environment": env,
        "load_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    rows = [[f"{Path(m['model']).name} ({m['arch']})", case, c["median_ms"], c["p95_ms"], c["mean_ms"],
             c["decode_median_ms"]] for m in measured for case, c in m["cases"].items()]
    rows += [["Bot.reply", case, c["median_ms"], c["p95_ms"], c["mean_ms"], c["decode_median_ms"]]
             for case, c in bot.items() if isinstance(c, dict)]
    log(markdown_table(["model", "case", "median ms", "p95 ms", "mean ms", "decode ms"], rows))
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Issue 6 speed target: a 12-step forecast of a 200-point monthly series, with its chart, in at most 2 s.

Times what the chat does for ``/forecast 200 numbers h=12``: parse the message, choose the model
by backtest (``auto``), forecast, describe and draw the PNG chart; also ``Bot``-free pieces
separately. The series is synthetic (trend + yearly season + noise) with a fixed seed; the first
run is reported apart (imports, statsmodels' first fits).

    python benchmarks/forecast_speed.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np  # noqa: E402

from benchmarks.common import add_common_arguments, arguments_dict, emit, environment  # noqa: E402


def series_text(points: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    t = np.arange(points)
    values = 200 + 0.8 * t + 25 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 4, points)
    return " ".join(f"{v:.1f}" for v in values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--points", type=int, default=200)
    add_common_arguments(parser, data=False)
    args = parser.parse_args()

    from chatbot.commands.forecast_command import forecast_command

    timings, models = [], []
    for run in range(args.runs + 1):
        text = series_text(args.points, seed=run) + " h=12"
        started = time.perf_counter()
        reply = forecast_command(text, None, {})
        elapsed = time.perf_counter() - started
        forecast = next(a for a in reply.attachments if a["type"] == "forecast")
        assert len(forecast["values"]) == 12 and any(a.get("role") == "chart" for a in reply.attachments)
        if run == 0:
            first = elapsed
            continue
        timings.append(elapsed)
        models.append(forecast["model"])
    ordered = sorted(timings)
    emit({"benchmark": "forecast_speed", "points": args.points, "horizon": 12, "runs": args.runs,
          "first_run_seconds": round(first, 3), "median_seconds": round(statistics.median(timings), 3),
          "p95_seconds": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
          "max_seconds": round(max(timings), 3), "models_chosen": sorted(set(models)), "target_seconds": 2.0,
          "params": arguments_dict(args), "environment": environment(["statsmodels", "pandas", "matplotlib"])},
         args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

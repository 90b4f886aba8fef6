"""Where training a config on 3i4K spends its time, stage by stage (issue 22: 55,000 rows in 2 minutes).

Trains ``--config`` (default: the plain ``default`` config that ``train`` uses) on 3i4K's stratified split
(``--seed``, 10% held out, as ``benchmarks/intents_3i4k.py`` does) through ``benchmarks.accuracy``'s real
``train_model``/``evaluate_model`` path, and times every component's ``fit``, ``process_batch`` and
``tune`` in each phase (validation fit, tuning, refit, evaluation). Prints one JSON object: the whole
training's seconds, the evaluation's rows per second, the held-out accuracy, macro-F1 and fallback figures,
and the per-stage table (also on stderr, slowest first).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections import defaultdict
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.accuracy import stratified_split, train_and_evaluate  # noqa: E402
from benchmarks.common import add_common_arguments, arguments_dict, data_file, emit, environment, log  # noqa: E402
from benchmarks.intents_3i4k import read_rows  # noqa: E402

METHODS = ("fit", "process_batch", "tune")


class StageClock:
    """Seconds and rows per (phase, stage, method), the outermost call of each stage only."""

    def __init__(self) -> None:
        self.phase = "setup"
        self.seconds: dict[tuple[str, str, str], float] = defaultdict(float)
        self.rows: dict[tuple[str, str, str], int] = defaultdict(int)
        self._inside: set[tuple[int, str]] = set()

    def wrap_method(self, cls: type, method: str) -> None:
        original = getattr(cls, method)
        clock = self

        @functools.wraps(original)
        def timed(component, *args, **kwargs):
            key = (id(component), method)
            if key in clock._inside:  # a nested call (a subclass calling super()): counted by the outer one
                return original(component, *args, **kwargs)
            clock._inside.add(key)
            started = time.perf_counter()
            try:
                return original(component, *args, **kwargs)
            finally:
                clock._inside.discard(key)
                slot = (clock.phase, component.name, method)
                clock.seconds[slot] += time.perf_counter() - started
                first = args[0] if args else None
                clock.rows[slot] += len(getattr(first, "messages", first) or []) if first is not None else 0

        setattr(cls, method, timed)

    def wrap_phase(self, module, function: str, phase) -> None:
        original = getattr(module, function)
        clock = self

        @functools.wraps(original)
        def phased(*args, **kwargs):
            before = clock.phase
            clock.phase = phase(args, kwargs) if callable(phase) else phase
            try:
                return original(*args, **kwargs)
            finally:
                clock.phase = before

        setattr(module, function, phased)

    def table(self) -> list[dict]:
        rows = [{"phase": p, "stage": s, "method": m, "seconds": round(v, 2), "rows": self.rows[(p, s, m)]}
                for (p, s, m), v in self.seconds.items()]
        return sorted(rows, key=lambda r: -r["seconds"])


def instrument(config: str) -> StageClock:
    import training.evaluate
    import training.train
    from chatbot.pipeline import Pipeline
    from chatbot.registry import component_class
    from training.config import load_config

    clock = StageClock()
    for step in load_config(config)["pipeline"]:
        cls = component_class(step["name"])
        for method in METHODS:
            if hasattr(cls, method):
                clock.wrap_method(cls, method)
    clock.wrap_phase(training.train, "fit", lambda args, kwargs: args[-1])  # "validation fit" or "fit"
    clock.wrap_phase(Pipeline, "tune", "tune")
    clock.wrap_phase(training.evaluate, "evaluate_model", "evaluate")
    return clock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_common_arguments(parser)
    parser.add_argument("--config", default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-fraction", type=float, default=0.1)
    parser.add_argument("--limit", type=int, default=None, help="train on the first N rows of the split only")
    args = parser.parse_args()
    rows = read_rows(data_file(args.data_dir, "3i4k/fci_train_val.txt"))
    train, held_out = stratified_split(rows, args.eval_fraction, args.seed)
    train = train[:args.limit] if args.limit else train
    log(f"3i4K seed {args.seed}: {len(train)} training rows, {len(held_out)} held out; config {args.config}")
    clock = instrument(args.config)
    report = train_and_evaluate(train, held_out, args.config)
    table = clock.table()
    for row in table[:25]:
        log(f"{row['seconds']:8.2f} s  {row['rows']:7d} rows  {row['phase']:15s} {row['stage']:26s} {row['method']}")
    emit({"benchmark": "train_profile", "config": args.config, "train_rows": len(train),
          "train_seconds": report["train_seconds"], "rows_per_second": report["rows_per_second"],
          "intent": {k: report["intent"][k] for k in ("accuracy", "macro_f1")},
          "fallback": report.get("fallback"), "validation": report["model_meta"]["validation"],
          "thresholds": next((s["params"] for s in report["model_steps"] if s["name"] == "fallback_detector"), None),
          "stages": table, "params": arguments_dict(args),
          "environment": environment(["kiwipiepy", "nltk", "korean-datetime"])}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

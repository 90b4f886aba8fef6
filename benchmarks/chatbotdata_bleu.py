"""ChatbotData: response BLEU-4 over morphemes of the retrieval responder on a held-out split.

Each run holds out 10% of train.csv (stratified on the label, one seed per run); the model is
trained on the rest and answers each held-out question; NLTK corpus BLEU-4 compares the replies
with the gold answers, both split into Kiwi morphemes. The figure is the mean over the seeds.
Target (issue 2): BLEU-4 >= 28.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.accuracy import BENCH_CONFIGS, stratified_split, summarise, train_and_evaluate  # noqa: E402
from benchmarks.common import add_common_arguments, arguments_dict, data_file, emit, environment, log  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_common_arguments(parser)
    parser.add_argument("--config", default=str(BENCH_CONFIGS / "retrieval_only.yaml"))
    parser.add_argument("--eval-fraction", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    with data_file(args.data_dir, "chatbot_data/train.csv").open(encoding="utf-8") as f:
        rows = [{"text": r["Q"], "answer": r["A"], "intent": r["label"].strip()} for r in csv.DictReader(f)]
    runs = []
    for seed in args.seeds:
        train, held_out = stratified_split(rows, args.eval_fraction, seed)
        log(f"ChatbotData seed {seed}: {len(train)} training pairs, {len(held_out)} held-out questions")
        report = train_and_evaluate(train, held_out, args.config)
        runs.append({"seed": seed, **{k: report["response"][k] for k in ("bleu4", "distinct1", "distinct2")},
                     "intent_accuracy": report["intent"]["accuracy"], "train_seconds": report["train_seconds"]})
        log(f"  BLEU-4 {runs[-1]['bleu4']}")
    summary = summarise(runs, ["bleu4", "distinct1", "distinct2", "intent_accuracy"])
    result = {
        "benchmark": "chatbotdata_bleu", **summary, "target": {"bleu4": 28}, "met": summary["bleu4"]["mean"] >= 28,
        "runs": runs, "train_rows": len(train), "eval_rows": len(held_out), "params": arguments_dict(args),
        "environment": environment(["kiwipiepy", "nltk"]),
    }
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""ChatbotData: response BLEU-4 over morphemes of a responder on a held-out split.

Each run holds out 10% of train.csv (stratified on the label, one seed per run); the model is
trained on the rest and answers each held-out question; NLTK corpus BLEU-4 compares the replies
with the gold answers, both split into Kiwi morphemes. The figure is the mean over the seeds.

Configs and targets:
- retrieval (default ``--config``), issue 2: BLEU-4 >= 28;
- ``benchmarks/configs/chatbotdata_seq2seq.yaml``, issue 3: BLEU-4 >= 12 (``--target-bleu 12``),
  and with ``--time-budget 10 --device cpu`` on 2 cores, BLEU-4 >= 8;
- ``benchmarks/configs/chatbotdata_hybrid.yaml``, issue 3: BLEU-4 >= 30 and distinct-2 >= 0.35.
Generative models also report the perplexity of the gold answers and their training summary.
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
    parser.add_argument("--target-bleu", type=float, default=28.0)
    parser.add_argument("--target-distinct2", type=float, default=None)
    parser.add_argument("--time-budget", type=float, default=None, metavar="MINUTES",
                        help="the train command's --time-budget (whole training run)")
    parser.add_argument("--device", default=None, help="the train command's --device")
    parser.add_argument("--keep-model", type=Path, default=None, metavar="DIR",
                        help="copy the last run's model directory here (for benchmarks/seq2seq_latency.py --model)")
    args = parser.parse_args()
    overrides = {"time_budget_minutes": args.time_budget, "device": args.device}
    with data_file(args.data_dir, "chatbot_data/train.csv").open(encoding="utf-8") as f:
        rows = [{"text": r["Q"], "answer": r["A"], "intent": r["label"].strip()} for r in csv.DictReader(f)]
    runs = []
    for seed in args.seeds:
        train, held_out = stratified_split(rows, args.eval_fraction, seed)
        log(f"ChatbotData seed {seed}: {len(train)} training pairs, {len(held_out)} held-out questions")
        keep = args.keep_model if seed == args.seeds[-1] else None
        report = train_and_evaluate(train, held_out, args.config, overrides=overrides, keep_model=keep)
        runs.append({"seed": seed, **{k: report["response"][k] for k in ("bleu4", "distinct1", "distinct2")},
                     "perplexity": report["response"].get("perplexity"), "reply_sources": report["reply_sources"],
                     "intent_accuracy": report["intent"]["accuracy"], "train_seconds": report["train_seconds"],
                     "neural": report["model_meta"].get("neural"), "fit_rows": report["model_meta"].get("fit_rows")})
        log(f"  BLEU-4 {runs[-1]['bleu4']}, distinct-2 {runs[-1]['distinct2']}, perplexity {runs[-1]['perplexity']}, "
            f"sources {runs[-1]['reply_sources']}, train {runs[-1]['train_seconds']} s")
    summary = summarise(runs, ["bleu4", "distinct1", "distinct2", "intent_accuracy", "train_seconds"])
    target = {"bleu4": args.target_bleu}
    met = summary["bleu4"]["mean"] >= args.target_bleu
    if args.target_distinct2 is not None:
        target["distinct2"] = args.target_distinct2
        met = met and summary["distinct2"]["mean"] >= args.target_distinct2
    result = {
        "benchmark": "chatbotdata_bleu", **summary, "target": target, "met": met,
        "runs": runs, "train_rows": len(train), "eval_rows": len(held_out), "params": arguments_dict(args),
        "environment": environment(["kiwipiepy", "nltk", "torch", "sentencepiece"]),
    }
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

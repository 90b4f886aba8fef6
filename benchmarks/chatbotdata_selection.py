"""ChatbotData answer selection: recall@1 of the BERT selector among 10 candidates.

    python benchmarks/chatbotdata_selection.py --pretrained DIR [--seeds 0 1 2] [--device cuda]

Each run holds out 10% of train.csv (stratified on the label, one seed per run) and trains the
``bert-selector`` config (``benchmarks/configs`` may hold a variant: ``--config``) on the rest with
``--pretrained``. For every held-out question the candidates are its gold answer plus 9 answers
drawn at random from the other held-out rows (answers different from the gold one, fixed by the
seed); the selector's encoder scores each candidate by cosine to the question. Recall@1 is the
share of questions whose gold answer scores highest. The figure is the mean over the seeds.
Target (issue 4): recall@1 >= 0.80. A TF-IDF baseline on the same candidates (cosine between the
question's and each answer's character 1-4-gram vectors, fitted on the training answers and
questions) is reported beside it.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np  # noqa: E402

from benchmarks.accuracy import stratified_split, summarise, write_csv  # noqa: E402
from benchmarks.common import add_common_arguments, arguments_dict, data_file, emit, environment, log  # noqa: E402

CANDIDATES = 10


def candidate_sets(held_out: list[dict[str, str]], seed: int) -> list[list[str]]:
    """For each row: its gold answer first, then 9 different answers of other held-out rows."""
    rng = random.Random(seed)
    answers = sorted({r["answer"] for r in held_out})
    sets = []
    for row in held_out:
        others = [a for a in rng.sample(answers, min(len(answers), 3 * CANDIDATES)) if a != row["answer"]]
        sets.append([row["answer"], *others[:CANDIDATES - 1]])
    return sets


def recall_at_1(n: int, score) -> float:
    """Share of the ``n`` rows whose first candidate (the gold answer) scores strictly highest
    (``score(i)`` -> the candidates' scores); a tie counts as a miss, so all-zero scores earn nothing."""
    hits = 0
    for i in range(n):
        scores = np.asarray(score(i))
        hits += int(scores[0] > scores[1:].max())
    return hits / n


def selector_recall_at_1(encoder, held_out: list[dict[str, str]], sets: list[list[str]]) -> float:
    questions = encoder.encode([r["text"] for r in held_out])
    return recall_at_1(len(held_out), lambda i: encoder.encode(sets[i]) @ questions[i])


def tfidf_baseline(train: list[dict[str, str]], held_out: list[dict[str, str]], sets: list[list[str]]) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True)
    vectorizer.fit([r["text"] for r in train] + [r["answer"] for r in train])
    questions = vectorizer.transform([r["text"] for r in held_out])
    return recall_at_1(questions.shape[0], lambda i: (vectorizer.transform(sets[i]) @ questions[i].T).toarray().ravel())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--pretrained", required=True, help="checkpoint folder (chatbot pretrain output, KoBERT, ...)")
    parser.add_argument("--config", default="bert-selector", help="bundled config name or YAML file")
    parser.add_argument("--eval-fraction", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--time-budget", type=float, default=None, metavar="MINUTES", help="per run")
    args = parser.parse_args()
    from chatbot.pipeline import Pipeline
    from training.train import train_model

    with data_file(args.data_dir, "chatbot_data/train.csv").open(encoding="utf-8") as f:
        rows = [{"text": r["Q"], "answer": r["A"], "intent": r["label"].strip()} for r in csv.DictReader(f)]
    runs = []
    for seed in args.seeds:
        train, held_out = stratified_split(rows, args.eval_fraction, seed)
        sets = candidate_sets(held_out, seed)
        log(f"ChatbotData selection seed {seed}: {len(train)} training pairs, {len(held_out)} held-out questions")
        overrides = {"pretrained": args.pretrained, "device": args.device, "seed": seed}
        if args.time_budget:
            overrides["time_budget_minutes"] = args.time_budget
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            meta = train_model([write_csv(train, Path(tmp) / "train.csv")], Path(tmp) / "model", args.config,
                               overrides=overrides)
            selector = Pipeline.load(Path(tmp) / "model").find("bert_selector")
        selector_recall = selector_recall_at_1(selector.encoder_, held_out, sets)
        baseline = tfidf_baseline(train, held_out, sets)
        summary = next(v for k, v in meta["neural"].items() if k.endswith("bert_selector"))
        runs.append({"seed": seed, "recall_at_1": round(selector_recall, 4), "tfidf_recall_at_1": round(baseline, 4),
                     "training": summary, "held_out": len(held_out)})
        log(f"  recall@1 {selector_recall:.4f} (TF-IDF {baseline:.4f})")
    result = {"benchmark": "chatbotdata_selection", **summarise(runs, ["recall_at_1", "tfidf_recall_at_1"]),
              "candidates": CANDIDATES, "target": {"recall_at_1": 0.80}, "runs": runs,
              "params": arguments_dict(args), "environment": environment(["torch", "transformers", "kiwipiepy"])}
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

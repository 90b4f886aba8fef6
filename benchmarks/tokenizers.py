"""Tokenizer backends compared: load time, throughput (sentences/s) and an intent-accuracy proxy.

    python benchmarks/tokenizers.py [--n 5000] [--train-n 8000] [--backends kiwi mecab okt komoran] [--out FILE]

Each backend runs in its own fresh Python process (so its load time is a real cold start, and one
backend's JVM or threads do not slow another's measurement). KoNLPy's Okt is the reference:
speeds are also given as a multiple of Okt's.

Sentences: ``--n`` texts, half ChatbotData questions (``chatbot_data/train.csv``, column Q) and half
3i4K utterances (``3i4k/fci_train_val.txt``), sampled with ``--seed`` and normalised the way the
pipeline normalises them before tokenizing. After a warm-up on ``--warmup`` other sentences, the
script times one ``tokenize`` call per sentence, then one ``tokenize_batch`` call over all of them,
``--repeat`` times each, and reports the median.

Accuracy proxy: 3i4K sentence-type classification (7 classes) with one fixed, simple pipeline in
which only the tokenizer changes (lemma uni/bi-gram TF-IDF plus character *unigrams*, linear SVM),
trained on a stratified sample of ``--train-n`` rows and tested on a disjoint stratified sample of
``--test-n`` rows. Texts are de-duplicated first so no test text is also a training text.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import from the checkout, and keep benchmarks/ off sys.path
    sys.path[0] = str(Path(__file__).resolve().parents[1])  # (this file would shadow HF `tokenizers`)

from benchmarks.common import add_common_arguments, arguments_dict, data_file, emit, environment, log, markdown_table

ALL_BACKENDS = ["kiwi", "mecab", "okt", "komoran"]
REFERENCE = "okt"
REFERENCE_NOTE = ("vs_okt divides by our okt backend's speed; it calls KoNLPy Okt.pos twice per sentence "
                  "(surface forms, then stem=True for lemmas)")
PACKAGES = ("kiwipiepy", "python-mecab-ko", "konlpy", "JPype1")
CHATBOT_DATA = "chatbot_data/train.csv"
FCI = "3i4k/fci_train_val.txt"
FCI_LABELS = {
    "0": "fragment", "1": "statement", "2": "question", "3": "command",
    "4": "rhetorical_question", "5": "rhetorical_command", "6": "intonation_dependent",
}


def accuracy_pipeline(backend: str) -> list[dict[str, Any]]:
    """The fixed proxy model: only the tokenizer backend varies."""
    return [
        {"name": "normalizer"},
        {"name": "tokenizer", "params": {"backend": backend}},
        {"name": "lemmatizer"},
        {"name": "stopwords"},
        # Character unigrams only, so that the comparison is about the morphemes, not char n-grams.
        {"name": "tfidf_featurizer", "params": {"char_ngram_range": [1, 1]}},
        # An SVM has no probabilities: with calibration None it falls back to 2-fold sigmoid calibration.
        {"name": "sklearn_intent_classifier", "params": {"model": "linear_svm", "calibration": None}},
    ]


# ---------------------------------------------------------------- data


def read_chatbot_questions(data_dir: Path) -> list[str]:
    """Column Q of ChatbotData."""
    with data_file(data_dir, CHATBOT_DATA).open(encoding="utf-8", newline="") as f:
        return [row["Q"].strip() for row in csv.DictReader(f) if row.get("Q", "").strip()]


def read_fci(data_dir: Path) -> list[tuple[str, str]]:
    """3i4K rows as ``(text, label name)``; the file is ``label<TAB>text`` with CRLF line ends."""
    path = data_file(data_dir, FCI)
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        label, sep, text = line.partition("\t")
        if not sep or label.strip() not in FCI_LABELS:
            raise SystemExit(f"error: {path}:{number}: expected 'label<TAB>text' with a label 0-6, got {line[:60]!r}")
        if text.strip():
            rows.append((text.strip(), FCI_LABELS[label.strip()]))
    return rows


def throughput_sentences(data_dir: Path, n: int, warmup: int, seed: int) -> tuple[list[str], list[str]]:
    """``(measured, warm-up)`` sentences, disjoint, half from each corpus, normalised."""
    from chatbot.nlp.normalize import normalize

    rng = random.Random(seed)
    questions = read_chatbot_questions(data_dir)
    fci = [text for text, _ in read_fci(data_dir)]
    total = n + warmup
    from_questions = min(total // 2, len(questions))
    from_fci = min(total - from_questions, len(fci))
    picked = rng.sample(questions, from_questions) + rng.sample(fci, from_fci)
    rng.shuffle(picked)
    picked = [s for s in (normalize(t) for t in picked) if s]
    return picked[warmup:], picked[:warmup]


def accuracy_split(data_dir: Path, train_n: int, test_n: int, seed: int):
    """Disjoint stratified train/test samples of de-duplicated 3i4K rows, as TrainingData / messages."""
    from sklearn.model_selection import train_test_split

    from chatbot.message import Message, TrainingData

    seen: dict[str, str] = {}
    for text, label in read_fci(data_dir):
        seen.setdefault(text, label)  # the first label of a repeated text wins
    texts, labels = list(seen), list(seen.values())
    rest, test = train_test_split(range(len(texts)), test_size=test_n, stratify=labels, random_state=seed)
    if train_n < len(rest):
        rest, _ = train_test_split(rest, train_size=train_n, stratify=[labels[i] for i in rest], random_state=seed)
    train = TrainingData([Message(texts[i], gold_intent=labels[i]) for i in rest])
    return train, [Message(texts[i], gold_intent=labels[i]) for i in test], len(texts)


# ---------------------------------------------------------------- one backend (worker process)


def timed(function, repeat: int) -> dict[str, Any]:
    """Wall and CPU seconds of ``repeat`` calls; the median run is the figure."""
    runs = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    walls = [w for w, _ in runs]
    median = statistics.median(walls)
    return {"seconds": round(median, 4), "cpu_seconds": round(statistics.median(c for _, c in runs), 4),
            "runs_seconds": [round(w, 4) for w in walls], "_median": median}


def measure_backend(args: argparse.Namespace) -> dict[str, Any]:
    """Everything measured for one backend, in this (fresh) process."""
    backend = args.worker
    sentences, warmup = throughput_sentences(args.data_dir, args.n, args.warmup, args.seed)
    start = time.perf_counter()
    from chatbot.nlp.tokenizers import TokenizerUnavailable, get_tokenizer

    try:
        tokenizer = get_tokenizer(backend)
    except TokenizerUnavailable as exc:
        return {"backend": backend, "available": False, "error": str(exc)}
    result: dict[str, Any] = {"backend": backend, "available": True,
                              "load_seconds": round(time.perf_counter() - start, 3)}
    first = time.perf_counter()
    tokenizer.tokenize(warmup[0] if warmup else sentences[0])
    result["first_call_ms"] = round((time.perf_counter() - first) * 1000, 2)
    # Kiwi loads its model on the first call, Okt JIT-compiles then: ready = constructed + first call.
    result["ready_seconds"] = round(time.perf_counter() - start, 3)
    for text in warmup:
        tokenizer.tokenize(text)

    single_output: list[list[str]] = []

    def single() -> None:
        single_output[:] = [[t.form for t in tokenizer.tokenize(s)] for s in sentences]

    batch_output: list[list[str]] = []

    def batch() -> None:
        batch_output[:] = [[t.form for t in tokens] for tokens in tokenizer.tokenize_batch(sentences)]

    for mode, function in (("single", single), ("batch", batch)):
        timing = timed(function, args.repeat)
        timing["sentences_per_second"] = round(len(sentences) / timing.pop("_median"), 1)
        result[mode] = timing
    result["sentences"] = len(sentences)
    result["tokens_per_sentence"] = round(sum(map(len, batch_output)) / max(1, len(batch_output)), 2)
    # The batch path must give the same morphemes as one call per sentence.
    result["batch_matches_single"] = round(
        sum(a == b for a, b in zip(single_output, batch_output, strict=True)) / max(1, len(sentences)), 4)
    if args.accuracy:
        result["accuracy"] = accuracy_proxy(backend, args)
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def accuracy_proxy(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """3i4K accuracy and macro-F1 of the fixed pipeline with this backend."""
    from chatbot.evaluation import intent_metrics
    from chatbot.pipeline import Pipeline

    train, test, distinct = accuracy_split(args.data_dir, args.train_n, args.test_n, args.seed)
    pipeline = Pipeline(accuracy_pipeline(backend))
    start = time.perf_counter()
    pipeline.fit(train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predicted = pipeline.process_batch(test)
    predict_seconds = time.perf_counter() - start
    metrics = intent_metrics([m.gold_intent for m in predicted], [m.intent for m in predicted])
    return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
            "per_class_f1": {k: v["f1"] for k, v in metrics["per_class"].items()},
            "train_rows": len(train.messages), "test_rows": len(test), "distinct_texts": distinct,
            "fit_seconds": round(fit_seconds, 2), "predict_seconds": round(predict_seconds, 2),
            # Every parameter with its default filled in, in case a component's defaults change later.
            "resolved_pipeline": [{"name": c.name, "params": c.params} for c in pipeline.components]}


# ---------------------------------------------------------------- driver


def run_worker(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """Measure one backend in a fresh interpreter; its JSON comes back on stdout."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", backend,
               "--n", str(args.n), "--warmup", str(args.warmup), "--repeat", str(args.repeat),
               "--seed", str(args.seed), "--train-n", str(args.train_n), "--test-n", str(args.test_n),
               "--data-dir", str(args.data_dir)]
    if not args.accuracy:
        command.append("--no-accuracy")
    log(f"[{backend}] measuring in a fresh process ...")
    start = time.perf_counter()
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=args.worker_timeout)
    except subprocess.TimeoutExpired:
        return {"backend": backend, "available": False, "error": f"timed out after {args.worker_timeout} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"backend": backend, "available": False, "error": f"worker exited with code {done.returncode}"}
    result = json.loads(lines[-1])
    log(f"[{backend}] done in {time.perf_counter() - start:.1f} s")
    return result


def add_relative_speeds(results: list[dict[str, Any]]) -> None:
    """Each backend's speed as a multiple of the reference (Okt)."""
    reference = next((r for r in results if r["backend"] == REFERENCE and r.get("available")), None)
    for r in results:
        if not r.get("available"):
            continue
        for mode in ("single", "batch"):
            ref = reference[mode]["sentences_per_second"] if reference else None
            r[mode]["vs_okt"] = round(r[mode]["sentences_per_second"] / ref, 2) if ref else None


def table(results: list[dict[str, Any]]) -> str:
    header = ["backend", "load s", "ready s", "single sent/s", "× Okt", "batch sent/s", "× Okt", "tokens/sent",
              "3i4K acc", "3i4K macro-F1", "peak RSS MiB"]
    rows = []
    for r in results:
        if not r.get("available"):
            rows.append([r["backend"]] + [None] * (len(header) - 1))
            continue
        acc = r.get("accuracy") or {}
        rows.append([r["backend"], r["load_seconds"], r["ready_seconds"],
                     r["single"]["sentences_per_second"], r["single"]["vs_okt"],
                     r["batch"]["sentences_per_second"], r["batch"]["vs_okt"], r["tokens_per_sentence"],
                     acc.get("accuracy"), acc.get("macro_f1"), r["peak_rss_mib"]])
    return markdown_table(header, rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="sentences to tokenize (default 5000)")
    parser.add_argument("--warmup", type=int, default=100, help="warm-up sentences, not timed (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per mode; the median counts (default 3)")
    parser.add_argument("--train-n", type=int, default=8000, help="3i4K training rows for the accuracy proxy")
    parser.add_argument("--test-n", type=int, default=2000, help="3i4K test rows for the accuracy proxy")
    parser.add_argument("--no-accuracy", dest="accuracy", action="store_false", help="skip the accuracy proxy")
    parser.add_argument("--backends", nargs="+", default=ALL_BACKENDS, choices=ALL_BACKENDS, metavar="NAME",
                        help=f"backends to measure (default: {' '.join(ALL_BACKENDS)})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker-timeout", type=int, default=1800, help="seconds allowed per backend")
    parser.add_argument("--worker", choices=ALL_BACKENDS, help=argparse.SUPPRESS)
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    for name in ("n", "repeat", "train_n", "test_n"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must be 0 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(measure_backend(args), ensure_ascii=False), flush=True)
        return 0
    for relative in (CHATBOT_DATA, FCI):
        data_file(args.data_dir, relative)  # fail before starting any worker
    results = [run_worker(backend, args) for backend in args.backends]
    add_relative_speeds(results)
    markdown = table(results)
    log("\n" + markdown + "\n\nload s: import + constructor in a fresh process; ready s: load plus the first call.\n")
    parameters = {k: v for k, v in arguments_dict(args).items() if k != "worker"}
    emit({"benchmark": "tokenizers", "reference": REFERENCE, "reference_note": REFERENCE_NOTE, "parameters": parameters,
          "environment": environment(PACKAGES), "accuracy_pipeline": accuracy_pipeline("<backend>"),
          "results": results, "table_markdown": markdown}, args.out)
    return 0 if all(r.get("available") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Korean Question Pair: same/different accuracy of a BERT cross-encoder fine-tuned from a checkpoint.

    python benchmarks/question_pair.py --pretrained DIR [--device cuda] [--epochs 5]

Data: the re-split version in ``../shared/data/question_pair`` (``train.txt``/``validation.txt``;
label 0 = same question, 1 = different). The test split is held back by the dataset folder, so the
figure is on ``validation.txt``; early stopping uses 10% carved from ``train.txt``. The model is
``AutoModelForSequenceClassification`` over ``[CLS] q1 [SEP] q2 [SEP]`` (loaded by
``chatbot.models.bert``), fine-tuned with the project's trainer. A character TF-IDF cosine with a
threshold tuned on the carved split is the baseline. Target (issue 4): accuracy >= 0.90.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np  # noqa: E402

from benchmarks.common import add_common_arguments, arguments_dict, data_file, emit, environment, log  # noqa: E402


def read_pairs(path: Path) -> list[tuple[str, str, int]]:
    with path.open(encoding="utf-8-sig") as f:
        return [(r["question1"], r["question2"], int(r["is_duplicate"])) for r in csv.DictReader(f, delimiter="\t")]


def tfidf_baseline(train, tune, test) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True)
    vectorizer.fit([q for a, b, _ in train for q in (a, b)])

    def cosine(rows):
        left, right = vectorizer.transform([a for a, _, _ in rows]), vectorizer.transform([b for _, b, _ in rows])
        return np.asarray(left.multiply(right).sum(axis=1)).ravel()

    tune_scores, labels = cosine(tune), np.array([y for *_, y in tune])
    threshold = max(np.unique(tune_scores), key=lambda t: np.mean((tune_scores < t).astype(int) == labels))
    test_labels = np.array([y for *_, y in test])
    return float(np.mean((cosine(test) < threshold).astype(int) == test_labels))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--pretrained", required=True)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--time-budget", type=float, default=None, metavar="MINUTES")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import torch
    from sklearn.model_selection import train_test_split

    from chatbot.models.bert import load_model, load_tokenizer, pad_encodings
    from chatbot.models.trainer import TrainConfig, train

    rows = read_pairs(data_file(args.data_dir, "question_pair/train.txt"))
    test = read_pairs(data_file(args.data_dir, "question_pair/validation.txt"))
    fit, tune = train_test_split(rows, test_size=0.1, random_state=args.seed, stratify=[r[2] for r in rows])
    tokenizer = load_tokenizer(args.pretrained)
    torch.manual_seed(args.seed)
    model = load_model(args.pretrained, "sequence_classification", num_labels=2)
    max_length = min(args.max_length, model.config.max_position_embeddings)

    def encode(data):
        return [(tokenizer(a, b, truncation=True, max_length=max_length), y) for a, b, y in data]

    def collate(batch):
        ids, mask, types = pad_encodings([e for e, _ in batch], tokenizer.pad_token_id)
        return ids, mask, types, torch.tensor([y for _, y in batch])

    def loss_fn(net, batch, step):
        ids, mask, types, labels = batch
        logits = net(input_ids=ids, attention_mask=mask, token_type_ids=types).logits.float()
        return torch.nn.functional.cross_entropy(logits, labels)

    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                         warmup_steps=100, patience=2, device=args.device, seed=args.seed,
                         time_budget_minutes=args.time_budget, checkpoint_every=0)
    log(f"question pair: {len(fit)} training pairs, {len(tune)} for early stopping, {len(test)} evaluated")
    result = train(model, encode(fit), encode(tune), collate, loss_fn, config)
    model.to("cpu").eval()
    predictions = []
    with torch.inference_mode():
        encoded = encode(test)
        for lo in range(0, len(encoded), 64):
            ids, mask, types, _ = collate(encoded[lo:lo + 64])
            predictions += model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits.argmax(-1).tolist()
    accuracy = float(np.mean(np.array(predictions) == np.array([y for *_, y in test])))
    baseline = tfidf_baseline(fit, tune, test)
    log(f"  accuracy {accuracy:.4f} (TF-IDF threshold {baseline:.4f})")
    emit({"benchmark": "question_pair", "accuracy": round(accuracy, 4), "tfidf_accuracy": round(baseline, 4),
          "majority_accuracy": round(max(np.mean([y for *_, y in test]), 1 - np.mean([y for *_, y in test])), 4),
          "target": {"accuracy": 0.90}, "training": {k: v for k, v in vars(result).items() if k != "history"},
          "pairs": {"train": len(fit), "early_stopping": len(tune), "evaluated": len(test)},
          "params": arguments_dict(args), "environment": environment(["torch", "transformers"])}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

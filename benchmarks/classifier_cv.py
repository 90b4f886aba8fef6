"""Choose the default intent classifier: k-fold cross-validated macro-F1 of the four models.

Runs the default pipeline's features on a corpus (our own by default) and scores logistic
regression, linear SVM, k-NN and a decision tree with stratified k-fold CV. The winner is
pinned in training/configs/default.yaml; ``model: auto`` does the same selection at train time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.common import REPO_ROOT, add_common_arguments, arguments_dict, emit, environment, log  # noqa: E402


def main() -> int:
    from sklearn.model_selection import StratifiedKFold, cross_validate

    from chatbot.corpus import OOD_LABEL, load_corpus
    from chatbot.intents.sklearn_classifier import ESTIMATORS, make_estimator
    from chatbot.nlp.features import stack_features
    from chatbot.pipeline import Pipeline
    from training.config import load_config

    parser = argparse.ArgumentParser(description=__doc__)
    add_common_arguments(parser, data=False)
    parser.add_argument("--data", action="append", default=None, help="corpus (default: data/corpus)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_corpus(args.data or [REPO_ROOT / "data" / "corpus"])
    steps = [s for s in load_config("default")["pipeline"] if s["name"] in
             ("normalizer", "tokenizer", "lemmatizer", "stopwords", "tfidf_featurizer")]
    features = Pipeline(steps).fit(data)
    messages = features.process_batch([m for m in data.messages if m.gold_intent != OOD_LABEL])
    X, y = stack_features(messages), [m.gold_intent for m in messages]
    cv = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    scores = {}
    for name in ESTIMATORS:
        started = time.perf_counter()
        result = cross_validate(make_estimator(name, args.seed), X, y, cv=cv, scoring=("accuracy", "f1_macro"))
        scores[name] = {"macro_f1": round(float(result["test_f1_macro"].mean()), 4),
                        "accuracy": round(float(result["test_accuracy"].mean()), 4),
                        "seconds": round(time.perf_counter() - started, 2)}
        log(f"{name}: {scores[name]}")
    best = max(scores, key=lambda k: scores[k]["macro_f1"])
    emit({"benchmark": "classifier_cv", "rows": len(y), "intents": len(set(y)), "folds": args.folds,
          "scores": scores, "best": best, "params": arguments_dict(args), "environment": environment()}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Choose the default model's featurisation and classifier by cross-validation on the trainer's own data.

``train`` with no config (the bundled ``default``, whose ``training.search`` section turns this on) scores
a small fixed set of candidates, the featurisations our benchmarks found (``FEATURISATIONS``) times a few
linear classifiers (``CLASSIFIERS``), by stratified cross-validation on the training split, keeps the
best by macro-F1 and writes it into the pipeline's ``tfidf_featurizer`` and ``sklearn_intent_classifier``
steps before anything is fitted. A config that names its own components has no ``search`` section and
is trained as written.

The search is kept inside a time budget (``--search-budget``, default 60 s): candidates run in a fixed
order, the bundled default's own choice first, and a featurisation is started only while the time its
predecessors took says it will end within the budget. Corpora larger than ``max_rows`` are scored on a
stratified sample of that size: the ranking of candidates settles well before the scores do. The text
stages before the featurizer (normalising, Kiwi, lemmas, stopwords) run once, on every sampled row;
the folds then share the analysed messages.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from chatbot.intents.sklearn_classifier import make_estimator, with_class_weights
from chatbot.message import Message, TrainingData
from chatbot.nlp.features import TfidfFeaturizer
from chatbot.pipeline import Pipeline
from chatbot.registry import component_class
from training.messages import fresh

log = logging.getLogger(__name__)

FEATURIZER, CLASSIFIER = "tfidf_featurizer", "sklearn_intent_classifier"

# Featurisations (tfidf_featurizer params), the bundled default's first. "lemma_bigrams" is what the
# default used before the search; "lemma_pos_edges" reads the sentence type from the final ending
# (benchmarks/configs/3i4k.yaml); the last trades character unigrams for 5-grams. Content lemmas alone
# (stopwords dropped), which match questions best on ChatbotData, are the retrieval responder's own
# candidates (chatbot/responders/matching.py): as intent features they won our corpus's cross-validation
# on three seeds of five by under a point and then missed two of its test cases (docs/benchmarks.md). Each candidate
# costs a featurizer and three classifiers per fold: the set is kept small so that the search fits in a
# few seconds on a corpus of a few thousand rows (docs/benchmarks.md, issue 22).
FEATURISATIONS: dict[str, dict[str, Any]] = {
    "lemma_bigrams": {"word_unit": "lemma", "word_ngram_range": [1, 2], "char_ngram_range": [1, 4],
                      "drop_stopwords": False, "edge_tokens": 0},
    "lemma_pos_edges": {"word_unit": "lemma_pos", "word_ngram_range": [1, 2], "char_ngram_range": [1, 4],
                        "drop_stopwords": False, "edge_tokens": 4},
    "lemma_pos_edges_char2_5": {"word_unit": "lemma_pos", "word_ngram_range": [1, 2], "char_ngram_range": [2, 5],
                                "drop_stopwords": False, "edge_tokens": 4},
}

# What the trainer console calls each candidate.
LABELS = {"lemma_bigrams": "기본형 1~2그램 + 글자 1~4그램",
          "lemma_pos_edges": "기본형/품사 + 문장 끝 형태소 + 글자 1~4그램",
          "lemma_pos_edges_char2_5": "기본형/품사 + 문장 끝 형태소 + 글자 2~5그램",
          "svm_c0.5_sqrt": "선형 SVM (C 0.5, 완만한 클래스 균형)", "svm_c1_sqrt": "선형 SVM (C 1, 완만한 클래스 균형)",
          "svm_c1_none": "선형 SVM (C 1)"}

# Classifiers: (sklearn_intent_classifier model, its estimator params). Class weights matter for
# macro-F1 on skewed corpora; the SVMs take the milder "sqrt_balanced" (sqrt(n_max / n_class)) or none.
# Full "balanced" weights won the 8,000-row sample of 3i4K and lost on the whole split (accuracy 0.893,
# macro-F1 0.824, against 0.8995 / 0.833 with square-root weights at C 0.5): a sample short of rare rows
# overrates them. Logistic regression is not a candidate: lbfgs took 10-14 s per fold on 5,300 3i4K rows
# (a linear SVM 0.2 s), and saga capped to fit the budget scored 0.69-0.74 on the same folds from run to
# run; when it won by that noise, the final fit took a minute and lost 1.3 points (docs/benchmarks.md).
CLASSIFIERS: dict[str, tuple[str, dict[str, Any]]] = {
    "svm_c0.5_sqrt": ("linear_svm", {"C": 0.5, "class_weight": "sqrt_balanced"}),
    "svm_c1_sqrt": ("linear_svm", {"C": 1.0, "class_weight": "sqrt_balanced"}),
    "svm_c1_none": ("linear_svm", {"C": 1.0}),
}

THREADS = 2  # the machine the budget is stated for has two cores
# Macro-F1 closer than this to the best is a tie, won by the first in the listed order: the default's own
# featurisation, then the more regularised SVM (C 0.5), which also fits in half the time of C 1. On
# 3i4K's sample C 0.5 and C 1 scored 0.7387 and 0.7388; C 1 took the 55,000-row training past 2 minutes.
TIE = 0.002
DEFAULTS = {"budget_seconds": 60.0, "folds": 3, "max_rows": 8000, "seed": 0}


@dataclass
class SearchResult:
    """What the search tried and chose; ``table`` rows are ``{featurisation, classifier, macro_f1, accuracy}``."""

    chosen: dict[str, str] | None
    table: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # featurisations the budget left out
    rows: int = 0
    folds: int = 0
    seconds: float = 0.0
    budget_seconds: float = 0.0
    reason: str = ""  # why no search ran, when none did

    def to_dict(self) -> dict[str, Any]:
        return {"chosen": self.chosen, "table": self.table, "skipped": self.skipped, "rows": self.rows,
                "folds": self.folds, "seconds": round(self.seconds, 2), "budget_seconds": self.budget_seconds,
                **({"reason": self.reason} if self.reason else {})}


def search_options(config: dict[str, Any], budget: float | None) -> dict[str, Any] | None:
    """The search's settings from ``training.search`` (absent or false: no search) and ``--search-budget``
    (0 turns it off)."""
    section = config.get("training", {}).get("search")
    if not section:
        return None
    options = {**DEFAULTS, **(section if isinstance(section, dict) else {})}
    if budget is not None:
        if budget < 0:
            raise ValueError("--search-budget must be 0 (no search) or a positive number of seconds")
        options["budget_seconds"] = float(budget)
    return options if options["budget_seconds"] > 0 else None


def searchable(steps: list[dict[str, Any]]) -> bool:
    """A pipeline the search knows how to change: one featurizer and one scikit-learn classifier."""
    names = [s["name"] for s in steps]
    return names.count(FEATURIZER) == 1 and names.count(CLASSIFIER) == 1


def text_stages(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps before the featurizer that prepare text (no entity stages: features do not read them)."""
    end = next(i for i, s in enumerate(steps) if s["name"] == FEATURIZER)
    return [s for s in steps[:end] if "entities" not in component_class(s["name"]).provides]


def analysed(steps: list[dict[str, Any]], data: TrainingData, messages: list[Message]) -> list[Message]:
    """Fresh copies of ``messages`` through the text stages (normalise, Kiwi, lemmas, stopwords)."""
    prefix = Pipeline(text_stages(steps))
    prefix.fit(data.with_messages([]))  # these stages learn nothing from rows
    return prefix.process_batch(fresh(messages))


def sample(messages: list[Message], limit: int, seed: int) -> list[Message]:
    """A stratified sample of at most ``limit`` messages; intents with one row are kept whole."""
    if len(messages) <= limit:
        return messages
    counts = Counter(m.gold_intent for m in messages)
    single = [m for m in messages if counts[m.gold_intent] < 2]
    rest = [m for m in messages if counts[m.gold_intent] >= 2]
    picked, _ = train_test_split(rest, train_size=max(limit - len(single), len(counts)), random_state=seed,
                                 stratify=[m.gold_intent for m in rest])
    return single + picked


def apply(steps: list[dict[str, Any]], chosen: dict[str, str]) -> None:
    """Write the chosen candidate into the featurizer and classifier steps (in place)."""
    model, params = CLASSIFIERS[chosen["classifier"]]
    for step in steps:
        if step["name"] == FEATURIZER:
            step["params"].update(FEATURISATIONS[chosen["featurisation"]])
        elif step["name"] == CLASSIFIER:
            step["params"]["model"] = model
            step["params"]["estimator_params"] = {model: dict(params)}


def run_search(steps: list[dict[str, Any]], data: TrainingData, messages: list[Message],
               options: dict[str, Any], clock: Callable[[], float] = time.monotonic,
               progress: Callable[[str], None] | None = None) -> SearchResult:
    """Cross-validate the candidates on ``messages`` (the training split) and return the table and the winner.

    ``clock`` is read before and after each featurisation (tests pass a fake one); ``progress(text)`` is
    told each featurisation as it starts."""
    started = clock()
    budget = float(options["budget_seconds"])
    rows = [m for m in messages if m.gold_intent]
    counts = Counter(m.gold_intent for m in rows)
    result = SearchResult(chosen=None, budget_seconds=budget)
    folds = int(options["folds"])
    if sum(n >= folds for n in counts.values()) < 2:
        result.reason = f"fewer than 2 intents with {folds} rows or more: nothing to cross-validate"
        return result
    rows = analysed(steps, data, sample(rows, int(options["max_rows"]), int(options["seed"])))
    y = np.array([m.gold_intent for m in rows])
    with warnings.catch_warnings():  # an intent with fewer rows than folds is simply absent from some folds
        warnings.simplefilter("ignore", UserWarning)
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=int(options["seed"])).split(rows, y))
    result.rows, result.folds = len(rows), folds
    base = next(s["params"] for s in steps if s["name"] == FEATURIZER)
    classifiers = list(CLASSIFIERS)
    longest = 0.0
    for name in FEATURISATIONS:
        if result.table and clock() - started + longest > budget:
            result.skipped += [f"{name} × {c}" for c in classifiers]
            if progress:  # the planned step still passes, so the bar ends where it was planned to
                progress(f"search: {name} skipped (budget)")
            continue
        if progress:
            progress(f"search: {name} × {', '.join(classifiers)}")
        began = clock()
        scores = score(rows, y, splits, {**base, **FEATURISATIONS[name]}, classifiers, int(options["seed"]))
        result.table += [{"featurisation": name, "classifier": c, **scores[c],
                          "label": f"{LABELS.get(name, name)} · {LABELS.get(c, c)}"} for c in classifiers]
        longest = max(longest, clock() - began)
    top = max(r["macro_f1"] for r in result.table)
    best = next(r for r in result.table if r["macro_f1"] >= top - TIE)  # the listed order breaks near-ties
    result.chosen = {"featurisation": best["featurisation"], "classifier": best["classifier"]}
    result.seconds = clock() - started
    log.info("search: %s chosen from %d candidates in %.1f s", result.chosen, len(result.table), result.seconds)
    return result


def score(rows: list[Message], y: np.ndarray, splits: list, featurizer_params: dict[str, Any],
          classifiers: list[str], seed: int) -> dict[str, dict[str, float]]:
    """Out-of-fold macro-F1 and accuracy of each classifier with one featurisation (fitted per fold).

    The folds run in two threads: liblinear and saga fit without holding the GIL, so the classifiers,
    most of the search's time, use both cores; the TF-IDF counting takes turns."""

    def fold(train_index, test_index) -> dict[str, np.ndarray]:
        featurizer = TfidfFeaturizer(**featurizer_params)
        X_train = featurizer.fit_transform([rows[i] for i in train_index])
        X_test = featurizer.transform([rows[i] for i in test_index])
        return {c: fit_predict(*CLASSIFIERS[c], X_train, y[train_index], X_test, seed) for c in classifiers}

    predictions = {c: np.empty(len(rows), dtype=object) for c in classifiers}
    with warnings.catch_warnings():  # here, not per thread (the filters are global): saga's cap is deliberate
        warnings.simplefilter("ignore", ConvergenceWarning)
        done = Parallel(n_jobs=min(THREADS, len(splits)), prefer="threads")(delayed(fold)(*split) for split in splits)
    for (_, test_index), found in zip(splits, done, strict=True):
        for classifier, predicted in found.items():
            predictions[classifier][test_index] = predicted
    return {c: {"macro_f1": round(float(f1_score(y, p, average="macro")), 4),
                "accuracy": round(float(accuracy_score(y, p)), 4)} for c, p in predictions.items()}


def fit_predict(model: str, params: dict[str, Any], X_train, y_train: np.ndarray, X_test, seed: int) -> np.ndarray:
    """One candidate classifier fitted on a fold's training rows, its predictions on the held-out rows.

    Without calibration: temperature scaling, which the classifier adds when trained, keeps the argmax."""
    params, weights = with_class_weights(params, y_train)
    estimator = make_estimator(model, seed, params)
    return _fit(estimator, X_train, y_train, weights).predict(X_test)


def _fit(estimator, X, y, weights):
    if weights is not None:
        return estimator.fit(X, y, sample_weight=weights)
    return estimator.fit(X, y)


def planned(options: dict[str, Any] | None) -> int:
    """Progress steps the search reports: one per featurisation."""
    return len(FEATURISATIONS) if options else 0

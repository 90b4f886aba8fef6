"""scikit-learn intent classifiers with calibrated confidence; ``model: auto`` picks by cross-validation."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from chatbot.components import Component
from chatbot.message import Message, TrainingData
from chatbot.nlp.features import stack_features

log = logging.getLogger(__name__)


def make_estimator(model: str, seed: int, overrides: dict | None = None):
    """A fresh, unfitted estimator by name."""
    overrides = overrides or {}
    if model == "logreg":
        return LogisticRegression(**{"C": 10.0, "solver": "newton-cg", "max_iter": 1000, **overrides})
    if model == "linear_svm":
        return LinearSVC(**{"C": 0.5, "random_state": seed, **overrides})
    if model == "knn":
        return KNeighborsClassifier(**{"n_neighbors": 5, "metric": "cosine", "weights": "distance", **overrides})
    if model == "decision_tree":
        return DecisionTreeClassifier(**{"random_state": seed, **overrides})
    raise ValueError(f"unknown classifier {model!r}; choose auto, {', '.join(ESTIMATORS)}")


ESTIMATORS = ("logreg", "linear_svm", "knn", "decision_tree")
LARGE_CORPUS = 20_000  # rows above which calibration uses 2 folds (``calibration_folds: auto``)


def with_class_weights(params: dict | None, y: np.ndarray) -> tuple[dict, np.ndarray | None]:
    """Resolve ``class_weight: sqrt_balanced`` into per-example weights sqrt(n_max / n_class).

    Between none and scikit-learn's ``balanced`` (n_max / n_class): rare intents gain recall
    without the frequent ones losing as much precision (3i4K: see docs/benchmarks.md). It is
    passed as ``sample_weight`` because CalibratedClassifierCV re-encodes the labels that a
    ``class_weight`` dict would be keyed by.
    """
    params = dict(params or {})
    if params.get("class_weight") != "sqrt_balanced":
        return params, None
    del params["class_weight"]
    labels, counts = np.unique(y, return_counts=True)
    weight = dict(zip(labels, np.sqrt(counts.max() / counts), strict=True))
    return params, np.array([weight[label] for label in y])


class SklearnIntentClassifier(Component):
    """Predicts ``message.intent`` with a calibrated ``confidence`` and a ranking of intents."""

    name = "sklearn_intent_classifier"
    requires = ("features",)
    provides = ("intent",)
    defaults = {
        "model": "auto",
        "candidates": list(ESTIMATORS),
        "cv_folds": 3,
        "cv_max_rows": 4000,  # model selection on a stratified sample of large corpora
        # Temperature scaling: one parameter for all intents, and a single fitted model at predict
        # time (ensemble=False), so a reply costs one linear model, not one per fold and intent.
        "calibration": "temperature",  # or "sigmoid", "isotonic", or null for the raw probabilities
        # Folds whose held-out scores set the temperature: 3, or 2 for a corpus over LARGE_CORPUS rows, where
        # half the rows estimate one parameter as well and a fold's fit (a third of the classifier's training
        # time on 3i4K) is saved.
        "calibration_folds": "auto",
        "estimator_params": {},
        "ood_label": "OOD",
        "ood_as_class": True,  # learn rows labelled OOD as a class of their own, when there are any
        # Intents kept in message.ranking, likeliest first (None: all). All: the dialogue policy looks down the
        # list for an intent that can use a follow-up's entities, which a sharp classifier may rank low.
        "ranking_size": None,
        "seed": 0,
    }

    def fit(self, data: TrainingData) -> SklearnIntentClassifier:
        p = self.params
        in_domain = p["ood_label"] if not p["ood_as_class"] else None
        messages = [m for m in data.messages if m.gold_intent and m.gold_intent != in_domain]
        counts = Counter(m.gold_intent for m in messages)
        if len(set(counts) - {p["ood_label"]}) < 2:
            raise ValueError(f"an intent classifier needs at least 2 intents; the data has {len(counts)}")
        X, y = stack_features(messages), np.array([m.gold_intent for m in messages])
        smallest = min(counts.values())
        self.cv_scores_: dict[str, float] = {}
        model = p["model"]
        if model == "auto":
            model = self._select(X, y, smallest)
        self.model_ = model
        params, weights = with_class_weights(p["estimator_params"].get(model), y)
        base = make_estimator(model, p["seed"], params)
        wanted = p["calibration_folds"]
        folds = min(int(wanted) if wanted not in (None, "auto") else (2 if len(y) > LARGE_CORPUS else 3), smallest)
        if p["calibration"] and folds >= 2:
            calibrated = CalibratedClassifierCV(base, method=p["calibration"], cv=folds, ensemble=False)
            self.estimator_ = calibrated.fit(X, y, sample_weight=weights)
        elif hasattr(base, "predict_proba"):
            self.estimator_ = base.fit(X, y, sample_weight=weights) if weights is not None else base.fit(X, y)
        else:  # an SVM cannot give probabilities without calibration data
            calibrated = CalibratedClassifierCV(base, method="temperature", cv=2, ensemble=False)
            self.estimator_ = calibrated.fit(X, y, sample_weight=weights)
        self.classes_ = [str(c) for c in self.estimator_.classes_]
        return self

    def _select(self, X, y, smallest: int) -> str:
        limit = self.params["cv_max_rows"]
        if limit and X.shape[0] > limit:
            X, _, y, _ = train_test_split(X, y, train_size=limit, stratify=y, random_state=self.params["seed"])
            smallest = min(Counter(y).values())
        folds = max(2, min(self.params["cv_folds"], smallest))
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.params["seed"])
        for name in self.params["candidates"]:
            params, weights = with_class_weights(self.params["estimator_params"].get(name), y)
            est = make_estimator(name, self.params["seed"], params)
            fit_params = {"sample_weight": weights} if weights is not None else None
            scores = cross_val_score(clone(est), X, y, cv=cv, scoring="f1_macro", params=fit_params)
            self.cv_scores_[name] = round(float(scores.mean()), 4)
        best = max(self.cv_scores_, key=self.cv_scores_.__getitem__)
        log.info("classifier chosen by %d-fold CV (macro-F1): %s %s", folds, best, self.cv_scores_)
        return best

    def tune(self, messages: list[Message]) -> dict[str, str]:
        """Pin the chosen estimator, so that a refit on all the data skips model selection."""
        return {"model": self.model_}

    def process_batch(self, messages: list[Message]) -> list[Message]:
        if not messages:
            return messages
        X = stack_features(messages)
        fast = self._linear_temperature()
        if fast is not None:
            probabilities, margins, scores = fast(X)
        else:
            probabilities = self.estimator_.predict_proba(X)
            margins, scores = self.margins(X, probabilities), probabilities
        top = self.params["ranking_size"] or len(self.classes_)
        for message, row, margin, raw in zip(messages, probabilities, margins, scores, strict=True):
            message.context["margin"] = float(margin)
            # By probability; a sharp temperature rounds the unlikely ones to exactly 0, and the raw scores
            # (the same order where the probabilities differ) still rank those: the dialogue policy reads
            # the runners-up of a follow-up with nothing to follow.
            order = np.lexsort((raw, row))[::-1][:top]
            message.ranking = [(self.classes_[i], round(float(row[i]), 4)) for i in order]
            message.intent, message.confidence = self.classes_[order[0]], float(row[order[0]])
        return messages

    def _linear_temperature(self):
        """For the default model (a linear model with one temperature-scaled calibrator): a function
        giving the same probabilities and margins as ``predict_proba`` and ``margins`` from one
        decision-function product, without scikit-learn's per-call validation (most of the time of
        classifying one message); None for every other kind of model."""
        calibrated = getattr(self.estimator_, "calibrated_classifiers_", None)
        if not calibrated or len(calibrated) != 1 or getattr(calibrated[0], "method", None) != "temperature":
            return None
        base = calibrated[0].estimator
        coef, intercept = getattr(base, "coef_", None), getattr(base, "intercept_", None)
        if coef is None or intercept is None or coef.shape[0] < 3:  # binary models keep the library's path
            return None
        calibrator = calibrated[0].calibrators[0]
        beta = getattr(calibrator, "beta_", None)
        if beta is None:
            return None

        def predict(X):
            scores = np.asarray(X @ coef.T) + intercept  # what LinearSVC.decision_function computes
            if np.all((scores >= 0) & (scores <= 1)):  # read as probabilities by the calibrator: its own path
                probabilities = calibrator.predict(scores)
            else:  # the calibrator's softmax(beta * scores), step for step as scikit-learn's softmax
                probabilities = beta * scores
                probabilities -= probabilities.max(axis=1).reshape(-1, 1)
                np.exp(probabilities, out=probabilities)
                probabilities /= probabilities.sum(axis=1).reshape(-1, 1)
            probabilities[(1.0 < probabilities) & (probabilities <= 1.0 + 1e-5)] = 1.0  # as predict_proba
            return probabilities, scores.max(axis=1), scores

        return predict

    def margins(self, X, probabilities: np.ndarray) -> np.ndarray:
        """The top raw decision score (max-logit) when the model has one, else the top probability."""
        calibrated = getattr(self.estimator_, "calibrated_classifiers_", None)
        base = calibrated[0].estimator if calibrated and len(calibrated) == 1 else self.estimator_
        if hasattr(base, "decision_function"):
            scores = base.decision_function(X)
            return np.abs(scores) if scores.ndim == 1 else scores.max(axis=1)
        return probabilities.max(axis=1)

    def process(self, message: Message) -> Message:
        return self.process_batch([message])[0]

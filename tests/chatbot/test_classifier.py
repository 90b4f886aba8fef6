"""The scikit-learn intent classifier: class weighting, margins and model selection."""

import numpy as np
import pytest

from chatbot.intents.sklearn_classifier import SklearnIntentClassifier, with_class_weights
from chatbot.message import Message, TrainingData
from chatbot.pipeline import Pipeline

FEATURES = [{"name": n} for n in ("normalizer", "tokenizer", "lemmatizer", "stopwords", "tfidf_featurizer")]


def test_sqrt_balanced_weights_are_sqrt_of_inverse_frequency():
    y = np.array(["a"] * 16 + ["b"] * 4)
    params, weights = with_class_weights({"class_weight": "sqrt_balanced", "C": 1.0}, y)
    assert params == {"C": 1.0}
    assert weights[0] == pytest.approx(1.0) and weights[-1] == pytest.approx(2.0)


def test_other_class_weights_pass_through():
    params, weights = with_class_weights({"class_weight": "balanced"}, np.array(["a", "b"]))
    assert params == {"class_weight": "balanced"} and weights is None


def _imbalanced() -> TrainingData:
    rows = [("오늘 날씨 어때", "weather"), ("비 와?", "weather"), ("내일 눈 온대?", "weather"),
            ("우산 챙길까", "weather"), ("바람 많이 불어?", "weather"), ("맑은 날씨네", "weather"),
            ("배고파", "food"), ("뭐 먹지", "food"), ("점심 추천해줘", "food")]
    return TrainingData([Message(text=t, gold_intent=i) for t, i in rows * 2])


@pytest.mark.parametrize("model", ["linear_svm", "logreg", "auto"])
def test_sqrt_balanced_fits_through_calibration(model):
    # CalibratedClassifierCV re-encodes labels, so the weights must not be keyed by label.
    steps = FEATURES + [{"name": "sklearn_intent_classifier", "params": {
        "model": model, "estimator_params": {"linear_svm": {"class_weight": "sqrt_balanced"},
                                             "logreg": {"class_weight": "sqrt_balanced"}}}}]
    pipeline = Pipeline(steps).fit(_imbalanced())
    message = pipeline.process(Message(text="점심 뭐 먹을까"))
    assert message.intent == "food"
    assert isinstance(message.context["margin"], float)


def test_auto_records_cross_validated_scores_for_every_candidate():
    pipeline = Pipeline(FEATURES + [{"name": "sklearn_intent_classifier", "params": {"model": "auto"}}])
    pipeline.fit(_imbalanced())
    classifier = pipeline.find("sklearn_intent_classifier")
    assert set(classifier.cv_scores_) == {"logreg", "linear_svm", "knn", "decision_tree"}
    assert classifier.model_ == max(classifier.cv_scores_, key=classifier.cv_scores_.get)


def test_classifier_rejects_a_single_intent():
    data = TrainingData([Message(text=t, gold_intent="only") for t in ("하나", "둘", "셋", "넷")])
    pipeline = Pipeline(FEATURES)
    messages = pipeline.fit(data).process_batch(data.messages)
    with pytest.raises(ValueError, match="at least 2 intents"):
        SklearnIntentClassifier().fit(TrainingData(messages))


@pytest.mark.parametrize(("rows_limit", "param", "folds"), [(1000, "auto", 3), (10, "auto", 2), (10, 3, 3)])
def test_calibration_uses_two_folds_on_a_large_corpus(monkeypatch, rows_limit, param, folds):
    from chatbot.intents import sklearn_classifier

    monkeypatch.setattr(sklearn_classifier, "LARGE_CORPUS", rows_limit)  # 18 rows: "large" above 10
    steps = FEATURES + [{"name": "sklearn_intent_classifier",
                         "params": {"model": "linear_svm", "calibration_folds": param}}]
    classifier = Pipeline(steps).fit(_imbalanced()).find("sklearn_intent_classifier")
    assert classifier.estimator_.cv == folds

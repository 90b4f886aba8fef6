"""The one-message serving paths (features, classifier, fallback, retrieval) give exactly the numbers of
the batch paths that scikit-learn and scipy compute, so a faster reply is the same reply."""

from __future__ import annotations

import numpy as np
import pytest

from chatbot.bot import Bot
from chatbot.intents.sklearn_classifier import SklearnIntentClassifier
from chatbot.message import Message
from chatbot.nlp.features import stack_features

TEXTS = ["안녕하세요", "오늘 날씨 어때?", "배고파 죽겠어 ㅋㅋㅋㅋㅋ", "김치찌개 먹고 싶다 오늘 저녁", "ㅋ", "!!!",
         "Can you speak English?", "부하 테스트 c07 n123 점심 뭐 먹지? 추천해 줘", "양자역학의 불확정성 원리가 뭐야?"]


@pytest.fixture(scope="module")
def pipeline(tiny_model_dir):
    return Bot.load(tiny_model_dir).pipeline


def processed_up_to(pipeline, name: str, texts: list[str]) -> list[Message]:
    """Each text run, alone, through the components before ``name``."""
    stop = pipeline.components.index(pipeline.find(name))
    messages = []
    for text in texts:
        message = Message(text=text)
        for component in pipeline.components[:stop]:
            message = component.process(message)
        messages.append(message)
    return messages


def test_one_message_features_equal_the_batch_transform_bit_for_bit(pipeline):
    featurizer = pipeline.find("tfidf_featurizer")
    messages = processed_up_to(pipeline, "tfidf_featurizer", TEXTS)
    batch = featurizer.transform(messages)
    for i, message in enumerate(messages):
        one = featurizer.transform_one(message)
        assert one.shape == batch[i].shape
        assert np.array_equal(one.indices, batch[i].indices)
        assert np.array_equal(one.data, batch[i].data)  # exact, not approximately
    assert any(featurizer.transform_one(m).nnz for m in messages)


def test_the_rows_fit_computed_are_the_rows_process_batch_gives_the_same_messages(pipeline):
    from chatbot.message import TrainingData
    from chatbot.nlp.features import TfidfFeaturizer

    messages = processed_up_to(pipeline, "tfidf_featurizer", TEXTS)
    featurizer = TfidfFeaturizer(**pipeline.find("tfidf_featurizer").params)
    featurizer.fit(TrainingData(messages))
    reused = stack_features(featurizer.process_batch(messages))  # Pipeline.fit's next call: fit's rows
    assert featurizer._fitted_rows is None  # used once
    fresh = featurizer.transform(messages)
    # scikit-learn's fit_transform sums in another order than transform: the same rows to the last bits
    assert np.array_equal(reused.indices, fresh.indices) and np.array_equal(reused.indptr, fresh.indptr)
    assert np.allclose(reused.data, fresh.data, rtol=1e-12, atol=0)
    others = processed_up_to(pipeline, "tfidf_featurizer", TEXTS[::-1])
    featurizer.fit(TrainingData(messages))
    batch = stack_features(featurizer.process_batch(others))  # other messages: transformed, not fit's rows
    assert (batch != featurizer.transform(others)).nnz == 0


def test_classifier_fast_path_equals_predict_proba_and_margins(pipeline):
    classifier = pipeline.find("sklearn_intent_classifier")
    fast = classifier._linear_temperature()
    assert fast is not None, "the default config's classifier should take the fast path"
    X = stack_features(processed_up_to(pipeline, "sklearn_intent_classifier", TEXTS))
    expected = classifier.estimator_.predict_proba(X)
    probabilities, margins, scores = fast(X)
    assert np.array_equal(probabilities, expected)
    assert np.array_equal(margins, classifier.margins(X, expected))
    base = classifier.estimator_.calibrated_classifiers_[0].estimator
    assert np.allclose(scores, base.decision_function(X))


def test_the_ranking_breaks_ties_of_rounded_probabilities_by_raw_score(pipeline):
    """A sharp temperature leaves the runners-up at exactly 0: they are still ranked by their scores."""
    classifier = pipeline.find("sklearn_intent_classifier")
    messages = processed_up_to(pipeline, "sklearn_intent_classifier", TEXTS[:3])
    fast = classifier._linear_temperature()
    _, _, scores = fast(stack_features(messages))
    sharp = SklearnIntentClassifier(**classifier.params)
    vars(sharp).update({k: v for k, v in vars(classifier).items() if k != "params"})

    def peaked(X):
        probabilities, margins, raw = fast(X)
        flat = np.zeros_like(probabilities)
        flat[np.arange(len(flat)), probabilities.argmax(axis=1)] = 1.0
        return flat, margins, raw

    sharp._linear_temperature = lambda: peaked
    for message, raw in zip(sharp.process_batch(messages), scores, strict=True):
        expected = [classifier.classes_[i] for i in np.argsort(raw)[::-1][:len(message.ranking)]]
        assert [intent for intent, _ in message.ranking] == expected
        assert [p for _, p in message.ranking][1:] == [0.0] * (len(message.ranking) - 1)


def test_fallback_signals_of_one_message_equal_the_batch_signals(pipeline):
    detector = pipeline.find("fallback_detector")
    messages = processed_up_to(pipeline, "fallback_detector", TEXTS)
    batch = detector.signals(messages)
    for i, message in enumerate(messages):
        one = detector.signals([message])
        for key, values in batch.items():
            assert one[key][0] == values[i], key
    sparse_product = (stack_features(messages) @ detector.reference_.T.tocsr()).toarray()
    assert np.array_equal(np.vstack([detector._similarities(m.features) for m in messages]), sparse_product)


def test_retrieval_nearest_equals_the_sparse_product(pipeline):
    responder = pipeline.find("retrieval_responder")
    for message in processed_up_to(pipeline, "retrieval_responder", TEXTS):
        sims = (responder.questions_ @ message.features.T).toarray().ravel()
        best, similarity = responder.nearest(message)
        assert (best, similarity) == (int(np.argmax(sims)), float(sims[np.argmax(sims)]))

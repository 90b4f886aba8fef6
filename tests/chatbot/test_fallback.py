"""Fallback detection: its signals and both ways of tuning the thresholds."""

import numpy as np
import pytest

from chatbot.intents.fallback import OFF, SIGNALS, FallbackDetector, content_lemmas
from chatbot.intents.language_model import fit_language_model, lm_score, loo_lm_score
from chatbot.message import Message, TrainingData
from chatbot.pipeline import Pipeline

STEPS = [{"name": n} for n in ("normalizer", "tokenizer", "lemmatizer", "stopwords", "tfidf_featurizer")]
STEPS += [{"name": "sklearn_intent_classifier", "params": {"model": "linear_svm"}},
          {"name": "fallback_detector", "params": {"target_kept": 0.9}}]

WEATHER = ["오늘 날씨 어때", "내일 비 와?", "주말에 눈 온대?", "우산 챙겨야 해?", "바람 많이 불어?", "오늘 덥나",
           "내일 추워?", "날씨 맑아?", "미세먼지 심해?", "비 그쳤어?", "오후에 흐려?", "밤에 눈 와?"]
FOOD = ["배고파", "점심 뭐 먹지", "저녁 메뉴 추천", "라면 먹을까", "김치찌개 어때", "야식 먹고 싶다",
        "치킨 시킬까", "아침 뭐 먹어", "떡볶이 땡긴다", "밥 추천해줘", "간식 뭐 먹지", "피자 먹을래"]


def _data(rows) -> TrainingData:
    return TrainingData([Message(text=t, gold_intent=i) for t, i in rows])


def _fit() -> Pipeline:
    return Pipeline(STEPS).fit(_data([(t, "weather") for t in WEATHER] + [(t, "food") for t in FOOD]))


def _held_out(pipeline: Pipeline, rows) -> list[Message]:
    messages = _data(rows).messages
    for component in pipeline.components[:-1]:  # everything up to the detector
        messages = component.process_batch(messages)
    return messages


def test_unknown_words_and_similarity_flag_out_of_domain_text():
    pipeline = _fit()
    detector = pipeline.find("fallback_detector")
    inside = pipeline.process(Message(text="내일 날씨 어때?"))
    outside = pipeline.process(Message(text="양자역학 파동함수 붕괴 원리"))
    assert detector.signals([outside])["max_unknown"][0] == 1.0
    assert detector.signals([inside])["max_unknown"][0] < 1.0
    assert outside.context["similarity"] < inside.context["similarity"]
    assert "날씨" in content_lemmas(inside)


def test_tune_without_ood_rows_spends_the_budget_on_every_signal():
    pipeline = _fit()
    detector: FallbackDetector = pipeline.find("fallback_detector")
    held_out = _held_out(pipeline, [("모레 비 올까", "weather"), ("오늘 눈 와", "weather"), ("점심 추천 좀", "food"),
                                    ("라면 끓일까", "food"), ("날씨 좋아?", "weather"), ("배고픈데 뭐 먹지", "food")])
    tuned = detector.tune(held_out)
    assert set(tuned) - {"lm_quantile"} == set(SIGNALS)
    assert 0 <= tuned.get("lm_quantile", 0) <= 1
    caught = sum(m.fallback for m in detector.process_batch(held_out))
    assert caught <= len(held_out) * (1 - 0.9)  # never more than the budget


def test_tune_with_ood_rows_catches_them():
    pipeline = _fit()
    detector: FallbackDetector = pipeline.find("fallback_detector")
    rows = [("모레 비 올까", "weather"), ("점심 추천 좀", "food"), ("라면 끓일까", "food"), ("날씨 좋아?", "weather"),
            ("주식 차트 분석해줘", "OOD"), ("리눅스 커널 컴파일", "OOD"), ("미적분 문제 풀이", "OOD")]
    detector.tune(_held_out(pipeline, rows))
    checked = detector.process_batch(_held_out(pipeline, rows))
    assert all(m.fallback for m in checked if m.gold_intent == "OOD")
    assert sum(not m.fallback for m in checked if m.gold_intent != "OOD") >= 3


def test_fixed_thresholds_are_kept():
    detector = FallbackDetector(max_unknown=0.5, min_similarity=0.1)
    pipeline = Pipeline(STEPS[:-1]).fit(_data([(t, "weather") for t in WEATHER] + [(t, "food") for t in FOOD]))
    messages = pipeline.process_batch(_data([(t, "weather") for t in WEATHER]).messages)
    detector.fit(TrainingData(messages))
    assert detector.thresholds_["max_unknown"] == 0.5 and detector.thresholds_["min_similarity"] == 0.1
    assert detector.thresholds_["max_unseen_bigrams"] == OFF


def test_language_model_prefers_the_domain_word_order():
    pipeline = _fit()
    detector = pipeline.find("fallback_detector")
    usual, shuffled = _held_out(pipeline, [("점심 뭐 먹지", "food"), ("먹지 뭐 점심", "food")])
    scores = detector.signals([usual, shuffled])["min_lm_score"]
    assert np.isfinite(scores).all()  # unseen words and orders never give -inf
    assert scores[0] > scores[1]
    unknown = _held_out(pipeline, [("양자역학 파동함수 붕괴", "food")])[0]
    assert np.isfinite(detector.signals([unknown])["min_lm_score"][0])


def test_neighbour_and_intent_similarities():
    pipeline = _fit()
    detector = pipeline.find("fallback_detector")
    message = _held_out(pipeline, [("내일 날씨 어때", "weather")])[0]
    values = detector.signals([message])
    assert values["min_similarity"][0] <= values["nearest"][0]  # a mean over 5 neighbours
    assert values["min_intent_similarity"][0] <= values["nearest"][0] + 1e-12
    message.intent = "food"  # the nearest food line is further away than the nearest line overall
    assert detector.signals([message])["min_intent_similarity"][0] < values["nearest"][0]
    detector.params["neighbours"] = 1
    values = detector.signals([message])
    assert values["min_similarity"][0] == values["nearest"][0]


def test_a_detector_saved_before_the_new_signals_still_works():
    pipeline = _fit()
    detector = pipeline.find("fallback_detector")
    del detector.lm_, detector.reference_intents_
    for key in ("min_intent_similarity", "min_lm_score"):
        detector.thresholds_.pop(key)
    detector.thresholds_["max_unknown"] = 1.0
    inside = pipeline.process(Message(text="내일 날씨 어때?"))
    outside = pipeline.process(Message(text="양자역학 파동함수 붕괴 원리"))
    assert outside.fallback_reason == "unknown_words" and not inside.fallback
    assert np.isinf(detector.signals([inside])["min_lm_score"]).all()  # the missing signal never fires


def _brute_force_nearest(reference, labels, rows, k, exclude=None, intents=None):
    """What ``_nearest`` computes, the slow way: every similarity, sorted."""
    sims = (rows @ reference.T).toarray()
    if exclude is not None:
        sims[np.arange(len(sims)), exclude] = -1.0
    top = np.sort(sims, axis=1)[:, -k:]
    within = top[:, -1].copy()
    for i, intent in enumerate(intents or []):
        if intent in set(labels):
            within[i] = sims[i, labels == intent].max()
    return {"nearest": top[:, -1], "min_similarity": top.mean(axis=1), "min_intent_similarity": within}


def _random_rows(rng, n, width=300):
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    rows = sp.random(n, width, density=0.05, format="csr", random_state=rng, data_rvs=rng.random)
    ones = sp.csr_matrix((np.ones(n), (np.arange(n), rng.integers(0, width, n))), shape=(n, width))
    return normalize(rows + ones)  # no empty row


def test_nearest_equals_a_brute_force_search_at_every_block_size():
    rng = np.random.default_rng(0)
    # intent sizes that give blocks of 64 (big groups), of 1 (many singletons) and fewer blocks than k
    for sizes in ([700, 300, 190], [1] * 40 + [3], [2, 1]):
        labels = np.array([f"i{g}" for g, size in enumerate(sizes) for _ in range(size)])
        detector = FallbackDetector(neighbours=5)
        detector.reference_, detector.reference_intents_ = _random_rows(rng, len(labels)), labels
        k = min(5, len(labels))
        queries = _random_rows(rng, 300)
        intents = list(rng.choice([*sorted(set(labels)), "OOD"], 300))
        got = detector._nearest(queries, intents=intents)
        want = _brute_force_nearest(detector.reference_, labels, queries, k, intents=intents)
        for key in want:
            assert np.allclose(got[key], want[key], rtol=0, atol=1e-12), (sizes, key)
        sample = rng.choice(len(labels), min(len(labels), 150), replace=False)
        got = detector._nearest(detector.reference_[sample], exclude=sample)
        want = _brute_force_nearest(detector.reference_, labels, detector.reference_[sample], k, exclude=sample)
        for key in ("nearest", "min_similarity"):
            assert np.allclose(got[key], want[key], rtol=0, atol=1e-12), (sizes, key)
        # the similarities themselves: bit for bit the sparse product
        assert np.array_equal(detector._similarities(queries), (queries @ detector.reference_.T).toarray())


def test_language_model_counts_are_nltks_own():
    from nltk.lm import Lidstone, Vocabulary
    from nltk.lm.preprocessing import padded_everygram_pipeline

    from chatbot.intents.language_model import fit_language_model, lemma_sequence

    pipeline = _fit()
    messages = _held_out(pipeline, [(t, "weather") for t in WEATHER] + [(t, "food") for t in FOOD + ["배고파"]])
    ngrams, words = padded_everygram_pipeline(2, [lemma_sequence(m) for m in messages])
    nltk_model = Lidstone(0.1, 2, vocabulary=Vocabulary(words, unk_cutoff=1))
    nltk_model.fit(ngrams)
    ours = fit_language_model(messages, 0.1)
    assert ours.vocab.counts == nltk_model.vocab.counts and len(ours.vocab) == len(nltk_model.vocab)
    assert dict(ours.counts[1]) == dict(nltk_model.counts[1])
    assert set(ours.counts[2].conditions()) == set(nltk_model.counts[2].conditions())
    for context in nltk_model.counts[2].conditions():
        assert dict(ours.counts[2][context]) == dict(nltk_model.counts[2][context])
        assert ours.counts[2][context].N() == nltk_model.counts[2][context].N()
    probes = _held_out(pipeline, [("점심 뭐 먹지", "food"), ("먹지 뭐 점심", "food"), ("양자역학 붕괴", "food")])
    for message in probes:
        assert lm_score(ours, message) == lm_score(nltk_model, message)


def test_process_batch_after_tune_reuses_its_signals_only_for_the_same_messages():
    pipeline = _fit()
    detector: FallbackDetector = pipeline.find("fallback_detector")
    rows = [("모레 비 올까", "weather"), ("점심 추천 좀", "food"), ("라면 끓일까", "food"), ("날씨 좋아?", "weather")]
    held_out = _held_out(pipeline, rows)
    detector.tune(held_out)
    expected = [(m.fallback, m.fallback_reason, m.context["similarity"])
                for m in detector.process_batch(_held_out(pipeline, rows))]  # other messages: searched again
    detector.tune(held_out)
    calls = []
    detector.signals = lambda messages: calls.append(len(messages)) or FallbackDetector.signals(detector, messages)
    checked = detector.process_batch(held_out)
    assert calls == []  # tune's signals, not a second search
    assert [(m.fallback, m.fallback_reason, m.context["similarity"]) for m in checked] == expected
    detector.process_batch(held_out)
    assert calls == [len(held_out)]  # used once only
    detector.tune(held_out)
    assert calls == [len(held_out)] * 2
    held_out[0].intent = "food" if held_out[0].intent != "food" else "weather"  # changed since tune
    detector.process_batch(held_out)
    assert calls == [len(held_out)] * 3


def test_leave_one_out_language_model_scores_equal_a_model_refitted_without_the_message():
    pipeline = Pipeline(STEPS[:4]).fit(_data([]))
    messages = pipeline.process_batch(_data([(t, "x") for t in WEATHER + FOOD + ["오늘 날씨 어때"]]).messages)
    whole = fit_language_model(messages, 0.1)
    for i, message in enumerate(messages):
        without = fit_language_model(messages[:i] + messages[i + 1:], 0.1)
        assert loo_lm_score(whole, message) == pytest.approx(lm_score(without, message), rel=1e-12)
    # a repeated sentence is still known without one of its copies; a unique one loses its own words
    assert loo_lm_score(whole, messages[-1]) > loo_lm_score(whole, messages[1])


def test_a_refit_keeps_the_tuned_share_of_the_language_model_threshold_on_its_own_scale():
    pipeline = _fit()
    detector: FallbackDetector = pipeline.find("fallback_detector")
    held_out = _held_out(pipeline, [("모레 비 올까", "weather"), ("오늘 눈 와", "weather"), ("점심 추천 좀", "food"),
                                    ("라면 끓일까", "food"), ("날씨 좋아?", "weather"), ("배고픈데 뭐 먹지", "food")])
    tuned = detector.tune(held_out)
    share = 0.3
    refit = FallbackDetector(**{**detector.params, **tuned, "lm_quantile": share})
    rows = Pipeline(STEPS[:-1]).fit(_data([(t, "weather") for t in WEATHER] + [(t, "food") for t in FOOD]))
    messages = rows.process_batch(_data([(t, "weather") for t in WEATHER] + [(t, "food") for t in FOOD]).messages)
    refit.fit(TrainingData(messages))
    loo = [loo_lm_score(refit.lm_, m) for m in messages]
    assert refit.thresholds_["min_lm_score"] == float(np.quantile(loo, share, method="lower"))

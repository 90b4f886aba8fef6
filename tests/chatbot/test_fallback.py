"""Fallback detection: its signals and both ways of tuning the thresholds."""

from chatbot.intents.fallback import OFF, FallbackDetector, content_lemmas
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
    assert set(tuned) == {"min_similarity", "min_margin", "max_unknown", "max_unseen_bigrams"}
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

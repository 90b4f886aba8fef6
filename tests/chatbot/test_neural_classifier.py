"""The neural intent classifier in a pipeline: it learns, calibrates, saves, loads and feeds fallback."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from chatbot.intents.neural_classifier import NeuralIntentClassifier, fit_temperature, softmax  # noqa: E402
from chatbot.message import Message, TrainingData  # noqa: E402
from chatbot.pipeline import Pipeline  # noqa: E402

TEXT = [{"name": n} for n in ("normalizer", "tokenizer", "lemmatizer", "stopwords")]
INTENTS = {
    "weather": ["오늘 날씨 어때", "내일 비 와?", "주말에 눈 온대?", "우산 챙겨야 해?", "바람 많이 불어?", "오늘 덥나",
                "내일 추워?", "날씨 맑아?", "미세먼지 심해?", "비 그쳤어?", "오후에 흐려?", "밤에 눈 와?"],
    "food": ["배고파", "점심 뭐 먹지", "저녁 메뉴 추천", "라면 먹을까", "김치찌개 어때", "야식 먹고 싶다",
             "치킨 시킬까", "아침 뭐 먹어", "떡볶이 땡긴다", "밥 추천해줘", "간식 뭐 먹지", "피자 먹을래"],
    "greet": ["안녕", "안녕하세요", "반가워요", "하이", "좋은 아침", "오랜만이야", "처음 뵙겠습니다", "안뇽",
              "반갑습니다", "안녕 친구", "좋은 저녁이에요", "잘 지냈어?"],
}
# Tiny and CPU-only: a few seconds per fit. min_count 1 because every word is rare here.
TINY = {"embedding_size": 16, "filters": 16, "kernel_sizes": [1, 2], "hidden_size": 16, "attention_size": 16,
        "dropout": 0.0, "min_count": 1, "epochs": 40, "batch_size": 8, "learning_rate": 0.01, "warmup_steps": 5,
        "patience": 100, "validation_split": 0.1, "device": "cpu", "progress": False, "seed": 0}


def _data() -> TrainingData:
    return TrainingData([Message(text=t, gold_intent=i) for i, texts in INTENTS.items() for t in texts])


def _steps(architecture: str, tail: tuple[dict, ...] = ()) -> list[dict]:
    classifier = {"name": "neural_intent_classifier", "params": {**TINY, "architecture": architecture}}
    return [*TEXT, classifier, *tail]


@pytest.fixture(scope="module", params=["textcnn", "bilstm"])
def trained(request) -> Pipeline:
    return Pipeline(_steps(request.param)).fit(_data())


def test_it_learns_a_separable_data_set(trained):
    messages = trained.process_batch(_data().messages)
    accuracy = sum(m.intent == m.gold_intent for m in messages) / len(messages)
    assert accuracy >= 0.9, [(m.text, m.intent) for m in messages if m.intent != m.gold_intent]
    log = trained.find("neural_intent_classifier").training_log_
    assert log["history"] and log["history"][-1]["validation_loss"] >= 0  # a loss curve to draw
    assert log["steps"] > 0 and log["temperature"] > 0


def test_outputs_follow_the_sklearn_classifier_contract(trained):
    classifier = trained.find("neural_intent_classifier")
    for message in trained.process_batch([Message(text=t) for t in ("내일 날씨 좋아?", "점심 추천해 줘", "안녕")]):
        assert 0.0 <= message.confidence <= 1.0
        scores = [score for _, score in message.ranking]
        assert scores == sorted(scores, reverse=True) and len(scores) == 3  # 3 intents < ranking_size
        assert message.ranking[0] == (message.intent, round(message.confidence, 4))
        assert isinstance(message.context["margin"], float)
        assert message.intent in classifier.classes_


def test_save_and_load_predict_identically(trained, tmp_path):
    trained.save(tmp_path)
    loaded = Pipeline.load(tmp_path)
    texts = ["내일 눈 와?", "라면 먹고 싶어", "반가워", "전혀 모르는 문장입니다"]
    for before, after in zip(trained.process_batch([Message(text=t) for t in texts]),
                             loaded.process_batch([Message(text=t) for t in texts]), strict=True):
        assert (after.intent, after.confidence, after.ranking, after.context["margin"]) == \
               (before.intent, before.confidence, before.ranking, before.context["margin"])
    saved = next(tmp_path.glob("components/*_neural_intent_classifier"))
    assert (saved / "classifier.safetensors").is_file() and (saved / "training.json").is_file()


def test_unknown_words_and_empty_text_do_not_crash(trained):
    for text in ("햏햏 🤖 quantum entanglement", "ㅋ", ""):
        message = trained.process(Message(text=text))
        assert message.intent in INTENTS and 0.0 <= message.confidence <= 1.0


def test_a_fallback_detector_after_it_flags_nonsense():
    tail = ({"name": "fallback_detector", "params": {"target_kept": 0.9}},)
    steps = [*TEXT, {"name": "tfidf_featurizer"}, *_steps("textcnn", tail)[len(TEXT):]]
    pipeline = Pipeline(steps).fit(_data())
    held_out = [("모레 비 올까", "weather"), ("오늘 눈 와", "weather"), ("점심 추천 좀", "food"),
                ("라면 끓일까", "food"), ("안녕 반가워", "greet"), ("좋은 아침이에요", "greet")]
    tuned = pipeline.tune([Message(text=t, gold_intent=i) for t, i in held_out])  # as training does
    assert tuned[len(steps) - 1]["min_margin"] > float("-inf")  # the margin signal is in use
    inside = pipeline.process(Message(text="내일 날씨 어때?"))
    outside = pipeline.process(Message(text="양자역학 파동함수 붕괴 원리"))
    assert inside.intent == "weather" and not inside.fallback
    assert outside.fallback and outside.fallback_reason


def test_temperature_scaling_fits_the_confidence():
    # Over-confident logits on labels that are right 3 times in 4: the temperature must soften them.
    logits = torch.tensor([[8.0, 0.0]] * 4).numpy()
    gold = torch.tensor([0, 0, 0, 1]).numpy()
    temperature = fit_temperature(logits, gold)
    assert temperature > 1.0
    assert softmax(logits / temperature)[0, 0] == pytest.approx(0.75, abs=0.02)


def test_it_needs_tokens_and_two_intents():
    with pytest.raises(ValueError, match="tokenizer"):
        NeuralIntentClassifier(**TINY).fit(_data())  # no tokenizer ran
    messages = Pipeline(TEXT).fit(_data()).process_batch(_data().messages[:6])  # weather only
    with pytest.raises(ValueError, match="at least 2 intents"):
        NeuralIntentClassifier(**TINY).fit(TrainingData(messages))
    with pytest.raises(ValueError, match="architecture"):
        NeuralIntentClassifier(architecture="gpt").fit(_data())


def test_a_wide_part_over_tfidf_features_trains_saves_and_loads(tmp_path):
    steps = [*TEXT, {"name": "tfidf_featurizer"},
             {"name": "neural_intent_classifier", "params": {**TINY, "wide_features": True}}]
    pipeline = Pipeline(steps).fit(_data())
    classifier = pipeline.find("neural_intent_classifier")
    assert classifier.model_.wide is not None
    assert classifier.model_.config.wide_features == messages_features_width(pipeline)
    messages = pipeline.process_batch(_data().messages)
    assert sum(m.intent == m.gold_intent for m in messages) / len(messages) >= 0.9
    pipeline.save(tmp_path)
    texts = ["내일 눈 와?", "라면 먹고 싶어", "반가워"]
    before = [(m.intent, m.confidence) for m in pipeline.process_batch([Message(text=t) for t in texts])]
    after = [(m.intent, m.confidence) for m in Pipeline.load(tmp_path).process_batch([Message(text=t) for t in texts])]
    assert after == before
    with pytest.raises(ValueError, match="featurizer"):
        Pipeline([*TEXT, steps[-1]]).fit(_data())


def messages_features_width(pipeline: Pipeline) -> int:
    return pipeline.process(Message(text="안녕")).features.shape[1]

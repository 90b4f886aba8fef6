"""The BERT intent classifier on a tiny checkpoint built in the test: fine-tune, calibrate, save, load, reply."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")

from chatbot.bot import Bot  # noqa: E402
from chatbot.intents.bert_classifier import BertIntentClassifier  # noqa: E402
from chatbot.message import Message, TrainingData  # noqa: E402
from chatbot.pipeline import Pipeline  # noqa: E402
from tests.chatbot.test_neural_classifier import INTENTS  # noqa: E402
from tests.models.bert_fixtures import tiny_bert  # noqa: E402

TEXTS = [t for texts in INTENTS.values() for t in texts]
TINY = {"epochs": 30, "batch_size": 8, "learning_rate": 2e-3, "warmup_steps": 5, "patience": 100,
        "validation_split": 0.1, "device": "cpu", "progress": False, "seed": 0}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_bert(tmp_path_factory.mktemp("bert") / "tiny", vocab_size=120, sentences=TEXTS)


def _data() -> TrainingData:
    return TrainingData([Message(text=t, gold_intent=i) for i, texts in INTENTS.items() for t in texts])


def test_fine_tunes_saves_loads_and_replies(checkpoint, tmp_path):
    from training.train import train_model

    corpus = tmp_path / "corpus.csv"
    corpus.write_text("text,intent,answer\n" + "".join(
        f"{t},{i},{i} 답변\n" for i, texts in INTENTS.items() for t in texts), encoding="utf-8")
    config = {"pipeline": [
        {"name": "normalizer"}, {"name": "tokenizer"}, {"name": "lemmatizer"}, {"name": "stopwords"},
        {"name": "tfidf_featurizer"},
        {"name": "bert_intent_classifier", "params": {**TINY, "pretrained": str(checkpoint)}},
        {"name": "fallback_detector", "params": {"target_kept": 0.9}},
        {"name": "retrieval_responder"}], "training": {"validation_split": 0.15, "seed": 0}}
    train_model([corpus], tmp_path / "model", config)
    step = tmp_path / "model" / "components" / "05_bert_intent_classifier"
    saved = sorted(p.name for p in (step / "bert").iterdir())
    assert "config.json" in saved and any(n.endswith(".safetensors") for n in saved)
    bot = Bot.load(tmp_path / "model")  # loads from the model directory alone, not the original checkpoint
    classifier = bot.pipeline.find("bert_intent_classifier")
    assert isinstance(classifier, BertIntentClassifier) and classifier.classes_ == sorted(INTENTS)
    right = sum(bot.pipeline.process(Message(text=t)).intent == i for i, texts in INTENTS.items() for t in texts)
    assert right >= 0.55 * len(TEXTS)  # it learnt (chance is a third; the best step is chosen on 5 held-out rows)
    reply = bot.reply("점심 뭐 먹지")
    assert reply.text and 0.0 <= reply.confidence <= 1.0
    log = json.loads((step / "training.json").read_text(encoding="utf-8"))
    assert log["steps"] > 0 and log["temperature"] > 0


def test_outputs_feed_fallback_like_the_other_classifiers(checkpoint):
    steps = [{"name": "normalizer"}, {"name": "bert_intent_classifier",
                                      "params": {**TINY, "epochs": 2, "pretrained": str(checkpoint)}}]
    pipeline = Pipeline(steps).fit(_data())
    message = pipeline.process(Message(text="내일 비 와?"))
    probabilities = [p for _, p in message.ranking]
    assert message.intent == message.ranking[0][0] and probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-3)
    assert isinstance(message.context["margin"], float)


def test_missing_pretrained_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="--pretrained"):
        Pipeline([{"name": "normalizer"}, {"name": "bert_intent_classifier"}]).fit(_data())
    with pytest.raises(FileNotFoundError, match="folder"):
        Pipeline([{"name": "normalizer"}, {"name": "bert_intent_classifier",
                                           "params": {"pretrained": str(tmp_path / "absent")}}]).fit(_data())

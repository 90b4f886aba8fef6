"""A pipeline is plain data plus learned state; a saved model describes itself."""

from __future__ import annotations

import pytest
import yaml

from chatbot.corpus import load_corpus
from chatbot.message import Message
from chatbot.pipeline import ModelNotFound, Pipeline
from training.config import load_config

PROBES = ["안녕 반가워요", "내일 비 오려나", "저녁 뭐 먹을까", "우산 가져가야 할까요?", "오랜만이에요"]


def test_saved_pipeline_reproduces_intents_and_confidences(tiny_corpus, tmp_path):
    pipeline = Pipeline.from_config(load_config("default"))
    pipeline.fit(load_corpus([tiny_corpus("yaml")]))
    before = [pipeline.process(Message(text=t)) for t in PROBES]
    assert {m.intent for m in before} <= {"greet", "weather", "food"}

    pipeline.save(tmp_path / "model")
    config = yaml.safe_load((tmp_path / "model" / "pipeline.yaml").read_text(encoding="utf-8"))
    assert [s["name"] for s in config["pipeline"]] == [s["name"] for s in pipeline.steps]

    loaded = Pipeline.load(tmp_path / "model")
    after = [loaded.process(Message(text=t)) for t in PROBES]
    assert [m.intent for m in after] == [m.intent for m in before]
    assert [m.confidence for m in after] == pytest.approx([m.confidence for m in before])
    assert [m.fallback for m in after] == [m.fallback for m in before]


def test_process_batch_matches_process(tiny_corpus):
    pipeline = Pipeline.from_config(load_config("default")).fit(load_corpus([tiny_corpus("yaml")]))
    one = [pipeline.process(Message(text=t)) for t in PROBES]
    many = pipeline.process_batch([Message(text=t) for t in PROBES])
    assert [m.intent for m in many] == [m.intent for m in one]
    assert [m.confidence for m in many] == pytest.approx([m.confidence for m in one])


def test_loading_an_empty_directory_says_how_to_train(tmp_path):
    with pytest.raises(ModelNotFound) as excinfo:
        Pipeline.load(tmp_path)
    message = str(excinfo.value)
    assert "pipeline.yaml" in message
    assert "chatbot train" in message and "--data" in message


def test_model_not_found_is_a_file_not_found_error():
    assert issubclass(ModelNotFound, FileNotFoundError)


@pytest.mark.parametrize("config", [{}, {"pipeline": []}, {"pipeline": [{"params": {}}]}])
def test_from_config_rejects_bad_configs(config):
    with pytest.raises(ValueError):
        Pipeline.from_config(config)


def test_from_config_rejects_unknown_component_params():
    with pytest.raises(ValueError, match="bogus"):
        Pipeline.from_config({"pipeline": [{"name": "normalizer", "params": {"bogus": 1}}]})

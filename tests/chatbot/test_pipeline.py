"""A pipeline is plain data plus learned state; a saved model describes itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chatbot.components import Component
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


ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CONFIGS = sorted(p for folder in ("training", "benchmarks") for p in (ROOT / folder / "configs").glob("*.yaml"))


@pytest.mark.parametrize("config_file", SHIPPED_CONFIGS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_shipped_config_is_in_a_working_order(config_file):
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    assert Pipeline.from_config(config).steps


def test_there_are_shipped_configs_to_check():
    assert len(SHIPPED_CONFIGS) >= 10


def _names(*names: str) -> dict:
    return {"pipeline": [{"name": n} for n in names]}


def test_from_config_names_the_stage_what_it_lacks_and_the_stage_that_gives_it():
    with pytest.raises(ValueError) as excinfo:
        Pipeline.from_config(_names("normalizer", "tokenizer", "fallback_detector"))
    assert str(excinfo.value) == ("pipeline step 3 'fallback_detector' needs 'features', which no earlier step "
                                  "provides; put 'tfidf_featurizer' before it")


def test_from_config_says_to_move_a_stage_that_comes_too_late():
    with pytest.raises(ValueError) as excinfo:
        Pipeline.from_config(_names("normalizer", "tfidf_featurizer", "tokenizer", "sklearn_intent_classifier"))
    assert str(excinfo.value) == ("pipeline step 2 'tfidf_featurizer' needs 'tokens', which no earlier step "
                                  "provides; move 'tokenizer' (step 3) before it")


def test_from_config_lists_every_registered_provider():
    with pytest.raises(ValueError, match="put one of 'sklearn_intent_classifier', 'neural_intent_classifier', "
                                         "'bert_intent_classifier' before it"):
        Pipeline.from_config(_names("normalizer", "tokenizer", "tfidf_featurizer", "fallback_detector"))


def test_parameters_can_add_a_need():
    text = ["normalizer", "tokenizer", "lemmatizer"]
    wide = {"name": "neural_intent_classifier", "params": {"wide_features": True}}
    with pytest.raises(ValueError, match="step 4 'neural_intent_classifier' needs 'features'"):
        Pipeline.from_config({"pipeline": [*_names(*text)["pipeline"], wide]})
    Pipeline.from_config({"pipeline": [*_names(*text, "tfidf_featurizer")["pipeline"], wide]})
    dropping = {"name": "tfidf_featurizer", "params": {"drop_stopwords": True}}
    with pytest.raises(ValueError, match="needs 'stopwords'.*put 'stopwords' before it"):
        Pipeline.from_config({"pipeline": [*_names(*text)["pipeline"], dropping]})


class Shouter(Component):
    """A user's stage that declares nothing: it requires nothing and provides nothing."""

    name = "shouter"

    def process(self, message: Message) -> Message:
        message.normalized = (message.normalized or message.text).upper()
        return message


class OwnTokenizer(Component):
    """A user's tokenizer that says what it writes."""

    name = "own_tokenizer"
    provides = ("tokens",)


USER = "tests.chatbot.test_pipeline"


def test_a_user_component_without_declarations_goes_anywhere():
    pipeline = Pipeline.from_config(_names(f"{USER}:Shouter", "normalizer", "tokenizer", f"{USER}:Shouter"))
    assert [c.needs() for c in pipeline.components] == [(), (), (), ()]


def test_a_user_component_that_writes_a_need_is_told_to_declare_it():
    with pytest.raises(ValueError) as excinfo:
        Pipeline.from_config(_names("normalizer", f"{USER}:Shouter", "lemmatizer"))
    assert str(excinfo.value) == (
        f"pipeline step 3 'lemmatizer' needs 'tokens', which no earlier step provides; put 'tokenizer' before it "
        f"(or, if '{USER}:Shouter' writes it, declare provides = ('tokens',) on that class)")
    assert Pipeline.from_config(_names("normalizer", f"{USER}:OwnTokenizer", "lemmatizer")).steps


class EntityReader(Component):
    """A user's stage that learns from the entities an earlier stage found."""

    name = "entity_reader"
    requires = ("entities",)

    def fit(self, data):
        self.seen_ = [[e.type for e in m.entities] for m in data.messages]
        return self


class FitRecorder(Component):
    """A user's stage that records what it was fitted on, and needs nothing."""

    name = "fit_recorder"
    requires = ("tokens",)

    def fit(self, data):
        self.seen_ = [([e.type for e in m.entities], m.fallback_reason, bool(m.tokens)) for m in data.messages]
        return self


def test_fit_skips_what_no_later_stage_learns_from_and_runs_what_one_needs(tiny_corpus):
    data = load_corpus([tiny_corpus("yaml")])
    data = data.with_messages([*data.messages, Message(text="내일 오후 3시에 봐", gold_intent="greet")])
    names = ["normalizer", "tokenizer", "lemmatizer", "time_extractor", "tfidf_featurizer",
             "sklearn_intent_classifier", "fallback_detector"]
    pipeline = Pipeline.from_config(_names(*names, f"{USER}:FitRecorder"))
    pipeline.fit(data)
    seen = pipeline.components[-1].seen_
    assert all(tokens for _, _, tokens in seen)  # the tokenizer ran over the training rows
    assert all(types == [] and reason == "" for types, reason, _ in seen)  # times and fallback checks did not
    assert [e.type for e in pipeline.process(Message(text="내일 오후 3시에 봐")).entities] == ["time"]  # serving does

    pipeline = Pipeline.from_config(_names(*names, f"{USER}:EntityReader")).fit(data)
    assert pipeline.components[-1].seen_[-1] == ["time"]  # a later stage that needs entities gets them

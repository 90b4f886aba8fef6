"""Every registered component follows the contract (scikit-learn's ``check_estimator`` idea).

``__init__`` only stores parameters and rejects unknown ones; ``fit`` returns ``self`` and keeps
learned state in attributes ending in ``_``; ``process`` returns a Message; ``save``/``load``
round-trips to the same output.
"""

from __future__ import annotations

import copy
import functools
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from chatbot.components import CAPABILITIES, Component
from chatbot.corpus import load_corpus
from chatbot.message import Message
from chatbot.registry import COMPONENTS, check_order, component_class, create
from training.config import load_config

# The default pipeline's stages before its responder (a reply ends a pipeline): each component's contract
# test runs it after the leading ones that neither write what it writes nor need it (read from the
# declarations, so a new component needs no table here).
CHAIN = [s["name"] for s in load_config("default")["pipeline"] if "reply" not in component_class(s["name"]).provides]
# Small enough for the tiny corpus.
PARAMS = {
    "lsa_embedder": {"dim": 8},
    "neural_intent_classifier": {"embedding_size": 8, "filters": 8, "kernel_sizes": [1, 2], "min_count": 1,
                                 "epochs": 2, "batch_size": 16, "device": "cpu", "progress": False},
    "seq2seq_responder": {"vocab_size": 80, "embedding_size": 16, "hidden_size": 16, "layers": 1, "epochs": 2,
                          "batch_size": 16, "device": "cpu", "progress": False, "seed": 0},
}
PARAMS["hybrid_responder"] = PARAMS["seq2seq_responder"]
PARAMS["crf_entity_extractor"] = {"max_iterations": 30}
PROBES = ["안녕하세요 반가워요", "내일 서울에 비 와요?", "점심 메뉴 추천해 줘", "양자역학 파동함수 설명",
          "커피 두 잔 주세요", "김치찌개 먹고 싶어"]


_BERT_FINE_TUNING = {"epochs": 1, "batch_size": 16, "device": "cpu", "progress": False}
PARAMS["bert_intent_classifier"] = PARAMS["bert_selector"] = _BERT_FINE_TUNING


@functools.cache
def tiny_checkpoint() -> str:
    """One tiny random BERT for the session's BERT components (built here, never downloaded)."""
    from tests.models.bert_fixtures import tiny_bert

    return str(tiny_bert(Path(tempfile.mkdtemp(prefix="tiny-bert-")) / "bert"))


def params_for(name: str) -> dict:
    params = dict(PARAMS.get(name, {}))
    if "pretrained" in component_class(name).defaults:
        params["pretrained"] = tiny_checkpoint()
    if "seed" in component_class(name).defaults:
        params["seed"] = 0  # reproducible random choices (the responder picks replies at random)
    return params


def summary(message: Message) -> dict:
    """What a stage can have written on a message, in comparable form."""
    return {
        "normalized": message.normalized,
        "tokens": [t.to_dict() for t in message.tokens],
        "features": None if message.features is None else np.round(message.features.toarray(), 8).tolist(),
        "embedding": None if message.embedding is None else np.round(message.embedding, 6).tolist(),
        "intent": message.intent,
        "confidence": round(float(message.confidence), 8),
        "ranking": message.ranking,
        "fallback": message.fallback,
        "fallback_reason": message.fallback_reason,
        "reply": message.reply,
        "reply_source": message.reply_source,
        "entities": [e.to_dict() for e in message.entities],
        "context": dict(message.context),
    }


def prefix_for(name: str) -> list[str]:
    """The leading stages of the default pipeline that come before ``name``."""
    writes = set(component_class(name).provides)
    prefix = []
    for stage in CHAIN:
        cls = component_class(stage)
        if writes & (set(cls.provides) | set(cls.requires)):
            break
        prefix.append(stage)
    return prefix


def providers_for(name: str) -> list[str]:
    """The fewest stages ``name`` needs: the first registered provider of each need, recursively."""
    stages: list[str] = []

    def add(capability: str) -> None:
        provider = next(n for n in COMPONENTS if capability in component_class(n).provides)
        if provider not in stages:
            for need in create(provider, params_for(provider)).needs():
                add(need)
            stages.append(provider)

    for need in create(name, params_for(name)).needs():
        add(need)
    return stages


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_component_declares_what_it_needs_and_writes(name):
    cls = component_class(name)
    assert cls.provides, f"{name} declares no provides"
    assert set(cls.requires) | set(cls.provides) <= set(CAPABILITIES)
    assert not set(cls.requires) & set(cls.provides)
    for need in cls.requires:  # something registered writes it
        assert any(need in component_class(n).provides for n in COMPONENTS), need
    # the contract test's order and the fewest stages both pass the pipeline's check
    for stages in (prefix_for(name), providers_for(name)):
        check_order([*stages, name], [create(n, params_for(n)) for n in [*stages, name]])


# Cheap components run after only the stages their declarations ask for: what they require is all they need.
_CPU_ONLY = sorted(n for n in COMPONENTS if not {"device", "pretrained"} & set(component_class(n).defaults))
WRITTEN = {  # how to see on processed messages that a capability was written
    "normalized": lambda ms: all(m.normalized for m in ms),
    "tokens": lambda ms: all(m.tokens for m in ms),
    "lemmas": lambda ms: any(t.lemma != t.form for m in ms for t in m.tokens),
    "stopwords": lambda ms: any(t.stopword for m in ms for t in m.tokens),
    "features": lambda ms: all(m.features is not None for m in ms),
    "embedding": lambda ms: all(m.embedding is not None for m in ms),
    "intent": lambda ms: all(m.intent for m in ms),
    "fallback": lambda ms: all("similarity" in m.context for m in ms),
    "reply": lambda ms: all(m.reply for m in ms),
    "entities": lambda ms: any(m.entities for m in ms),
    "dialogue": lambda ms: all(m.dialogue is not None for m in ms),
}


def test_every_capability_can_be_seen_on_a_message():
    assert set(WRITTEN) == set(CAPABILITIES)


@pytest.mark.parametrize("name", _CPU_ONLY)
def test_component_works_after_only_what_it_requires(name, tiny_corpus):
    data = load_corpus([tiny_corpus("yaml")])
    stages = [create(n, params_for(n)) for n in providers_for(name)]
    messages = data.messages
    for stage in stages:
        messages = stage.fit(replace(data, messages=messages)).process_batch(messages)
    component = create(name, params_for(name)).fit(replace(data, messages=messages))
    probes = [Message(text=t) for t in PROBES]
    for stage in [*stages, component]:
        probes = stage.process_batch(probes)
    for capability in component.provides:
        assert WRITTEN[capability](probes), capability


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_component_contract(name, tiny_corpus, tmp_path):
    cls = component_class(name)
    assert issubclass(cls, Component)
    assert cls.name == name  # model directories are laid out by this name

    # __init__ only stores parameters, and rejects unknown ones at once.
    with pytest.raises(ValueError, match="no_such_param"):
        cls(no_such_param=1)
    fresh = cls(**params_for(name))
    assert {k for k in vars(fresh) if not k.startswith("_")} == {"params"}
    assert set(fresh.params) == set(cls.defaults)

    # fit: prerequisite stages first, each fed the output of the ones before.
    data = load_corpus([tiny_corpus("yaml")])
    messages = data.messages
    prefix = [create(n, params_for(n)) for n in prefix_for(name)]
    for stage in prefix:
        assert stage.fit(replace(data, messages=messages)) is stage
        messages = stage.process_batch(messages)
    component = cls(**params_for(name))
    before, params_before = set(vars(component)), copy.deepcopy(component.params)
    assert component.fit(replace(data, messages=messages)) is component
    learned = {k for k in set(vars(component)) - before if not k.startswith("_")}
    assert all(k.endswith("_") for k in learned), learned
    assert component.params == params_before  # fit does not change parameters

    # save -> load gives the same processing output.
    component.save(tmp_path / "saved")
    loaded = cls.load(tmp_path / "saved", copy.deepcopy(component.params))
    assert isinstance(loaded, cls)

    def through_prefix(text: str) -> Message:
        message = Message(text=text)
        for stage in prefix:
            message = stage.process(message)
        return message

    for text in PROBES:
        original = component.process(through_prefix(text))
        assert isinstance(original, Message)
        again = loaded.process(through_prefix(text))
        assert isinstance(again, Message)
        assert summary(again) == summary(original), text

    batch = component.process_batch([through_prefix(t) for t in PROBES])
    assert len(batch) == len(PROBES) and all(isinstance(m, Message) for m in batch)


def test_component_class_rejects_unknown_names():
    with pytest.raises(ValueError, match="nope"):
        component_class("nope")
    with pytest.raises(ValueError):
        component_class("chatbot.message:Message")  # importable, but not a Component


def test_component_class_accepts_module_colon_class():
    from chatbot.nlp.components import Normalizer

    assert component_class("chatbot.nlp.components:Normalizer") is Normalizer

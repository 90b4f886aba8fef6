"""Components by name, so that a pipeline is plain data: ``[{name, params}, ...]``.

The map is explicit (nothing registers itself at import time). A name of the form
``package.module:Class`` loads a user's own component.
"""

from __future__ import annotations

import importlib

from chatbot.components import Component

COMPONENTS = {
    "normalizer": "chatbot.nlp.components:Normalizer",
    "tokenizer": "chatbot.nlp.components:MorphTokenizer",
    "lemmatizer": "chatbot.nlp.components:Lemmatizer",
    "stopwords": "chatbot.nlp.components:StopwordFilter",
    "tfidf_featurizer": "chatbot.nlp.features:TfidfFeaturizer",
    "lsa_embedder": "chatbot.nlp.embeddings:LsaEmbedder",
    "bert_embedder": "chatbot.nlp.embeddings:BertEmbedder",
    "sklearn_intent_classifier": "chatbot.intents.sklearn_classifier:SklearnIntentClassifier",
    "neural_intent_classifier": "chatbot.intents.neural_classifier:NeuralIntentClassifier",
    "bert_intent_classifier": "chatbot.intents.bert_classifier:BertIntentClassifier",
    "fallback_detector": "chatbot.intents.fallback:FallbackDetector",
    "retrieval_responder": "chatbot.responders.retrieval_responder:RetrievalResponder",
    "seq2seq_responder": "chatbot.responders.seq2seq_responder:Seq2SeqResponder",
    "hybrid_responder": "chatbot.responders.hybrid_responder:HybridResponder",
    "bert_selector": "chatbot.responders.bert_selector:BertSelector",
}


def component_class(name: str) -> type[Component]:
    """Resolve a registered name (or ``module:Class``) to its class."""
    target = COMPONENTS.get(name, name)
    if ":" not in target:
        raise ValueError(f"unknown component {name!r}; registered: {', '.join(COMPONENTS)}")
    module_name, class_name = target.split(":", 1)
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Component)):
        raise ValueError(f"{name!r} is not a Component")
    return cls


def create(name: str, params: dict | None = None) -> Component:
    """Instantiate a component from its config entry."""
    return component_class(name)(**(params or {}))

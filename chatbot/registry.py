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
    "crf_entity_extractor": "chatbot.entities.crf:CrfEntityExtractor",
    "retrieval_responder": "chatbot.responders.retrieval_responder:RetrievalResponder",
    "seq2seq_responder": "chatbot.responders.seq2seq_responder:Seq2SeqResponder",
    "hybrid_responder": "chatbot.responders.hybrid_responder:HybridResponder",
    "bert_selector": "chatbot.responders.bert_selector:BertSelector",
    # Entity extractors; list time_extractor before number_extractor (it wins ties such as "3시").
    "time_extractor": "chatbot.entities.time:TimeExtractor",
    "number_extractor": "chatbot.entities.numbers:NumberExtractor",
    "lookup_extractor": "chatbot.entities.lookup:LookupExtractor",
    "bilstm_crf_entity_extractor": "chatbot.entities.bilstm_crf:BiLstmCrfEntityExtractor",
    "crf_bilstm_entity_extractor": "chatbot.entities.ensemble:CrfBiLstmEntityExtractor",
    # Conversations: slots, forms, follow-ups and actions (after the classifier, before the responder).
    "dialogue_policy": "chatbot.dialogue.policy:DialoguePolicy",
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


def check_order(names: list[str], components: list[Component]) -> None:
    """Reject a pipeline whose stage needs something that no earlier stage writes, naming the stage and the fix."""
    provided: set[str] = set()
    for position, (name, component) in enumerate(zip(names, components, strict=True), start=1):
        missing = [need for need in component.needs() if need not in provided]
        if missing:
            raise ValueError(_order_error(position, name, missing[0], names, components))
        provided.update(component.provides)


def _order_error(position: int, name: str, need: str, names: list[str], components: list[Component]) -> str:
    """``pipeline step 3 'tfidf_featurizer' needs 'tokens', which no earlier step provides; put ... before it``."""
    message = f"pipeline step {position} {name!r} needs {need!r}, which no earlier step provides; "
    later = [(i, n) for i, (n, c) in enumerate(zip(names, components, strict=True), start=1)
             if i > position and need in c.provides]
    if later:
        message += f"move {later[0][1]!r} (step {later[0][0]}) before it"
    else:
        providers = [n for n in COMPONENTS if need in component_class(n).provides]
        if len(providers) == 1:
            message += f"put {providers[0]!r} before it"
        elif providers:
            message += f"put one of {', '.join(map(repr, providers))} before it"
        else:
            message += "no registered component provides it"
    custom = [n for n in names[:position - 1] if n not in COMPONENTS]
    if custom:  # a user's stage may write it without saying so
        message += f" (or, if {custom[-1]!r} writes it, declare provides = ({need!r},) on that class)"
    return message

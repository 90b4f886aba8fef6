"""Dense embeddings: the interface later models plug into, with LSA as the CPU baseline."""

from __future__ import annotations

import numpy as np

from chatbot.corpus import load_corpus
from chatbot.message import Message, TrainingData
from chatbot.nlp.embeddings import Embedder
from chatbot.registry import component_class, create


def test_lsa_embedder_gives_unit_vectors_of_the_configured_dim(tiny_corpus):
    data = load_corpus([tiny_corpus("yaml")])
    messages = data.messages
    for name in ("normalizer", "tokenizer", "lemmatizer", "stopwords", "tfidf_featurizer"):
        stage = create(name)
        stage.fit(TrainingData(messages))
        messages = stage.process_batch(messages)

    assert issubclass(component_class("lsa_embedder"), Embedder)
    embedder = create("lsa_embedder", {"dim": 8}).fit(TrainingData(messages))
    vectors = embedder.embed(messages)
    assert vectors.shape == (len(messages), 8)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    one = embedder.process(messages[0])
    assert isinstance(one, Message)
    assert one.embedding.shape == (8,)
    assert np.allclose(one.embedding, vectors[0], atol=1e-5)

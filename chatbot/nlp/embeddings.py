"""Dense sentence embeddings behind one interface that later models (BERT, seq2seq) plug into.

An embedder sets ``message.embedding`` (a 1-D float32 numpy vector, L2-normalised) and offers
``embed(messages) -> (n, dim)`` for batch use. ``LsaEmbedder`` is the CPU baseline: a truncated
SVD of the TF-IDF features (latent semantic analysis). ``BertEmbedder`` reads a BERT-family
checkpoint (ours from ``chatbot pretrain``, KoBERT, or the encoder a ``bert_selector`` fine-tuned,
in its ``encoder/`` folder) and gives mean-pooled sentence vectors; it does not train.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import normalize as l2_normalize

from chatbot.components import Component
from chatbot.message import Message, TrainingData
from chatbot.nlp.features import stack_features


class Embedder(Component):
    """Base class of dense featurizers."""

    dim: int = 0
    provides = ("embedding",)

    def embed(self, messages: list[Message]) -> np.ndarray:
        """Return an ``(len(messages), dim)`` float32 array of unit vectors."""
        raise NotImplementedError

    def process_batch(self, messages: list[Message]) -> list[Message]:
        if messages:
            for message, vector in zip(messages, self.embed(messages), strict=True):
                message.embedding = vector
        return messages

    def process(self, message: Message) -> Message:
        return self.process_batch([message])[0]


class LsaEmbedder(Embedder):
    """Latent semantic analysis over the sparse features of the stage before it."""

    name = "lsa_embedder"
    requires = ("features",)
    defaults = {"dim": 128, "seed": 0}

    def fit(self, data: TrainingData) -> LsaEmbedder:
        matrix = stack_features(data.messages)
        dim = max(1, min(self.params["dim"], matrix.shape[1] - 1, matrix.shape[0] - 1))
        self.svd_ = TruncatedSVD(n_components=dim, random_state=self.params["seed"]).fit(matrix)
        return self

    def embed(self, messages: list[Message]) -> np.ndarray:
        vectors = self.svd_.transform(stack_features(messages))
        return l2_normalize(vectors).astype(np.float32)


class BertEmbedder(Embedder):
    """Mean-pooled sentence vectors of a pretrained BERT-family encoder (frozen) over the normalised text."""

    name = "bert_embedder"
    requires = ()  # the normalised text, or the raw one
    defaults = {"pretrained": None, "max_length": 64, "int8": False}  # int8: see chatbot.models.bert.for_serving
    ENCODER_DIR = "encoder"

    def fit(self, data: TrainingData) -> BertEmbedder:
        from chatbot.models.sentence_encoder import SentenceEncoder

        if not self.params["pretrained"]:
            raise ValueError(f"{self.name} needs a pretrained checkpoint: pass --pretrained PATH_OR_ID to train")
        self.encoder_ = SentenceEncoder.from_pretrained(self.params["pretrained"], self.params["max_length"])
        return self

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.encoder_.dim

    def embed(self, messages: list[Message]) -> np.ndarray:
        return self.encoder_.encode([m.normalized or m.text for m in messages])

    def learned_state(self) -> dict:
        return {k: v for k, v in super().learned_state().items() if k != "encoder_"}  # saved as a checkpoint

    def save(self, directory) -> None:
        super().save(directory)
        self.encoder_.save(directory / self.ENCODER_DIR)

    @classmethod
    def load(cls, directory, params) -> BertEmbedder:
        from chatbot.models.sentence_encoder import SentenceEncoder

        component = super().load(directory, params)
        from chatbot.models.bert import for_serving

        params_ = component.params
        component.encoder_ = SentenceEncoder.from_pretrained(directory / cls.ENCODER_DIR, params_["max_length"])
        component.encoder_.model = for_serving(component.encoder_.model, bool(params_["int8"]))
        return component

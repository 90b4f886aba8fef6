"""Sparse features for the default model: TF-IDF over lemma n-grams plus character n-grams."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from chatbot.components import Component
from chatbot.message import Message, TrainingData


def _identity(x):
    """Pass pre-tokenized documents through scikit-learn untouched (module-level: picklable)."""
    return x


def word_units(message: Message, unit: str, drop_stopwords: bool, edge_tokens: int = 0) -> list[str]:
    """The word-level units of a message: lemmas, or lemma/tag pairs.

    With ``edge_tokens=k``, the first and last k morphemes are added again with their position
    (``<e1>어요/EF``): in Korean the sentence type lives in the final ending and punctuation,
    which a bag of n-grams cannot place.
    """
    units = []
    for t in message.tokens:
        if drop_stopwords and t.stopword:
            continue
        lemma = (t.lemma or t.form).lower()
        units.append(f"{lemma}/{t.pos.split('-')[0]}" if unit == "lemma_pos" else lemma)
    if edge_tokens:
        tagged = [f"{(t.lemma or t.form).lower()}/{t.pos.split('-')[0]}" for t in message.tokens]
        units += [f"<b{i + 1}>{u}" for i, u in enumerate(tagged[:edge_tokens])]
        units += [f"<e{i + 1}>{u}" for i, u in enumerate(reversed(tagged[-edge_tokens:]))]
    return units


class TfidfFeaturizer(Component):
    """Word (lemma) n-gram TF-IDF and character n-gram TF-IDF, concatenated and L2-normalised.

    Character n-grams make the model robust to typos, missing spaces and slang that the
    morphological analyser splits badly; lemma n-grams generalise over conjugation.
    """

    name = "tfidf_featurizer"
    requires = ("normalized", "tokens")  # character n-grams of the normalised text; lemma (or form) n-grams
    provides = ("features",)
    defaults = {
        "word_unit": "lemma",  # or "lemma_pos"
        "word_ngram_range": [1, 2],
        "char_ngram_range": [1, 4],
        "char_analyzer": "char_wb",
        "drop_stopwords": False,
        "sublinear_tf": True,
        "min_df": 1,
        "max_features": None,
        "char_weight": 1.0,
        "edge_tokens": 0,
    }

    _fitted_rows: tuple[list[Message], Any] | None = None  # fit's rows, for the process_batch that follows

    def needs(self) -> tuple[str, ...]:
        return (*self.requires, "stopwords") if self.params["drop_stopwords"] else self.requires

    def fit(self, data: TrainingData) -> TfidfFeaturizer:
        # Pipeline.fit processes the same messages next: their rows are kept for that call (not saved).
        self._fitted_rows = (data.messages, self.fit_transform(data.messages))
        return self

    def fit_transform(self, messages: list[Message]) -> sp.csr_matrix:
        """Fit on ``messages`` and return their rows (``transform`` after ``fit`` counts every n-gram twice)."""
        p = self.params
        self.word_vectorizer_ = TfidfVectorizer(
            analyzer="word", tokenizer=_identity, preprocessor=_identity, token_pattern=None,
            lowercase=False, ngram_range=tuple(p["word_ngram_range"]), sublinear_tf=p["sublinear_tf"],
            min_df=p["min_df"], max_features=p["max_features"],
        )
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer=p["char_analyzer"], ngram_range=tuple(p["char_ngram_range"]),
            sublinear_tf=p["sublinear_tf"], min_df=p["min_df"], max_features=p["max_features"],
        )
        words = self.word_vectorizer_.fit_transform([self._words(m) for m in messages])
        chars = self.char_vectorizer_.fit_transform([m.normalized.lower() for m in messages])
        rows = l2_normalize(sp.hstack([words, chars * self.params["char_weight"]], format="csr"))
        rows.sort_indices()  # as transform's rows are: scikit-learn's fit_transform leaves them in vocabulary order
        return rows

    def _words(self, message: Message) -> list[str]:
        p = self.params
        return word_units(message, p["word_unit"], p["drop_stopwords"], p["edge_tokens"])

    def transform(self, messages: list[Message]) -> sp.csr_matrix:
        """Feature rows for messages, L2-normalised (cosine similarity is a dot product)."""
        words = self.word_vectorizer_.transform([self._words(m) for m in messages])
        chars = self.char_vectorizer_.transform([m.normalized.lower() for m in messages])
        return l2_normalize(sp.hstack([words, chars * self.params["char_weight"]], format="csr"))

    def transform_one(self, message: Message) -> sp.csr_matrix:
        """``transform([message])`` without scikit-learn's per-call checks and sparse-matrix building,
        which were most of a reply's feature time; the same numbers, operation for operation
        (counts, ``1 + log``, times idf, L2 per vectorizer, concatenated, L2 again)."""
        analyzers = getattr(self, "_analyzers", None)
        if analyzers is None:  # built on first use: the fitted vectorizers are what a model directory stores
            analyzers = self._analyzers = [FastTfidf(v) for v in (self.word_vectorizer_, self.char_vectorizer_)]
        weights = (1.0, self.params["char_weight"])
        documents = (self._words(message), message.normalized.lower())
        indices, data, offset = [], [], 0
        for analyzer, doc, weight in zip(analyzers, documents, weights, strict=True):
            row = analyzer.row(doc)
            if row is None:
                return self.transform([message])[0]
            block, values = row
            if weight != 1.0:
                values = values * weight
            indices.append(block + offset)
            data.append(values)
            offset += analyzer.size
        row = np.concatenate(data)
        _l2_normalize(row)
        columns = np.concatenate(indices).astype(np.int32, copy=False)
        return sp.csr_matrix((row, columns, np.array([0, len(row)], dtype=np.int32)), shape=(1, offset))

    def process_batch(self, messages: list[Message]) -> list[Message]:
        if not messages:
            return messages
        if len(messages) == 1:  # serving: one message per request
            messages[0].features = self.transform_one(messages[0])
            return messages
        fitted, self._fitted_rows = self._fitted_rows, None
        same = fitted is not None and len(fitted[0]) == len(messages) and all(
            a is b for a, b in zip(fitted[0], messages, strict=True))
        matrix = fitted[1] if fitted is not None and same else self.transform(messages)
        for i, message in enumerate(messages):
            message.features = matrix[i]
        return messages

    def process(self, message: Message) -> Message:
        return self.process_batch([message])[0]


class FastTfidf:
    """One document through a fitted ``TfidfVectorizer`` without its per-call checks: the same numbers.

    ``row(doc)`` gives the sorted column indices and values of ``transform([doc])`` (counts, ``1 + log``
    when sublinear, times idf, L2), or None for a norm other than l2 or none (then use ``transform``)."""

    def __init__(self, vectorizer: Any):
        self.analyze = vectorizer.build_analyzer()
        self.vocabulary = vectorizer.vocabulary_
        self.idf = vectorizer.idf_
        self.sublinear = vectorizer.sublinear_tf
        self.norm = vectorizer.norm
        self.size = len(self.vocabulary)

    def row(self, doc: Any) -> tuple[np.ndarray, np.ndarray] | None:
        if self.norm not in ("l2", None):
            return None
        counts: dict[int, int] = {}
        for feature in self.analyze(doc):
            index = self.vocabulary.get(feature)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        block = np.fromiter(sorted(counts), dtype=np.int32, count=len(counts))
        values = np.array([counts[i] for i in block.tolist()], dtype=np.float64)
        if self.sublinear:
            np.log(values, values)
            values += 1.0
        values *= self.idf[block]
        if self.norm == "l2":
            _l2_normalize(values)
        return block, values


def _l2_normalize(values: np.ndarray) -> None:
    """Divide by the L2 norm in place, summing in order as scikit-learn's sparse ``normalize`` does, so
    the result is bit for bit the same (numpy's pairwise sum can differ in the last place)."""
    total = 0.0
    for value in values.tolist():
        total += value * value
    if total != 0.0:
        values /= math.sqrt(total)


def stack_features(messages: list[Message]) -> sp.csr_matrix:
    """Rows of ``message.features`` as one matrix."""
    if len(messages) == 1 and getattr(messages[0].features, "format", None) == "csr":
        return messages[0].features  # serving: one message, already a one-row CSR matrix
    return sp.vstack([m.features for m in messages], format="csr")


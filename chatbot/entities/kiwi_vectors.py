"""Morpheme vectors from Kiwi's built-in CoNg language model, as word clusters and dense features.

kiwipiepy (0.21 and later, with its default ``cong`` model) ships 256-dimensional embeddings of about
70,000 morphemes, learnt by its language model from a large corpus, that it exposes only as cosine
similarities (``Kiwi.morpheme_similarity``). Their geometry is recovered exactly from the similarities to
a few hundred anchor morphemes: if ``S`` holds each morpheme's similarities to the anchors and the anchors'
own similarity matrix is ``U diag(w) U^T``, then ``S U diag(w)^-1/2`` are the unit embeddings up to a
rotation, which neither k-means nor a principal-component projection sees. Kiwi groups names by what
they are (teams with teams, Gyeongnam towns with Gyeongnam towns, companies with companies), which is the
knowledge a tagger trained on a few thousand sentences lacks.

``MorphemeVectors.build`` costs about 10 s (the similarities) plus the k-means at each level; its result
is cached for the process, so that a validation fit and the refit pay once.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ANCHORS = 320  # more than the 256 dimensions, so that the anchors span them


def _kiwi() -> Any:
    from kiwipiepy import Kiwi

    kiwi = Kiwi()
    if getattr(kiwi, "model_type", "") not in ("cong", "cong-global"):
        raise ValueError("morpheme vectors need Kiwi's CoNg language model (kiwipiepy >= 0.21 with its "
                         f"default model); this Kiwi has model_type {getattr(kiwi, 'model_type', None)!r}")
    return kiwi


def _embedded_count(kiwi: Any) -> int:
    """How many morpheme ids (0 .. n-1) have a vector: the ids after them give NaN similarities."""
    def has_vector(i: int) -> bool:
        try:
            return not math.isnan(kiwi.morpheme_similarity(i, 0))
        except (ValueError, IndexError, RuntimeError):
            return False

    low, high = 0, 1
    while has_vector(high):
        high *= 2
    while high - low > 1:  # the last id with a vector lies in [low, high)
        middle = (low + high) // 2
        if has_vector(middle):
            low = middle
        else:
            high = middle
    return low + 1


def unit_vectors(kiwi: Any, seed: int = 0, anchors: int = ANCHORS) -> np.ndarray:
    """The unit embedding of every morpheme id that has one (rows), in an orthonormal basis of their span."""
    count = _embedded_count(kiwi)
    chosen = [int(i) for i in np.random.default_rng(seed).choice(count, min(anchors, count), replace=False)]
    similarity = kiwi.morpheme_similarity
    sims = np.empty((count, len(chosen)), dtype=np.float64)
    for i in range(count):
        sims[i] = [similarity(i, a) for a in chosen]
    weights, basis = np.linalg.eigh(sims[chosen])
    keep = weights > 1e-6 * weights.max()
    vectors = (sims @ basis[:, keep]) / np.sqrt(weights[keep])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


@dataclass
class MorphemeVectors:
    """Per morpheme (``form/POS``): its cluster id at each k-means level and its first principal components.

    ``index`` maps ``form/POS`` to a row of ``clusters`` (one column per level) and of ``dense``."""

    levels: tuple[int, ...]
    index: dict[str, int]
    clusters: np.ndarray  # int32, rows x levels
    dense: np.ndarray  # float32, rows x dims: the first principal components, one scale for all

    @classmethod
    def build(cls, levels: tuple[int, ...], dims: int, seed: int = 0) -> MorphemeVectors:
        return _build(tuple(int(k) for k in levels), int(dims), int(seed))

    def row(self, form: str, pos: str) -> int | None:
        """The row of a morpheme, or None when Kiwi has no vector for it (an unknown word)."""
        row = self.index.get(f"{form}/{pos}")
        if row is None and "-" in pos:  # VV-R and the like, when only the plain tag is listed
            row = self.index.get(f"{form}/{pos.split('-')[0]}")
        return row

    def rows(self, tokens: Sequence[Any]) -> list[int | None]:
        """``row`` of each token (anything with ``form`` and ``pos``)."""
        return [self.row(t.form, t.pos) for t in tokens]

    def cluster_features(self, rows: Sequence[int | None], k: int, neighbour_levels: Sequence[int]) -> list[str]:
        """A character's cluster features, ``k`` being the index of its morpheme in ``rows`` (-1: none): the
        morpheme's cluster at each level, and at ``neighbour_levels`` those of the morphemes either side."""
        row = rows[k] if k >= 0 else None
        if row is None:
            features = ["kc=none"]
        else:
            features = [f"kc{level}={cluster}" for level, cluster in zip(self.levels, self.clusters[row].tolist(),
                                                                        strict=True)]
        for level in neighbour_levels:
            column = self.levels.index(level)
            for d in (-1, 1):
                beside = rows[k + d] if k >= 0 and 0 <= k + d < len(rows) else None
                features.append(f"kc{level}{d:+d}={self.clusters[beside, column] if beside is not None else 'none'}")
        return features

    def dense_features(self, rows: Sequence[int | None], k: int, beside_dims: int) -> dict[str, float]:
        """A character's real-valued features: its morpheme's components, and the first ``beside_dims`` of the
        morphemes either side."""
        row = rows[k] if k >= 0 else None
        found = {f"ke{j}": float(x) for j, x in enumerate(self.dense[row].tolist())} if row is not None else {}
        for d in (-1, 1) if beside_dims else ():
            beside = rows[k + d] if k >= 0 and 0 <= k + d < len(rows) else None
            if beside is not None:
                found.update({f"ke{d:+d}_{j}": float(x) for j, x in enumerate(self.dense[beside, :beside_dims])})
        return found


@functools.lru_cache(maxsize=2)
def _build(levels: tuple[int, ...], dims: int, seed: int) -> MorphemeVectors:
    return vectors_of(_kiwi(), levels, dims, seed)


def vectors_of(kiwi: Any, levels: tuple[int, ...], dims: int, seed: int = 0, anchors: int = ANCHORS) -> MorphemeVectors:
    """``MorphemeVectors`` from ``kiwi`` (anything with ``morpheme_similarity`` and ``morpheme``)."""
    from sklearn.cluster import MiniBatchKMeans

    vectors = unit_vectors(kiwi, seed, anchors)
    centred = vectors - vectors.mean(axis=0)  # one direction is shared by all: take it out
    centred /= np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)
    centred = centred.astype(np.float32)
    columns = []
    for k in levels:
        kmeans = MiniBatchKMeans(n_clusters=min(k, len(centred)), random_state=seed, batch_size=4096, n_init=3,
                                 max_iter=100)
        columns.append(kmeans.fit(centred).labels_.astype(np.int32))
    clusters = np.stack(columns, axis=1) if columns else np.zeros((len(centred), 0), dtype=np.int32)
    dense = np.zeros((len(centred), 0), dtype=np.float32)
    if dims > 0:
        _, basis = np.linalg.eigh(np.cov(centred.T))
        projected = centred @ basis[:, ::-1][:, :max(dims, 64)]
        dims = min(dims, projected.shape[1])
        # one scale for all the components (the first ones vary most, and keep that): the spread of the
        # absolute values of the first 64 is 1
        dense = (projected[:, :dims] / np.abs(projected[:, :64]).std()).astype(np.float32)
    index: dict[str, int] = {}
    for i in range(len(centred)):
        token = kiwi.morpheme(i)
        index.setdefault(f"{token.form}/{token.tag}", i)
    return MorphemeVectors(levels, index, clusters, dense)

"""Kiwi's morpheme vectors as CRF features: the geometry comes back from the similarities alone, the
clusters and components are built from it, and the CRF trains, tags, saves and loads with them (a small
fake vector table stands in for Kiwi's 70,000 morphemes, which take about a minute to cluster)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from chatbot.entities.crf import CrfEntityExtractor, unit_features, units
from chatbot.entities.kiwi_vectors import MorphemeVectors, unit_vectors, vectors_of
from chatbot.message import Entity, Message, TrainingData
from tests.chatbot.conftest import prepare

pytest.importorskip("pycrfsuite")


class FakeKiwi:
    """``morpheme_similarity`` (cosine; NaN past the last vector, as Kiwi gives) and ``morpheme``."""

    def __init__(self, vectors: np.ndarray, names: list[tuple[str, str]]) -> None:
        self.vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        self.names = names

    def morpheme_similarity(self, a: int, b: int) -> float:
        if max(a, b) >= len(self.vectors):
            return math.nan
        return float(self.vectors[a] @ self.vectors[b])

    def morpheme(self, i: int) -> SimpleNamespace:
        form, tag = self.names[i]
        return SimpleNamespace(form=form, tag=tag)


def two_groups(size: int = 30, dims: int = 8) -> FakeKiwi:
    """Morphemes near one of two directions: ``a0..`` (NNP) and ``b0..`` (NNG)."""
    rng = np.random.default_rng(1)
    centres = np.eye(dims)[:2] * 4
    vectors = np.concatenate([centres[0] + rng.normal(size=(size, dims)), centres[1] + rng.normal(size=(size, dims))])
    return FakeKiwi(vectors, [(f"a{i}", "NNP") for i in range(size)] + [(f"b{i}", "NNG") for i in range(size)])


def test_the_unit_vectors_keep_every_similarity():
    kiwi = two_groups()
    vectors = unit_vectors(kiwi, anchors=20)
    assert vectors.shape == (60, 8)
    np.testing.assert_allclose(vectors @ vectors.T, kiwi.vectors @ kiwi.vectors.T, atol=1e-6)


def test_clusters_and_components_come_from_the_vectors():
    found = vectors_of(two_groups(), levels=(2, 4), dims=3, anchors=20)
    assert found.levels == (2, 4) and found.clusters.shape == (60, 2) and found.dense.shape == (60, 3)
    top = found.clusters[:, 0]
    assert len(set(top[:30])) == 1 and len(set(top[30:])) == 1 and top[0] != top[30]  # the two groups
    assert found.row("a3", "NNP") == 3 and found.row("b0", "NNG") == 30 and found.row("a3", "NNG") is None
    assert found.row("a3", "NNP-R") == 3  # a tag with a suffix falls back to the plain tag


TEMPLATES = ["{}에 가고 싶어", "{} 날씨 알려줘", "내일 {}에서 만나", "{}로 여행 갈래"]
CITIES = ["부산", "서울", "대전", "광주"]


def small_vectors() -> MorphemeVectors:
    """The cities in one cluster at both levels, 가 and 싶 in others; no vector for anything else."""
    index = {"부산/NNP": 0, "서울/NNP": 1, "대전/NNP": 2, "광주/NNP": 3, "제주/NNP": 4, "가/VV": 5, "싶/VX": 6}
    clusters = np.array([[0, 7]] * 5 + [[1, 3], [1, 4]], dtype=np.int32)
    dense = np.array([[1.0, -0.5]] * 5 + [[-1.0, 0.2], [-0.8, 0.1]], dtype=np.float32)
    return MorphemeVectors((8, 32), index, clusters, dense)


def test_cluster_features_of_a_character_and_its_neighbours(front):
    message = prepare(front, [Message(text="부산에 가고 싶어")])[0]
    features = unit_features(message, vectors=small_vectors(), neighbour_levels=[32])
    assert len(features) == len(units(message))
    first = features[0]  # 부 of 부산 (NNP), before 에 (no vector)
    assert "kc8=0" in first and "kc32=7" in first and "kc32-1=none" in first and "kc32+1=none" in first
    assert "kc=none" in features[2]  # 에
    assert not any(f.startswith("kc") for f in unit_features(message)[0])  # off unless asked


def test_the_crf_trains_and_tags_with_kiwi_vectors(front, monkeypatch, tmp_path):
    asked = []
    monkeypatch.setattr(MorphemeVectors, "build", classmethod(lambda cls, levels, dims, seed=0: (
        asked.append((levels, dims)) or small_vectors())))
    rows = []
    for template in TEMPLATES:
        for city in CITIES:
            text = template.format(city)
            rows.append(Message(text=text, gold_entities=[Entity("CITY", city, text.index(city),
                                                                 text.index(city) + len(city))]))
    extractor = CrfEntityExtractor(max_iterations=50, kiwi_clusters="8,32", kiwi_neighbour_clusters=32, kiwi_dims=2)
    assert extractor.params["kiwi_clusters"] == [8, 32] and extractor.params["kiwi_neighbour_clusters"] == [32]
    extractor.fit(TrainingData(prepare(front, rows)))
    assert asked == [((8, 32), 2)]
    message = prepare(front, [Message(text="제주에 가고 싶어")])[0]
    weighted = extractor.features(message)
    assert isinstance(weighted[0], dict) and weighted[0]["ke0"] == 1.0 and weighted[0]["kc8=0"] == 1.0
    assert "ke0" not in weighted[2]  # 에: no vector
    tagged = [(e.type, e.text) for e in extractor.process(message).entities]
    assert tagged == [("CITY", "제주")]  # never seen in training: its cluster and components tell
    extractor.save(tmp_path / "crf")
    loaded = CrfEntityExtractor.load(tmp_path / "crf", dict(extractor.params))
    again = prepare(front, [Message(text="제주에 가고 싶어")])[0]
    assert [(e.type, e.text) for e in loaded.process(again).entities] == tagged


def test_neighbour_levels_must_be_cluster_levels():
    with pytest.raises(ValueError, match="not in kiwi_clusters"):
        CrfEntityExtractor(kiwi_clusters=[128], kiwi_neighbour_clusters=[512])


def test_off_by_default_builds_nothing(front, monkeypatch):
    monkeypatch.setattr(MorphemeVectors, "build", classmethod(lambda cls, *a, **k: pytest.fail("built")))
    text = "부산에 가고 싶어"
    rows = [Message(text=text, gold_entities=[Entity("CITY", "부산", 0, 2)])]
    extractor = CrfEntityExtractor(max_iterations=5).fit(TrainingData(prepare(front, rows)))
    assert extractor.vectors_ is None
    assert isinstance(extractor.features(prepare(front, [Message(text=text)])[0])[0], list)

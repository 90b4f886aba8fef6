"""The CRF + BiLSTM-CRF ensemble and what it is built from: the network's forward-backward marginals match
a brute-force sum over every tag path, the BIO Viterbi never produces an ``I-`` without its ``B-``, the
BiLSTM-CRF's optional inputs (bigrams, character classes, gazetteer marks) train, save and load, and the
ensemble learns entities from a few sentences and reloads to the same predictions."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")

from chatbot.entities.bilstm_crf import BiLstmCrfEntityExtractor  # noqa: E402
from chatbot.entities.ensemble import CrfBiLstmEntityExtractor, bio_labels, viterbi_bio  # noqa: E402
from chatbot.message import Message, TrainingData  # noqa: E402
from chatbot.models.bilstm_crf import crf_marginals  # noqa: E402
from tests.chatbot.test_bilstm_crf_extractor import LOOKUPS, PARAMS, SENTENCES, annotated, found, prepared  # noqa: E402


def test_marginals_equal_a_brute_force_sum_over_tag_paths():
    from torchcrf import CRF

    torch.manual_seed(0)
    crf = CRF(3, batch_first=True).requires_grad_(False)
    for parameter in crf.parameters():
        torch.nn.init.normal_(parameter)
    emissions = torch.randn(2, 4, 3)
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    marginals = crf_marginals(emissions, mask, crf)
    for row, length in enumerate((4, 2)):
        totals, z = torch.zeros(length, 3), 0.0
        for path in itertools.product(range(3), repeat=length):
            score = (crf.start_transitions[path[0]] + crf.end_transitions[path[-1]]
                     + sum(emissions[row, i, path[i]] for i in range(length))
                     + sum(crf.transitions[path[i], path[i + 1]] for i in range(length - 1)))
            weight = float(score.exp())
            z += weight
            for i in range(length):
                totals[i, path[i]] += weight
        assert torch.allclose(totals / z, marginals[row, :length], atol=1e-5)


def test_viterbi_keeps_bio_valid_even_when_inside_is_likeliest():
    labels = bio_labels(["LC", "PS"])  # O, B-LC, I-LC, B-PS, I-PS
    inside = [0.0, 0.1, 0.0, 0.3, 0.6]  # I-PS is likeliest everywhere, but cannot start a span
    assert viterbi_bio([inside, inside], labels) == ["B-PS", "I-PS"]
    mixed = [[0.0, 0.6, 0.0, 0.4, 0.0], [0.0, 0.0, 0.45, 0.0, 0.55]]  # I-PS may not follow B-LC
    assert viterbi_bio(mixed, labels) == ["B-LC", "I-LC"]  # 0.6 x 0.45 beats 0.4 x 0.55
    assert viterbi_bio([], labels) == []


@pytest.fixture(scope="module")
def data() -> TrainingData:
    return TrainingData(prepared([annotated(t, s) for t, s in SENTENCES]), lookups=LOOKUPS)


def test_the_bilstm_with_bigrams_classes_and_gazetteer_learns_saves_and_loads(data, tmp_path):
    extra = {"bigrams": True, "char_types": True, "gazetteer": True, "bigram_embedding_size": 8,
             "type_embedding_size": 4}
    tagger = BiLstmCrfEntityExtractor(**PARAMS, **extra).fit(data)
    assert found(tagger, "내일 부산에 가요") == [("region", "부산", 3, 5, None)]
    assert tagger.gazetteer_ and tagger.bigrams_
    tagger.save(tmp_path / "tagger")
    loaded = BiLstmCrfEntityExtractor.load(tmp_path / "tagger", tagger.params)
    for text in ("대구에서 김치찌개 먹자", "오늘 기분 어때", "서울 가서 라면"):
        assert found(loaded, text) == found(tagger, text)
    rows = tagger.marginals(prepared([Message(text="부산 가자"), Message(text="")]))
    assert rows[0].shape == (len("부산 가자"), len(tagger.tags_)) and rows[1] is None
    assert abs(float(rows[0].sum(1).mean()) - 1.0) < 1e-5


def test_the_ensemble_learns_and_reloads_to_the_same_entities(data, tmp_path):
    ensemble = CrfBiLstmEntityExtractor(crf={"max_iterations": 50}, bilstm=PARAMS).fit(data)
    assert found(ensemble, "내일 부산에 가요") == [("region", "부산", 3, 5, None)]
    assert ("food", "김치찌개", 5, 9, "김치찌개") in found(ensemble, "대구에서 김치찌개 먹자")
    assert found(ensemble, "") == []
    ensemble.save(tmp_path / "ensemble")
    loaded = CrfBiLstmEntityExtractor.load(tmp_path / "ensemble", ensemble.params)
    for text in ("대구에서 김치찌개 먹자", "오늘 기분 어때", "제주도 가서 떡볶이"):
        assert found(loaded, text) == found(ensemble, text)


def test_the_ensemble_without_annotations_finds_nothing():
    data = TrainingData(prepared([Message(text="안녕하세요", gold_intent="greet")]))
    ensemble = CrfBiLstmEntityExtractor(bilstm={"progress": False}).fit(data)
    assert found(ensemble, "서울에 가자") == [] and ensemble.types() == []

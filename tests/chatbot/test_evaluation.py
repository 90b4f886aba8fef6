"""Quality metrics on small examples whose answers are known."""

from __future__ import annotations

import pytest

from chatbot.evaluation import distinct_n, evaluate_messages, fallback_metrics, intent_metrics, response_metrics
from chatbot.message import Message


def test_bleu_of_identical_replies_is_100():
    replies = ["오늘 날씨가 정말 좋아서 산책하기 좋네요", "저녁으로 따뜻한 김치찌개를 먹었어요"]
    result = response_metrics(replies, replies)
    assert result["bleu4"] == pytest.approx(100.0)
    assert result["pairs"] == 2


@pytest.mark.filterwarnings("ignore:\\s*The hypothesis contains 0 counts")
def test_bleu_of_disjoint_replies_is_about_zero():
    result = response_metrics(["사과 바나나 딸기 포도 수박"], ["컴퓨터 키보드 마우스 모니터 프린터"])
    assert result["bleu4"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.filterwarnings("ignore:\\s*The hypothesis contains 0 counts")
def test_response_metrics_report_distinct_n_of_the_replies():
    varied = response_metrics(["사과 바나나", "딸기 포도"], ["사과", "포도"])
    assert varied["distinct1"] == pytest.approx(1.0)
    assert varied["distinct2"] == pytest.approx(1.0)
    repeated = response_metrics(["사과 바나나", "사과 바나나"], ["사과", "포도"])
    assert repeated["distinct1"] == pytest.approx(0.5)
    assert repeated["distinct2"] == pytest.approx(0.5)


def test_distinct_n_on_a_known_list():
    replies = [["a", "b", "a"], ["a", "b"]]
    assert distinct_n(replies, 1) == pytest.approx(2 / 5, abs=1e-4)
    assert distinct_n(replies, 2) == pytest.approx(2 / 3, abs=1e-4)
    assert distinct_n([["x"]], 2) == 0.0


def test_intent_metrics_on_a_known_example():
    result = intent_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert result["accuracy"] == pytest.approx(0.75)
    a, b = result["per_class"]["a"], result["per_class"]["b"]
    assert (a["precision"], a["recall"], a["support"]) == (pytest.approx(1.0), pytest.approx(0.5), 2)
    assert a["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert (b["precision"], b["recall"], b["support"]) == (pytest.approx(2 / 3, abs=1e-4), pytest.approx(1.0), 2)
    assert b["f1"] == pytest.approx(0.8, abs=1e-4)
    assert result["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2, abs=1e-4)


def _m(gold: str, pred: str, fallback: bool) -> Message:
    return Message(text="x", gold_intent=gold, intent=pred, fallback=fallback)


def test_fallback_metrics_with_ood_rows():
    messages = [
        _m("a", "a", False), _m("a", "a", False), _m("b", "a", False), _m("b", "b", True),
        _m("OOD", "a", True), _m("OOD", "b", False),
    ]
    result = fallback_metrics(messages)
    assert result["ood_recall"] == pytest.approx(0.5)
    assert result["in_domain_kept"] == pytest.approx(0.75)
    assert result["accuracy_with_fallback"] == pytest.approx(0.5)
    # a: 2 of 3 answers right, both rows found (F1 0.8); b: its one correct answer fell back (F1 0)
    assert result["macro_f1_with_fallback"] == pytest.approx(0.4)
    assert result["fallback_rate"] == pytest.approx(2 / 6, abs=1e-4)


def test_fallback_metrics_without_ood_rows_has_no_ood_recall():
    result = fallback_metrics([_m("a", "a", False), _m("b", "b", True)])
    assert "ood_recall" not in result
    assert result["in_domain_kept"] == pytest.approx(0.5)


def test_evaluate_messages_leaves_ood_rows_out_of_intent_metrics():
    messages = [_m("a", "a", False), _m("b", "b", False), _m("OOD", "a", True)]
    report = evaluate_messages(messages)
    assert report["rows"] == 3
    assert report["intent"]["accuracy"] == pytest.approx(1.0)
    assert "OOD" not in report["intent"]["per_class"]
    assert report["fallback"]["ood_recall"] == pytest.approx(1.0)
    assert "response" not in report  # no gold answers

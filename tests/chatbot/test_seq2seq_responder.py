"""The seq2seq responder inside a pipeline: it learns pairs, saves, loads and replies in clean text."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from chatbot.message import Message, TrainingData  # noqa: E402
from chatbot.pipeline import Pipeline  # noqa: E402

PAIRS = [("안녕 반가워", "안녕하세요 만나서 반가워요"), ("배고파", "맛있는 거 드세요"),
         ("잘 자", "좋은 꿈 꾸세요"), ("고마워", "천만에요 언제든지요")]
STEPS = [{"name": "normalizer"}, {"name": "tokenizer"}, {"name": "lemmatizer"}, {"name": "stopwords"},
         {"name": "tfidf_featurizer"}, {"name": "sklearn_intent_classifier", "params": {"model": "logreg"}},
         {"name": "seq2seq_responder", "params": {
             "vocab_size": 60, "embedding_size": 32, "hidden_size": 48, "layers": 1, "dropout": 0.0,
             "epochs": 150, "batch_size": 8, "learning_rate": 0.01, "warmup_steps": 5, "patience": 1000,
             "validation_split": 0.01, "teacher_forcing_end": 1.0, "label_smoothing": 0.0, "device": "cpu",
             "progress": False, "seed": 0, "decode": {"method": "greedy", "max_length": 20, "no_repeat_ngram": 0}}}]


def _data() -> TrainingData:
    rows = [Message(text=q, gold_intent=f"i{i % 2}", gold_answer=a) for i, (q, a) in enumerate(PAIRS)]
    return TrainingData(rows * 4)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    pipeline = Pipeline(STEPS).fit(_data())
    directory = tmp_path_factory.mktemp("s2s")
    pipeline.save(directory)
    return pipeline, directory


def test_it_learns_the_training_pairs(trained):
    pipeline, _ = trained
    responder = pipeline.find("seq2seq_responder")
    replies = responder.generate([q for q, _ in PAIRS])
    assert sum(r == a for r, (_, a) in zip(replies, PAIRS, strict=True)) >= 3, replies


def test_best_weights_are_chosen_by_the_bleu_of_validation_replies(trained):
    log = trained[0].find("seq2seq_responder").training_log_
    scores = [h["validation_score"] for h in log["history"]]
    assert len(scores) == len(log["history"]) and all(0.0 <= s <= 100.0 for s in scores)
    assert log["best_validation_score"] == max(scores)
    assert log["target_tokens_per_second"] > log["examples_per_second"] > 0  # answers are several pieces long
    assert log["best_step"] == next(h["step"] for h in log["history"] if h["validation_score"] == max(scores))


def test_saved_model_replies_alike_in_clean_text(trained):
    pipeline, directory = trained
    loaded = Pipeline.load(directory)
    for question, _ in PAIRS:
        before = pipeline.process(Message(text=question)).reply
        message = loaded.process(Message(text=question))
        assert message.reply == before
        assert message.reply_source.startswith("seq2seq")
        assert not any(mark in message.reply for mark in ("▁", "<s>", "</s>", "<unk>", "<pad>"))
    assert (directory / "components").exists()


def test_unknown_input_still_gets_a_reply(trained):
    pipeline, _ = trained
    reply = pipeline.process(Message(text="햏햏 🤖 quantum")).reply
    assert isinstance(reply, str) and reply.strip()


def test_perplexity_is_lower_for_the_answers_it_learned(trained):
    pipeline, _ = trained
    responder = pipeline.find("seq2seq_responder")
    questions, answers = [q for q, _ in PAIRS], [a for _, a in PAIRS]
    learned = responder.perplexity(questions, answers)
    swapped = responder.perplexity(questions, answers[1:] + answers[:1])
    assert 1.0 <= learned < swapped


# --- hybrid: retrieval for close questions, seq2seq for the rest --------------------------------

# Fewer epochs: these tests are about routing, not about what the network learned.
HYBRID_STEPS = [*STEPS[:-1], {"name": "hybrid_responder", "params": {**STEPS[-1]["params"], "epochs": 30}}]


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory):
    pipeline = Pipeline(HYBRID_STEPS).fit(_data())
    held_out = [Message(text=q, gold_intent=f"i{i % 2}", gold_answer=a) for i, (q, a) in enumerate(PAIRS)]
    held_out += [Message(text=f"{q} 진짜로", gold_intent=f"i{i % 2}", gold_answer=a) for i, (q, a) in enumerate(PAIRS)]
    overrides = pipeline.tune(held_out)
    directory = tmp_path_factory.mktemp("hybrid")
    pipeline.save(directory)
    return pipeline, directory, overrides


def test_hybrid_threshold_is_tuned_and_recorded(hybrid):
    pipeline, directory, overrides = hybrid
    responder = pipeline.find("hybrid_responder")
    tuning = json.loads((directory / "components" / "06_hybrid_responder" / "hybrid.json").read_text("utf-8"))
    assert tuning["tuned"] and tuning["validation_pairs"] == 2 * len(PAIRS)
    assert overrides[6] == {"min_similarity": tuning["min_similarity"]} == {"min_similarity": responder.params[
        "min_similarity"]}
    best = max(row["bleu4"] for row in tuning["candidates"])
    assert tuning["validation_bleu4"] == best
    assert {row["threshold"] for row in tuning["candidates"]} >= {0.0, 1.01}


def test_hybrid_routes_by_similarity_and_survives_a_reload(hybrid):
    pipeline, directory, _ = hybrid
    responder = pipeline.find("hybrid_responder")
    responder.params["min_similarity"] = 0.9
    close = pipeline.process(Message(text=PAIRS[1][0]))
    assert close.context["responder"] == "retrieval" and close.reply == PAIRS[1][1]
    far = pipeline.process(Message(text="오늘 뭐 하고 놀까"))
    assert far.context["retrieval_similarity"] < 0.9
    assert far.context["responder"] == "seq2seq" and far.reply_source.startswith("seq2seq") and far.reply.strip()
    loaded = Pipeline.load(directory)
    assert loaded.find("hybrid_responder").params["min_similarity"] == pytest.approx(
        responder.tuning_["min_similarity"])
    loaded.find("hybrid_responder").params["min_similarity"] = 0.9
    batch = loaded.process_batch([Message(text=PAIRS[1][0]), Message(text="오늘 뭐 하고 놀까")])
    assert [m.context["responder"] for m in batch] == ["retrieval", "seq2seq"]
    assert [m.reply for m in batch] == [close.reply, far.reply]

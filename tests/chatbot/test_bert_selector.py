"""The answer-selection responder and the BERT embedder on a tiny checkpoint built in the test."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

pytest.importorskip("transformers")

from chatbot.message import Message, TrainingData  # noqa: E402
from chatbot.pipeline import Pipeline  # noqa: E402
from chatbot.responders.bert_selector import BertSelector  # noqa: E402
from tests.models.bert_fixtures import tiny_bert  # noqa: E402

PAIRS = [("오늘 날씨 어때", "맑고 따뜻해요."), ("내일 비 와?", "우산을 챙기세요."), ("점심 뭐 먹지", "김밥 어때요?"),
         ("배고파", "뭐라도 드세요."), ("안녕하세요", "반가워요!"), ("잘 자", "좋은 꿈 꾸세요."),
         ("심심해", "산책 어때요?"), ("고마워", "천만에요.")]
TINY = {"epochs": 60, "batch_size": 8, "learning_rate": 1e-2, "warmup_steps": 5, "patience": 100,
        "validation_split": 0.1, "device": "cpu", "progress": False, "seed": 0, "temperature": 0.1}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    texts = [t for pair in PAIRS for t in pair]
    return tiny_bert(tmp_path_factory.mktemp("bert") / "tiny", vocab_size=120, sentences=texts)


def _data(copies: int = 3) -> TrainingData:
    return TrainingData([Message(text=q, gold_intent=f"i{k}", gold_answer=a)
                         for k, (q, a) in enumerate(PAIRS) for _ in range(copies)])


def test_selector_learns_to_pick_answers_and_round_trips(checkpoint, tmp_path):
    steps = [{"name": "normalizer"}, {"name": "bert_selector", "params": {**TINY, "pretrained": str(checkpoint)}}]
    pipeline = Pipeline(steps).fit(_data())
    selector: BertSelector = pipeline.find("bert_selector")
    assert sorted(selector.answers_) == sorted(a for _, a in PAIRS) and selector.index_.shape[0] == len(PAIRS)
    norms = np.linalg.norm(selector.index_, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)
    top, _ = selector.rank([q for q, _ in PAIRS])
    right = sum(selector.answers_[top[i, 0]] == a for i, (_, a) in enumerate(PAIRS))
    assert right >= 6  # the training questions find their answers (chance: 1 of 8)
    pipeline.save(tmp_path / "model")
    loaded = Pipeline.load(tmp_path / "model")
    message = loaded.process(Message(text="점심 뭐 먹지"))
    assert message.reply == pipeline.process(Message(text="점심 뭐 먹지")).reply
    assert message.reply_source == "selector:answer" and "selector_similarity" in message.context


def test_absorb_adds_new_answers_to_the_index(checkpoint):
    steps = [{"name": "normalizer"}, {"name": "bert_selector",
                                      "params": {**TINY, "epochs": 1, "pretrained": str(checkpoint)}}]
    pipeline = Pipeline(steps).fit(_data(1))
    selector = pipeline.find("bert_selector")
    held_out = [Message(text="주말에 뭐 해?", gold_intent="i9", gold_answer="영화 보러 가요."),
                Message(text="배고파", gold_intent="i3", gold_answer="뭐라도 드세요.")]
    assert selector.absorb(held_out) == 1  # the known answer is not added twice
    assert selector.answers_[-1] == "영화 보러 가요." and selector.index_.shape[0] == len(PAIRS) + 1


def test_selector_needs_pairs_and_a_checkpoint(checkpoint):
    no_answers = TrainingData([Message(text="안녕", gold_intent="a"), Message(text="잘 가", gold_intent="b")])
    with pytest.raises(ValueError, match="question/answer pairs"):
        Pipeline([{"name": "bert_selector", "params": {"pretrained": str(checkpoint)}}]).fit(no_answers)
    with pytest.raises(ValueError, match="--pretrained"):
        Pipeline([{"name": "bert_selector"}]).fit(_data(1))


def test_bert_embedder_gives_unit_vectors_and_round_trips(checkpoint, tmp_path):
    steps = [{"name": "normalizer"}, {"name": "bert_embedder", "params": {"pretrained": str(checkpoint)}}]
    pipeline = Pipeline(steps).fit(_data(1))
    vectors = np.stack([pipeline.process(Message(text=q)).embedding for q, _ in PAIRS])
    assert vectors.shape == (len(PAIRS), 32) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(vectors[0], vectors[1])
    pipeline.save(tmp_path / "emb")
    again = Pipeline.load(tmp_path / "emb").process(Message(text=PAIRS[0][0])).embedding
    assert np.allclose(again, vectors[0], atol=1e-5)


def test_cross_encoder_reranks_the_top_k_and_round_trips(checkpoint, tmp_path):
    # 30% held out: the best step is chosen on the validation loss, which two held-out groups make too noisy.
    params = {**TINY, "pretrained": str(checkpoint), "rerank_top_k": 4, "rerank_negatives": 3,
              "learning_rate": 3e-3, "validation_split": 0.3}
    pipeline = Pipeline([{"name": "normalizer"}, {"name": "bert_selector", "params": params}]).fit(_data())
    selector = pipeline.find("bert_selector")
    history = selector.training_log_["reranker"]
    assert selector.reranker_ is not None and history["steps"] > 0
    question = "점심 뭐 먹지"
    message = pipeline.process(Message(text=question))
    assert "reranker_score" in message.context and message.reply in selector.answers_
    top, _ = selector.rank([question], 4)
    assert message.reply == selector.answers_[selector.rerank(question, top[0])[0]]  # the cross-encoder decided
    right = 0
    for q, a in PAIRS:
        top, _ = selector.rank([q], 4)
        right += selector.answers_[selector.rerank(q, top[0])[0]] == a
    assert right >= 5  # it learnt to put gold answers first (chance among 4: 2 of 8)
    pipeline.save(tmp_path / "model")
    loaded = Pipeline.load(tmp_path / "model")
    assert (tmp_path / "model" / "components" / "01_bert_selector" / "reranker" / "config.json").is_file()
    again = loaded.process(Message(text=question))
    assert again.reply == message.reply and again.context["reranker_score"] == message.context["reranker_score"]


def test_int8_serving_quantizes_on_load_and_keeps_the_vectors(checkpoint, tmp_path):
    import torch

    steps = [{"name": "normalizer"}, {"name": "bert_selector", "params": {**TINY, "pretrained": str(checkpoint)}}]
    pipeline = Pipeline(steps).fit(_data())
    pipeline.save(tmp_path / "model")
    config_file = tmp_path / "model" / "pipeline.yaml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    config["pipeline"][1]["params"]["int8"] = True  # what a trainer edits to serve the model quantized
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    served = Pipeline.load(tmp_path / "model").find("bert_selector")
    assert served.params["int8"] is True
    quantized = [m for m in served.encoder_.model.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert quantized  # the Linear layers now hold int8 weights
    texts = [q for q, _ in PAIRS]
    fp32 = pipeline.find("bert_selector").encoder_.encode(texts)
    cosine = np.sum(fp32 * served.encoder_.encode(texts), axis=1)
    assert cosine.min() > 0.98

"""A corpus of entity annotations alone trains an entity-only model; Kochat's two files train one model."""

from __future__ import annotations

import pytest

from chatbot.bot import Bot
from chatbot.corpus import load_corpus
from training.train import train_model

ENTITY_ONLY = """\
version: 1
entities:
  - entity: region
    values: [서울, 부산]
    examples:
      - "[부산](region) 가는 기차 몇 시야"
      - "[서울](region)에서 만나자"
      - "[대구](region) 날씨 좋다"
      - "[광주](region) 가 본 적 있어?"
      - "[인천](region) 공항 가는 길"
      - "[제주](region)에 살고 싶다"
      - 그냥 집에 있을래
      - 밥 먹었어?
"""


def test_an_entity_only_corpus_trains_the_entity_stages_alone(tmp_path):
    corpus = tmp_path / "places.yaml"
    corpus.write_text(ENTITY_ONLY, encoding="utf-8")
    meta = train_model([corpus], tmp_path / "model")
    assert meta["entity_only"] is True
    names = [s["name"] for s in Bot.load(tmp_path / "model").pipeline.steps]
    assert "crf_entity_extractor" in names
    intent_stages = {"sklearn_intent_classifier", "fallback_detector", "retrieval_responder", "tfidf_featurizer"}
    assert not intent_stages & set(names)
    reply = Bot.load(tmp_path / "model").reply("부산에 가자")
    assert [(e["type"], e["text"], e["start"]) for e in reply.entities] == [("region", "부산", 0)]


def test_an_entity_only_corpus_needs_an_extractor_in_the_config(tmp_path):
    corpus = tmp_path / "places.yaml"
    corpus.write_text(ENTITY_ONLY, encoding="utf-8")
    config = {"pipeline": [{"name": "normalizer"}, {"name": "tokenizer"}, {"name": "tfidf_featurizer"},
                           {"name": "sklearn_intent_classifier"}]}
    with pytest.raises(ValueError, match="no entity extractor"):
        train_model([corpus], tmp_path / "model", config)


def test_kochat_intent_and_entity_files_merge_by_sentence_and_train_one_model(tmp_path):
    weather = ["부산 날씨 어때", "서울 날씨 알려줘", "인천 날씨 맑아?", "광주 날씨 좀", "제주 바람 불어?"]
    food = ["강남 맛집 추천해줘", "홍대 맛집 알려줘", "신촌 맛집 어디야",
            "종로 밥집 추천", "잠실 맛집 있어?", "성수 카페 추천"]
    sentences = [(q, "weather", "B-LOCATION O O") for q in weather]
    sentences.append(("내일 대구 비 와", "weather", "O B-LOCATION O O"))
    sentences += [(q, "restaurant", "B-LOCATION O O") for q in food]
    (tmp_path / "intent.csv").write_text("question,label\n" + "".join(f"{q},{i}\n" for q, i, _ in sentences),
                                         encoding="utf-8")
    (tmp_path / "entity.csv").write_text("question,label\n" + "".join(f"{q},{t}\n" for q, _, t in sentences),
                                         encoding="utf-8")
    data = load_corpus([tmp_path])
    assert len(data.messages) == len(sentences)  # merged: one row per sentence, with its intent and entities
    by_text = {m.text: m for m in data.messages}
    assert by_text["내일 대구 비 와"].gold_intent == "weather"
    assert [(e.type, e.text) for e in by_text["내일 대구 비 와"].gold_entities] == [("LOCATION", "대구")]
    meta = train_model([tmp_path], tmp_path / "model")
    assert meta["entity_only"] is False and meta["data"]["intents"] == 2

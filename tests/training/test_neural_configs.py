"""The bundled ``textcnn`` and ``bilstm`` configs train, save, load and answer like the default one."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from chatbot.bot import Bot  # noqa: E402
from tests.conftest import TINY_INTENTS, write_tiny_corpus  # noqa: E402
from training.config import load_config  # noqa: E402
from training.train import train_model  # noqa: E402

TINY = {"embedding_size": 16, "filters": 16, "kernel_sizes": [1, 2], "hidden_size": 16, "attention_size": 16,
        "epochs": 30, "batch_size": 8, "learning_rate": 0.01, "warmup_steps": 5, "patience": 30, "progress": False}


@pytest.mark.parametrize("name", ["textcnn", "bilstm"])
def test_bundled_neural_intent_config_trains_and_answers(name, tmp_path):
    config = load_config(name)
    step = next(s for s in config["pipeline"] if s["name"] == "neural_intent_classifier")
    assert step["params"]["architecture"] == name
    step["params"].update(TINY)  # the bundled network, shrunk for CI
    out = tmp_path / "model"
    train_model([write_tiny_corpus(tmp_path / "corpus")], out, config, overrides={"device": "cpu", "seed": 0})

    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    summary = next(v for k, v in meta["neural"].items() if k.endswith("neural_intent_classifier"))
    assert summary["steps"] > 0 and summary["device"] == "cpu"
    assert meta["refit"] is False and (out / "loss_curve.png").is_file()
    bot = Bot.load(out)
    replies = [bot.reply(text) for text in ("안녕하세요 반가워요", "내일 비 와요?", "점심 메뉴 추천 좀")]
    for reply in replies:
        assert reply.text and 0.0 <= reply.confidence <= 1.0
        assert reply.intent in TINY_INTENTS or reply.fallback
    assert sum(r.intent == i for r, i in zip(replies, ("greet", "weather", "food"), strict=True)) >= 2

"""The bundled ``bert-intent`` config with ``--pretrained``, and the flag's errors."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")

from chatbot.bot import Bot  # noqa: E402
from tests.conftest import TINY_INTENTS, write_tiny_corpus  # noqa: E402
from tests.models.bert_fixtures import tiny_bert  # noqa: E402
from training.config import load_config  # noqa: E402
from training.train import train_model  # noqa: E402

TINY = {"epochs": 3, "batch_size": 8, "learning_rate": 2e-3, "warmup_steps": 2, "progress": False}


def test_bert_intent_config_trains_from_the_pretrained_flag(tmp_path):
    checkpoint = tiny_bert(tmp_path / "tiny")
    config = load_config("bert-intent")
    step = next(s for s in config["pipeline"] if s["name"] == "bert_intent_classifier")
    assert "pretrained" not in step["params"]  # it comes from --pretrained
    step["params"].update(TINY)
    out = tmp_path / "model"
    train_model([write_tiny_corpus(tmp_path / "corpus")], out, config,
                overrides={"device": "cpu", "seed": 0, "pretrained": str(checkpoint)})
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    summary = next(v for k, v in meta["neural"].items() if k.endswith("bert_intent_classifier"))
    assert summary["steps"] > 0 and summary["device"] == "cpu"
    reply = Bot.load(out).reply("내일 비 와요?")
    assert reply.text and (reply.intent in TINY_INTENTS or reply.fallback)


def test_pretrained_flag_errors_name_the_fix(tmp_path):
    corpus = write_tiny_corpus(tmp_path / "corpus")
    with pytest.raises(ValueError, match="add --pretrained"):
        train_model([corpus], tmp_path / "a", "bert-intent")
    with pytest.raises(ValueError, match="no component of this config takes"):
        train_model([corpus], tmp_path / "b", "default", overrides={"pretrained": str(tmp_path)})


def test_train_cli_takes_pretrained_and_explains_its_absence(tmp_path, capsys):
    from chatbot.cli import main

    corpus = write_tiny_corpus(tmp_path / "corpus")
    assert main(["train", "--data", str(corpus), "--out", str(tmp_path / "m0"), "--config", "bert-selector"]) == 2
    assert "add --pretrained" in capsys.readouterr().err
    absent = tmp_path / "absent"
    code = main(["train", "--data", str(corpus), "--out", str(tmp_path / "m1"), "--config", "bert-selector",
                 "--pretrained", str(absent), "--device", "cpu"])
    assert code == 2 and "cannot be used" in capsys.readouterr().err
    checkpoint = tiny_bert(tmp_path / "tiny")
    code = main(["train", "--data", str(corpus), "--out", str(tmp_path / "m2"), "--config", "bert-selector",
                 "--pretrained", str(checkpoint), "--device", "cpu", "--time-budget", "1"])
    assert code == 0
    reply = Bot.load(tmp_path / "m2").reply("점심 메뉴 추천 좀")
    assert reply.text

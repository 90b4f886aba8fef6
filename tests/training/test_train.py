"""``training.train.train_model``: a self-describing model directory, or nothing at all."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from chatbot.bot import Bot
from chatbot.corpus import CorpusError
from training.config import load_config
from training.train import train_model


def read_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def step(config: dict, name: str) -> dict:
    found = [s for s in config["pipeline"] if s["name"] == name]
    assert len(found) == 1, config["pipeline"]
    return found[0]


def test_train_writes_a_self_describing_model_directory(tiny_corpus, tmp_path):
    corpus = tiny_corpus("yaml")
    out = tmp_path / "model"
    meta = train_model([corpus], out)
    assert meta["out_dir"] == str(out)

    config = read_yaml(out / "pipeline.yaml")
    assert config["version"] == 1
    assert step(config, "tokenizer")["params"]["backend"] == "kiwi"
    assert [s["name"] for s in config["pipeline"]] == [s["name"] for s in load_config("default")["pipeline"]]

    saved = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert saved["tokenizer"] == "kiwi"
    assert saved["data"]["rows"] == 27
    assert saved["data"]["intents"] == 3
    assert saved["data"]["files"] == [{"path": str(corpus), "sha256": hashlib.sha256(corpus.read_bytes()).hexdigest()}]
    assert len(saved["data"]["sha256"]) == 64 and int(saved["data"]["sha256"], 16) >= 0
    assert {"python", "kiwipiepy", "scikit-learn", "numpy"} <= set(saved["versions"])
    assert 0.0 <= saved["validation"]["intent"]["accuracy"] <= 1.0
    assert 0.0 <= saved["validation"]["intent"]["macro_f1"] <= 1.0
    assert saved["validation"]["rows"] > 0
    assert datetime.fromisoformat(saved["created_at"]).tzinfo is not None
    assert saved["classifier"]["model"]
    assert sorted(saved["capabilities"]) == ["날씨 이야기", "음식 이야기", "인사하기"]

    components = out / "components"
    assert components.is_dir() and any(components.iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model")]  # no temp dirs left over


def test_data_hash_changes_with_the_data(tiny_corpus, tmp_path):
    corpus = tiny_corpus("csv")
    first = train_model([corpus], tmp_path / "a")["data"]["sha256"]
    assert train_model([corpus], tmp_path / "b")["data"]["sha256"] == first
    corpus.write_text(corpus.read_text(encoding="utf-8") + "우산 어디 뒀지,weather,\n", encoding="utf-8")
    assert train_model([corpus], tmp_path / "c")["data"]["sha256"] != first


def test_trained_model_loads_and_answers(tiny_model_dir):
    bot = Bot.load(tiny_model_dir)
    reply = bot.reply("안녕하세요 반갑습니다")
    assert reply.intent == "greet"
    assert reply.text


def test_custom_config_file_with_mecab_is_recorded_and_used(tiny_corpus, tmp_path):
    config = load_config("default")
    step(config, "tokenizer")["params"] = {"backend": "mecab"}
    config_file = tmp_path / "my_mecab.yaml"
    config_file.write_text(yaml.safe_dump({"pipeline": config["pipeline"], "training": config["training"]},
                                          allow_unicode=True), encoding="utf-8")
    out = tmp_path / "model"
    meta = train_model([tiny_corpus("yaml")], out, str(config_file))
    assert meta["tokenizer"] == "mecab"
    assert meta["config"] == "my_mecab"
    assert step(read_yaml(out / "pipeline.yaml"), "tokenizer")["params"]["backend"] == "mecab"

    bot = Bot.load(out)
    assert bot.meta["tokenizer"] == "mecab"
    tokenizer = bot.pipeline.find("tokenizer")
    assert tokenizer.tokenizer.name == "mecab"
    assert bot.reply("오늘 비 와요?").text


def test_bad_corpus_raises_and_writes_no_model(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,intent\n안녕,greet\n,greet\n비 와?,weather\n", encoding="utf-8")
    out = tmp_path / "models" / "new"
    with pytest.raises(CorpusError) as excinfo:
        train_model([bad], out)
    assert any(p.startswith(f"{bad}:3:") for p in excinfo.value.problems)
    assert not out.exists()
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_bad_corpus_leaves_an_existing_model_untouched(tiny_corpus, tmp_path):
    out = tmp_path / "model"
    train_model([tiny_corpus("yaml")], out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nintents:\n  - intent: greet\n    exmaples: [안녕]\n", encoding="utf-8")
    with pytest.raises(CorpusError):
        train_model([bad], out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert Bot.load(out).reply("안녕하세요").text


def test_unknown_config_name_raises(tiny_corpus, tmp_path):
    with pytest.raises(ValueError, match="no_such_config"):
        train_model([tiny_corpus("yaml")], tmp_path / "m", "no_such_config")
    assert not (tmp_path / "m").exists()

"""A hybrid (retrieval + seq2seq) model trained by the train command is served on CPU like any other:
the API and the terminal chat answer in clean Korean text, and the generative side really answers."""

from __future__ import annotations

import io
import re
import sys

import pytest
import yaml

pytest.importorskip("torch")

from chatbot.bot import Bot  # noqa: E402
from chatbot.cli import main  # noqa: E402
from webui import create_app  # noqa: E402

MARKERS = ("▁", "<s>", "</s>", "<unk>", "<pad>", "⁇")


def test_the_model_directory_records_the_tuned_threshold(tiny_hybrid_model_dir):
    saved = yaml.safe_load((tiny_hybrid_model_dir / "pipeline.yaml").read_text(encoding="utf-8"))["pipeline"][-1]
    tuning = next(tiny_hybrid_model_dir.glob("components/*_hybrid_responder/hybrid.json"))
    assert saved["name"] == "hybrid_responder"
    assert saved["params"]["min_similarity"] == yaml.safe_load(tuning.read_text(encoding="utf-8"))["min_similarity"]
    assert (tiny_hybrid_model_dir / "loss_curve.png").read_bytes().startswith(b"\x89PNG")


def test_validation_rows_join_the_retrieval_index(tiny_hybrid_model_dir):
    meta = yaml.safe_load((tiny_hybrid_model_dir / "meta.json").read_text(encoding="utf-8"))
    assert meta["refit"] is False and meta["absorbed_rows"] > 0
    retrieval = Bot.load(tiny_hybrid_model_dir).pipeline.find("hybrid_responder").retrieval_
    # Every corpus row is in the index: the training split from fit, the validation split absorbed.
    assert retrieval.questions_.shape[0] == len(retrieval.answers_) == meta["fit_rows"] + meta["absorbed_rows"]
    assert meta["fit_rows"] + meta["absorbed_rows"] == meta["data"]["rows"] - meta["data"]["ood_rows"]


def test_both_sides_answer_in_clean_text(tiny_hybrid_model_dir):
    bot = Bot.load(tiny_hybrid_model_dir)
    responder = bot.pipeline.find("hybrid_responder")
    for threshold, side in ((-1.0, "retrieval"), (2.0, "seq2seq")):
        responder.params["min_similarity"] = threshold  # force each side in turn
        reply = bot.reply("안녕하세요 반가워요 ㅎㅎ")
        assert reply.source.split(":")[0] == side or reply.fallback, reply
        assert reply.text.strip() and not any(mark in reply.text for mark in MARKERS), reply.text
        assert "  " not in reply.text


def test_the_api_serves_it(tiny_hybrid_model_dir, tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'g.db'}",
                      "MODEL_DIR": str(tiny_hybrid_model_dir)})
    client = app.test_client()
    for text in ("안녕하세요", "오늘 날씨 어떄", "ㅋㅋㅋㅋ 심심해"):
        response = client.post("/api/chat", json={"message": text})
        assert response.status_code == 200, response.get_json()
        reply = response.get_json()["reply"]
        assert re.search(r"[가-힣]", reply) and not any(mark in reply for mark in MARKERS), reply


def test_terminal_chat_uses_it(tiny_hybrid_model_dir, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("안녕\n고마워\n"))
    assert main(["chat", "--model", str(tiny_hybrid_model_dir)]) == 0
    out = capsys.readouterr().out
    assert len([line for line in out.splitlines() if re.search(r"[가-힣]", line)]) >= 3, out

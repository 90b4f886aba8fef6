"""``export-feedback`` and ``users``: feedback becomes a corpus file that training reads."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from flask import Flask

from chatbot.corpus import load_corpus
from webui.feedback_export import export_feedback


def rate(client, text: str, rating: int, correction: str | None = None, conversation_id: str | None = None):
    body = {"message": text} | ({"conversation_id": conversation_id} if conversation_id else {})
    reply = client.post("/api/chat", json=body).get_json()
    payload = {"rating": rating} | ({"correction": correction} if correction is not None else {})
    assert client.post(f"/api/messages/{reply['message_id']}/feedback", json=payload).status_code == 200
    return reply["conversation_id"]


def test_corrections_and_liked_replies_become_training_rows(app: Flask, client, fake_bot, tmp_path: Path):
    cid = rate(client, "주말에 뭐 하지", 1)
    rate(client, "라면 맛있게 끓이는 법", -1, "물이 끓으면 면과 스프를 넣고 4분 끓여 보세요.", cid)
    rate(client, "별로인 대답", -1)  # disliked without a correction: not exported
    rate(client, fake_bot.FALLBACK, -1, "그건 제가 아직 몰라요, 배워 둘게요.")  # fell back: no intent known
    rate(client, "주말에 뭐 하지", 1)  # the same exchange again: exported once
    out = tmp_path / "feedback.csv"
    with app.app_context():
        counts = export_feedback(out)
    assert counts == {"rows": 3, "corrections": 2, "positive": 1, "skipped": 2}
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows == [
        {"text": "주말에 뭐 하지", "intent": "echo", "answer": "echo: 주말에 뭐 하지"},
        {"text": "라면 맛있게 끓이는 법", "intent": "echo", "answer": "물이 끓으면 면과 스프를 넣고 4분 끓여 보세요."},
        {"text": fake_bot.FALLBACK, "intent": "feedback", "answer": "그건 제가 아직 몰라요, 배워 둘게요."},
    ]
    corpus = load_corpus([out], min_intents=1)  # the trainer's loader reads it as it is
    assert [(m.text, m.gold_intent, m.gold_answer) for m in corpus.messages] == [
        (r["text"], r["intent"], r["answer"]) for r in rows]
    with app.app_context():
        assert export_feedback(tmp_path / "only.csv", positive=False)["rows"] == 2


def test_the_cli_manages_users_and_exports(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run = [sys.executable, "-m", "chatbot"]
    made = subprocess.run([*run, "users", "--database-url", url, "add", "관리자", "--role", "admin",
                           "--password-stdin"], input="비밀번호1234\n", capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    again = subprocess.run([*run, "users", "--database-url", url, "add", "관리자", "--password-stdin"],
                           input="비밀번호1234\n", capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "username_taken" in again.stderr and "Traceback" not in again.stderr
    listed = subprocess.run([*run, "users", "--database-url", url, "list"], capture_output=True, text=True,
                            timeout=120)
    assert "관리자\tadmin" in listed.stdout
    out = tmp_path / "fb.csv"
    exported = subprocess.run([*run, "export-feedback", "--database-url", url, "--out", str(out)],
                              capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0 and "wrote 0 rows" in exported.stdout
    assert out.read_text(encoding="utf-8").strip() == "text,intent,answer"

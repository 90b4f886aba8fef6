"""Feedback to corpus: the trainers' retraining loop.

Each rated bot message is paired with the user message that it answered (the conversation's last
user message before it). A correction gives a question/answer row with the corrected answer; a 👍
gives the exchange as it happened. The CSV has the columns ``text,intent,answer`` that
``python -m chatbot train --data FILE.csv`` reads (see ``data/corpus/README.md``).
"""

from __future__ import annotations

import csv
import os
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from webui.extensions import db
from webui.tables import Attachment, Feedback, StoredMessage


def feedback_rows(since: datetime | None = None) -> list[dict[str, Any]]:
    """Every rated bot message with its rating, correction, intent, fallback flag, when it was rated
    (``updated_at``) and the user message it answered, oldest first."""
    user = aliased(StoredMessage)
    previous_user = (
        select(func.max(user.id))
        .where(user.conversation_id == StoredMessage.conversation_id, user.role == "user", user.id < StoredMessage.id)
        .correlate(StoredMessage)
        .scalar_subquery()
    )
    query = (
        select(Feedback.rating, Feedback.correction, Feedback.updated_at, StoredMessage.id, StoredMessage.text,
               StoredMessage.intent, StoredMessage.fallback, previous_user.label("question_id"))
        .join(StoredMessage, StoredMessage.id == Feedback.message_id)
        .where(StoredMessage.role == "bot")
        .order_by(Feedback.id)
    )
    if since is not None:
        query = query.where(Feedback.updated_at >= since)
    rows = [row._asdict() for row in db.session.execute(query)]
    question_ids = {row["question_id"] for row in rows if row["question_id"] is not None}
    questions = dict(db.session.execute(
        select(StoredMessage.id, StoredMessage.text).where(StoredMessage.id.in_(question_ids))).all())
    with_files = set(db.session.execute(
        select(Attachment.message_id).where(Attachment.message_id.in_(question_ids | {r["id"] for r in rows}))
    ).scalars())
    for row in rows:
        row["question"] = questions.get(row["question_id"], "")
        row["has_files"] = row["id"] in with_files or row["question_id"] in with_files
    return rows


def feedback_corpus(since: datetime | None = None, positive: bool = True,
                    unknown_intent: str = "feedback") -> tuple[list[tuple[str, str, str]], dict[str, int]]:
    """The corpus rows ``(text, intent, answer)`` that the feedback gives, and counts of rows,
    corrections, liked replies and skipped feedback (shared by the command line and the trainer console)."""
    counts = {"rows": 0, "corrections": 0, "positive": 0, "skipped": 0}
    seen: set[tuple[str, str]] = set()
    lines: list[tuple[str, str, str]] = []
    for row in feedback_rows(since):
        question = (row["question"] or "").strip()
        intent = row["intent"] if row["intent"] and not row["fallback"] else None
        if row["correction"]:
            answer, kind, intent = row["correction"], "corrections", intent or unknown_intent
        elif row["rating"] == 1 and positive and intent:
            answer, kind = row["text"], "positive"
        else:
            counts["skipped"] += 1
            continue
        # Commands (/image, /forecast) and pictures are answered by tools, not by the corpus.
        if not question or question.startswith("/") or row["has_files"] or (question, answer) in seen:
            counts["skipped"] += 1
            continue
        seen.add((question, answer))
        lines.append((question, intent, answer))
        counts[kind] += 1
    counts["rows"] = len(lines)
    return lines, counts


def write_corpus_csv(handle: IO[str], lines: list[tuple[str, str, str]]) -> None:
    """The corpus CSV (``text,intent,answer`` header, then ``lines``) into an open text handle."""
    writer = csv.writer(handle)
    writer.writerow(["text", "intent", "answer"])
    writer.writerows(lines)


def export_feedback(out: str | os.PathLike[str], since: datetime | None = None, positive: bool = True,
                    unknown_intent: str = "feedback") -> dict[str, int]:
    """Write the corpus CSV to ``out`` (atomically); returns counts of rows, corrections, liked replies
    and skipped feedback."""
    lines, counts = feedback_corpus(since, positive, unknown_intent)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        write_corpus_csv(handle, lines)
    tmp.replace(path)
    return counts

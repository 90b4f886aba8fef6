"""Stored feedback in the console: browse it (newest first, by rating), download it as the corpus CSV that
``python -m chatbot export-feedback`` writes, or save that CSV as an uploaded corpus to train on."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webui.account_pages import PostForm
from webui.auth import role_required
from webui.feedback_export import feedback_corpus, feedback_rows, write_corpus_csv
from webui.trainer.blueprint import bp
from webui.trainer.corpora import save_corpus

PAGE_SIZE = 50
RATINGS = {"all": None, "up": 1, "down": -1}


@bp.get("/feedback")
@role_required("trainer")
def feedback() -> str:
    """The feedback table, 50 rows a page, filtered by ``rating`` (all, up, down)."""
    rating = request.args.get("rating", "all")
    rating = rating if rating in RATINGS else "all"
    rows = [r for r in reversed(feedback_rows()) if RATINGS[rating] is None or r["rating"] == RATINGS[rating]]
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    shown = rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    return render_template("trainer/feedback.html", rows=shown, total=len(rows), page=page, pages=pages,
                           rating=rating, form=PostForm(), rated_at=rated_at)


def rated_at(value: Any) -> str:
    """A feedback time as ``YYYY-MM-DD HH:MM`` UTC (SQLite hands it back without its zone; it is UTC)."""
    if not isinstance(value, datetime):
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M")


def corpus_csv() -> tuple[str, dict[str, int]]:
    """The CSV text that ``export-feedback`` would write now, and its counts."""
    lines, counts = feedback_corpus()
    buffer = io.StringIO(newline="")
    write_corpus_csv(buffer, lines)
    return buffer.getvalue(), counts


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


@bp.get("/feedback/export.csv")
@role_required("trainer")
def export_csv() -> Response:
    """Download the feedback corpus CSV (``text,intent,answer``)."""
    text, _ = corpus_csv()
    response = Response(text.encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="feedback-{_stamp()}.csv"'
    return response


@bp.post("/feedback/corpus")
@role_required("trainer")
def save_as_corpus() -> Response:
    """Save the feedback corpus CSV as an uploaded corpus (validated like an upload) and show its report."""
    if not PostForm().validate_on_submit():
        abort(400)
    text, counts = corpus_csv()
    if not counts["rows"]:
        flash("코퍼스로 만들 피드백이 아직 없어요. 수정 답변이나 👍 받은 답변이 있어야 해요.", "error")
        return redirect(url_for("trainer.feedback"), 303)
    record = save_corpus(f"feedback-{_stamp()}.csv", text.encode("utf-8"), current_user.username, source="feedback")
    flash(f"피드백 {counts['rows']}행을 코퍼스로 저장했어요(수정 답변 {counts['corrections']}, "
          f"👍 답변 {counts['positive']}, 건너뜀 {counts['skipped']}).", "success")
    return redirect(url_for("trainer.corpus", corpus_id=record["id"]), 303)

"""Console pages: corpora (upload, validation report, train, delete), jobs (progress, cancel, evaluation
report, comparison with the live model, promotion).

Deleting a corpus and promoting a model ask first: ``trainer.js`` opens the page's ``<dialog>`` and
posts ``confirm=yes``; a post without it (no JavaScript) gets a confirmation page, never the action."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Response, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from wtforms import BooleanField, HiddenField

from webui.account_pages import PageForm, PostForm
from webui.auth import role_required
from webui.errors import ApiError
from webui.lifecycle import get_holder
from webui.promotion import promote_and_reload, require_model_path
from webui.trainer.blueprint import bp
from webui.trainer.corpora import (
    EXTENSIONS,
    CorpusInUse,
    UploadError,
    check_upload,
    corpus_exists,
    delete_corpus,
    get_corpus,
    list_corpora,
    save_corpus,
)
from webui.trainer.jobs import (
    JobBusy,
    NotCancelled,
    active_job,
    active_job_on,
    cancel_job,
    job_state,
    list_jobs,
    start_job,
)
from webui.trainer.reports import (
    compare,
    dialogue_report,
    entity_report,
    fallback_report,
    model_summary,
    search_report,
    wrong_entity_examples,
    wrong_examples,
)
from webui.trainer.storage import base_corpus, folder, max_upload_bytes, read_json

NOT_VALID_MESSAGE = "검증을 통과하지 못한 코퍼스는 학습할 수 없어요. 오류를 고쳐서 다시 올려 주세요."
BUSY_MESSAGE = "다른 학습 작업({job_id})이 진행 중이에요. 끝난 뒤에 다시 시작해 주세요."
PROMOTED_MESSAGE = "새 모델(버전 {version})을 서비스에 올렸어요. 이전 버전: {previous}"
NOT_DONE_MESSAGE = "학습이 끝난 작업의 모델만 승격할 수 있어요."
CANCELLED_MESSAGE = "학습을 취소했어요."
STILL_STOPPING_MESSAGE = "학습을 멈추라고 알렸지만 아직 끝나지 않았어요. 잠시 뒤에 다시 확인해 주세요."
IN_USE_MESSAGE = ("진행 중인 학습 작업({job_id})이 이 코퍼스로 학습하고 있어서 지울 수 없어요. "
                  "학습이 끝나거나 취소한 뒤에 지워 주세요.")
DELETED_MESSAGE = "코퍼스 '{name}'을(를) 지웠어요."


class TrainForm(PageForm):
    base = BooleanField("기본 코퍼스(data/corpus)도 함께 학습하기", default=True)


class ConfirmForm(PageForm):
    """A button that asks first: ``confirm`` is "yes" once the trainer said so (in trainer.js's dialog,
    or on the confirmation page)."""

    confirm = HiddenField(default="")

    def confirmed(self) -> bool:
        return self.confirm.data == "yes"


@bp.get("")
@role_required("trainer")
def index() -> str:
    """The console's start page: upload a corpus, the corpora and the jobs."""
    return render_index()


def render_index(error: str | None = None) -> Any:
    page = render_template("trainer/index.html", form=PostForm(), error=error, corpora=list_corpora(),
                           jobs=list_jobs(), extensions=",".join(EXTENSIONS), max_mb=max_upload_bytes() / 1024 / 1024)
    return page if error is None else (page, 400)


@bp.post("/corpora")
@role_required("trainer")
def upload() -> Any:
    """Store and validate an uploaded corpus file, then show its report."""
    if not PostForm().validate_on_submit():
        abort(400)
    upload = request.files.get("corpus")
    try:
        data = upload.stream.read(max_upload_bytes() + 1) if upload else b""
        name = check_upload(upload.filename if upload else None, data)
    except UploadError as exc:
        return render_index(str(exc))
    record = save_corpus(name, data, current_user.username)
    return redirect(url_for("trainer.corpus", corpus_id=record["id"]), 303)


@bp.get("/corpora/<corpus_id>")
@role_required("trainer")
def corpus(corpus_id: str) -> str:
    """A corpus's validation report and its training form."""
    return render_corpus(corpus_id)


def render_corpus(corpus_id: str, error: str | None = None, status: int = 200) -> Any:
    record, report, _ = get_corpus(corpus_id)
    base = base_corpus()
    return render_template("trainer/corpus.html", record=record, report=report, form=TrainForm(), base=base,
                           base_name=base.name if base else None, active=active_job(), error=error,
                           in_use=active_job_on(corpus_id), delete_form=ConfirmForm()), status


@bp.post("/corpora/<corpus_id>/train")
@role_required("trainer")
def train(corpus_id: str) -> Any:
    """Start a training job on the corpus (with the base corpus when asked); refused for a corpus that is
    not valid, or while another job is running."""
    record, report, path = get_corpus(corpus_id)
    form = TrainForm()
    if not form.validate_on_submit():
        abort(400)
    if not report["ok"]:
        return render_corpus(corpus_id, NOT_VALID_MESSAGE, 400)
    base = base_corpus()
    data = [path, *([base] if form.base.data and base is not None else [])]
    try:
        job_id = start_job(data, [{"id": record["id"], "name": record["name"]}], current_user.username)
    except JobBusy as exc:
        return render_corpus(corpus_id, BUSY_MESSAGE.format(job_id=exc.job_id), 409)
    except FileNotFoundError:
        abort(404)  # deleted since this request found it
    return redirect(url_for("trainer.job", job_id=job_id), 303)


@bp.post("/corpora/<corpus_id>/delete")
@role_required("trainer")
def delete(corpus_id: str) -> Any:
    """Delete an uploaded corpus once confirmed (without ``confirm=yes``, the confirmation page); refused
    while a queued or running job trains on it. Jobs that used it keep their records and reports."""
    record, _, _ = get_corpus(corpus_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if not form.confirmed() and active_job_on(corpus_id) is None:
        return render_confirm("delete", "코퍼스를 지울까요?", url_for("trainer.delete", corpus_id=corpus_id),
                              url_for("trainer.corpus", corpus_id=corpus_id), record=record)
    try:
        delete_corpus(corpus_id, current_user.username)
    except CorpusInUse as exc:
        return render_corpus(corpus_id, IN_USE_MESSAGE.format(job_id=exc.job_id), 409)
    flash(DELETED_MESSAGE.format(name=record["name"]), "success")
    return redirect(url_for("trainer.index"), 303)


@bp.get("/jobs/<job_id>")
@role_required("trainer")
def job(job_id: str) -> Any:
    """A job's progress and cancel button; once done, its evaluation report, the comparison and the
    promote button."""
    return render_job(job_id)


def render_job(job_id: str, error: str | None = None, status: int = 200) -> Any:
    path = folder("jobs", job_id)
    state = job_state(path)
    record = _record(path)
    deleted = [c.get("id") for c in record.get("corpora") or []
               if isinstance(c, dict) and not corpus_exists(str(c.get("id")))]
    return render_template("trainer/job.html", job=state, record=record, deleted=deleted, error=error,
                           form=ConfirmForm(), cancel_form=PostForm(), **_models(path, state)), status


def _models(path: Path, state: dict[str, Any]) -> dict[str, Any]:
    """A finished job's model and the live one: their summaries, the comparison, the wrong examples, and
    the entity figures with the examples whose entities are wrong (when the report scores entities), the
    conversation tests' per-turn figures (when the report has them), the search's table of candidates and how
    the fallback thresholds were set (when training wrote them)."""
    candidate = model_summary(path / "model") if state["status"] == "done" else None
    live_dir = get_holder().model_dir
    live = model_summary(Path(os.path.realpath(live_dir))) if live_dir else None
    return {"candidate": candidate, "live": live, "live_dir": live_dir,
            "comparison": compare(live, candidate) if candidate else None,
            "wrong": wrong_examples(candidate["predictions"]) if candidate else [],
            "entities": entity_report(candidate["report"]) if candidate else None,
            "wrong_entities": wrong_entity_examples(candidate["predictions"]) if candidate else [],
            "dialogues": dialogue_report(candidate["report"]) if candidate else None,
            "search": search_report(candidate["report"]) if candidate else None,
            "fallback_tuning": fallback_report(candidate["report"]) if candidate else None}


@bp.post("/jobs/<job_id>/cancel")
@role_required("trainer")
def cancel(job_id: str) -> Any:
    """Stop a queued or running job (from any worker: its state and pid are in its files); a job that
    has ended is a 409 on its page."""
    path = folder("jobs", job_id)
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        state = cancel_job(path, current_user.username)
    except NotCancelled as exc:
        return render_job(job_id, exc.message, 409)
    stopped = state["status"] == "cancelled"
    flash(CANCELLED_MESSAGE if stopped else STILL_STOPPING_MESSAGE, "success" if stopped else "error")
    return redirect(url_for("trainer.job", job_id=job_id), 303)


@bp.get("/api/jobs/<job_id>")
@role_required("trainer")
def job_api(job_id: str) -> tuple[Response, int]:
    """A job's state as JSON, for the progress bar: status, stage, done, total, fraction, error, problems,
    started, finished, log_tail.
    ---
    get:
      summary: 학습 작업의 상태 (진행 막대가 읽어요)
      security: [{session: []}, {token: []}]
      responses:
        200: {description: "작업 상태", json: Job}
        403: Forbidden
        404: NotFound
    """
    return jsonify(job_state(folder("jobs", job_id))), 200


@bp.get("/jobs/<job_id>/confusion-matrix.png")
@role_required("trainer")
def confusion_matrix(job_id: str) -> Response:
    """The job's model's confusion-matrix picture."""
    summary = model_summary(folder("jobs", job_id) / "model")
    if summary is None or summary["confusion_matrix"] is None:
        abort(404)
    return send_file(summary["confusion_matrix"], mimetype="image/png", max_age=0)


@bp.post("/jobs/<job_id>/promote")
@role_required("trainer")
def promote(job_id: str) -> Any:
    """Put a finished job's model live (the admin API's atomic promotion), then load it here; without
    ``confirm=yes``, the confirmation page (the live version, and the accuracy of both models)."""
    path = folder("jobs", job_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        state = job_state(path)
        if state["status"] != "done":
            raise ApiError(409, "job_not_done", NOT_DONE_MESSAGE)
        require_model_path()
        if not form.confirmed():
            return render_confirm("promote", "서비스 모델을 바꿀까요?", url_for("trainer.promote", job_id=job_id),
                                  url_for("trainer.job", job_id=job_id), **_models(path, state))
        done = promote_and_reload(path / "model")
    except ApiError as exc:
        flash(exc.message, "error")
    else:
        flash(PROMOTED_MESSAGE.format(version=done["version"], previous=done["previous_version"] or "없음"),
              "success")
    return redirect(url_for("trainer.job", job_id=job_id), 303)


def render_confirm(kind: str, title: str, action: str, back: str, **details: Any) -> str:
    """The confirmation page of a delete or a promotion, for a browser without trainer.js's dialog."""
    form = ConfirmForm()
    form.confirm.data = "yes"
    return render_template("trainer/confirm.html", kind=kind, title=title, action=action, back=back, form=form,
                           **details)


def _record(path: Path) -> dict[str, Any]:
    record = read_json(path / "job.json")
    return record if isinstance(record, dict) else {}

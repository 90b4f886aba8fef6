"""Uploaded corpora: checked at the door (type, size, UTF-8), stored under ``TRAINER_DIR/corpora/<id>/``,
and validated once by the library's ``corpus_report``, whose report is kept next to the file; deleted
unless a running job trains on them."""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import unicodedata
from pathlib import Path
from typing import Any

from flask import abort

from webui.trainer.jobs import active_job_on, jobs_lock
from webui.trainer.storage import ID, folder, ids, max_upload_bytes, new_id, now, read_json, trainer_dir, write_json

logger = logging.getLogger(__name__)

EXTENSIONS = (".yaml", ".yml", ".csv", ".tsv", ".jsonl")
PREVIEW_ROWS = 20
RECORD, REPORT = "corpus.json", "report.json"
# What the pages read from a report, with the value shown when the library left a key out.
REPORT_DEFAULTS: dict[str, Any] = {"ok": False, "files": [], "rows": 0, "errors": [], "error_count": 0, "intents": {},
                                   "ood_rows": 0, "answers": 0, "duplicates": [], "duplicate_count": 0, "warnings": [],
                                   "preview": [], "entity_rows": 0, "entities": {}}


class UploadError(ValueError):
    """An upload refused before validation; the message says in Korean what to do."""


class CorpusInUse(RuntimeError):
    """A corpus a queued or running job trains on cannot be deleted."""

    def __init__(self, job_id: str):
        super().__init__(job_id)
        self.job_id = job_id


def check_upload(filename: str | None, data: bytes) -> str:
    """The original file name (its last path part), or UploadError for a missing, wrong-type, empty,
    too large or non-UTF-8 file."""
    name = re.split(r"[\\/]", unicodedata.normalize("NFC", filename or ""))[-1].strip()
    if not name:
        raise UploadError("올릴 코퍼스 파일을 골라 주세요.")
    if Path(name).suffix.lower() not in EXTENSIONS:
        raise UploadError(f"'{name}'은(는) 지원하지 않는 형식이에요. {', '.join(EXTENSIONS)} 파일을 올려 주세요.")
    limit = max_upload_bytes()
    if len(data) > limit:
        raise UploadError(f"파일이 너무 커요. {limit / 1024 / 1024:g}MB 이하로 올려 주세요.")
    if not data.strip():
        raise UploadError(f"'{name}'은(는) 빈 파일이에요.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UploadError(f"'{name}'은(는) UTF-8 텍스트가 아니에요({line}번째 줄). "
                          "UTF-8로 저장해서 다시 올려 주세요.") from None
    return name


def safe_name(original: str) -> str:
    """A file name to store under: Korean and other letters kept, anything else that could mean a path
    or an option turned into ``_``, with the (allowed) extension in lower case."""
    path = Path(original)
    stem = re.sub(r"[^\w.-]+", "_", path.stem, flags=re.UNICODE).strip("._-")[:80]
    return f"{stem or 'corpus'}{path.suffix.lower()}"


def save_corpus(original: str, data: bytes, uploaded_by: str, source: str = "upload") -> dict[str, Any]:
    """Store an upload that passed ``check_upload``, validate it, and return its record."""
    corpus_id = new_id()
    root = trainer_dir() / "corpora"
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{corpus_id}.tmp"
    tmp.mkdir()
    stored = safe_name(original)
    (tmp / stored).write_bytes(data)
    report = run_report(tmp / stored, original)
    # The folder appears whole, with its report: a page never finds a corpus without one.
    record = {"id": corpus_id, "name": original, "file": stored, "size": len(data), "ok": bool(report["ok"]),
              "rows": report["rows"], "intents": len(report["intents"]), "source": source,
              "uploaded_by": uploaded_by, "uploaded_at": now()}
    write_json(tmp / REPORT, report)
    write_json(tmp / RECORD, record)
    try:
        tmp.rename(root / corpus_id)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("Corpus %s uploaded by %s: %s (%d rows, ok=%s)", corpus_id, uploaded_by, original,
                record["rows"], record["ok"])
    return record


def run_report(path: Path, shown_name: str) -> dict[str, Any]:
    """``chatbot.corpus.report.corpus_report`` for one file, with every key the pages read. A library
    without it, or a report that breaks, gives a report that is not ok and says why."""
    try:
        from chatbot.corpus.report import corpus_report
    except ImportError:
        return failed_report(shown_name, "이 서버의 챗봇 라이브러리에는 코퍼스 검증 기능"
                                         "(chatbot.corpus.report)이 없어요. 라이브러리를 업데이트해 주세요.")
    try:
        report = corpus_report([path], preview_rows=PREVIEW_ROWS, display_names={str(path): shown_name})
    except Exception:  # a bug in validation must not turn an upload into a 500; the log has it
        logger.exception("corpus_report failed on %s", path)
        return failed_report(shown_name, "코퍼스를 검증하다가 예상하지 못한 문제가 생겼어요. "
                                         "서버 기록을 확인해 주세요.")
    return {**REPORT_DEFAULTS, **report}


def failed_report(shown_name: str, message: str) -> dict[str, Any]:
    """A report that is not ok, with one error that is not about a line of the file."""
    return {**REPORT_DEFAULTS, "files": [shown_name], "errors": [{"file": shown_name, "line": 0, "message": message}],
            "error_count": 1}


def list_corpora() -> list[dict[str, Any]]:
    """Records of the uploaded corpora, newest first."""
    records = (read_json(trainer_dir() / "corpora" / corpus_id / RECORD) for corpus_id in ids("corpora"))
    return [r for r in records if isinstance(r, dict)]


def get_corpus(corpus_id: str) -> tuple[dict[str, Any], dict[str, Any], Path]:
    """A corpus's record, report and stored file; 404 when there is no such corpus."""
    path = folder("corpora", corpus_id)
    record, report = read_json(path / RECORD), read_json(path / REPORT)
    if not isinstance(record, dict) or not (path / str(record.get("file", ""))).is_file():
        abort(404)
    report = {**REPORT_DEFAULTS, **report} if isinstance(report, dict) else failed_report(
        record.get("name", ""), "검증 보고서를 읽을 수 없어요. 파일을 다시 올려 주세요.")
    return record, report, path / record["file"]


def corpus_exists(corpus_id: str) -> bool:
    """Whether an uploaded corpus with this id is still stored (a job's record outlives a deleted one)."""
    return bool(ID.match(corpus_id)) and (trainer_dir() / "corpora" / corpus_id).is_dir()


def delete_corpus(corpus_id: str, deleted_by: str) -> None:
    """Delete an uploaded corpus; CorpusInUse while a queued or running job trains on it, 404 when there is
    none. Jobs keep what they need: their record names the corpus, and their model and report are theirs.

    The check and the removal happen under the jobs' lock, under which a job starts after checking that
    its data files exist: a job never starts on a corpus that is being deleted."""
    path = folder("corpora", corpus_id)
    with jobs_lock():
        busy = active_job_on(corpus_id)
        if busy is not None:
            raise CorpusInUse(busy)
        trash = path.with_name(f".{corpus_id}.{secrets.token_hex(3)}.deleted")
        path.rename(trash)  # gone from the list at once, whatever rmtree then takes
    shutil.rmtree(trash, ignore_errors=True)
    logger.info("Corpus %s deleted by %s", corpus_id, deleted_by)

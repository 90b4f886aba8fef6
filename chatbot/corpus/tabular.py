"""CSV, TSV and JSONL corpora with a header (ChatbotData's ``Q,A,label``, Kochat's ``question,label``).

A ``label`` column of tag sequences (Kochat's entity file) and a KLUE-NER character TSV are read as
entity annotations by ``chatbot.corpus.sequence_formats``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from chatbot.corpus.errors import Problems, read_utf8
from chatbot.corpus.sequence_formats import is_klue_file, looks_like_tag_file, read_klue, read_tag_rows
from chatbot.message import Message, TrainingData

TEXT_COLUMNS = ("text", "question", "q")
INTENT_COLUMNS = ("intent", "label")
ANSWER_COLUMNS = ("answer", "a")


def _pick(header: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {h.strip().lower(): h for h in header if h is not None}
    return next((lowered[n] for n in names if n in lowered), None)


def _add_row(row: dict, columns: tuple, path: Path, line: int, data: TrainingData, problems: Problems) -> None:
    text_col, intent_col, answer_col = columns
    text, intent = row.get(text_col), row.get(intent_col)
    answer = row.get(answer_col) if answer_col else None
    for name, value in ((text_col, text), (intent_col, intent), (answer_col, answer)):
        if value is not None and not isinstance(value, str | int | float):
            problems.add(path, line, f"column {name!r} must be text, not {type(value).__name__}")
            return
    text = str(text or "").strip()
    intent = str(intent if intent is not None else "").strip()
    if not text:
        problems.add(path, line, f"empty text in column {text_col!r}")
    elif not intent:
        problems.add(path, line, f"empty intent in column {intent_col!r}")
    else:
        answer = str(answer).strip() if answer is not None else None
        data.messages.append(Message(text=text, gold_intent=intent, gold_answer=answer or None,
                                     source=f"{path}:{line}"))


def _columns(header: list[str], path: Path, problems: Problems) -> tuple | None:
    text_col, intent_col = _pick(header, TEXT_COLUMNS), _pick(header, INTENT_COLUMNS)
    missing = [f"a text column ({'/'.join(TEXT_COLUMNS)})"] if not text_col else []
    missing += [f"an intent column ({'/'.join(INTENT_COLUMNS)})"] if not intent_col else []
    if missing:
        problems.add(path, 1, f"missing column: needs {' and '.join(missing)}; the header is {header}")
        return None
    return text_col, intent_col, _pick(header, ANSWER_COLUMNS)


def read_tabular(path: Path, data: TrainingData, problems: Problems) -> None:
    """Append the rows of a CSV/TSV/JSONL file to ``data``; report problems by line."""
    content = read_utf8(path, problems)
    if content is None:
        return
    if path.suffix.lower() == ".jsonl":
        _read_jsonl(path, content, data, problems)
        return
    if path.suffix.lower() == ".tsv" and is_klue_file(content):
        read_klue(path, content, data, problems)
        return
    # csv.reader (not DictReader) so that blank lines are seen and line numbers stay exact.
    reader = csv.reader(io.StringIO(content), delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    header = next(reader, None)
    if not header:
        problems.add(path, 1, "empty file: a header line is needed")
        return
    columns = _columns(header, path, problems)
    if columns is None:
        return
    rows: list[tuple[int, dict]] = []
    start = reader.line_num + 1
    for values in reader:
        line, start = start, reader.line_num + 1
        if not values:
            continue
        if len(values) > len(header):
            problems.add(path, line, f"more fields than the header has ({len(header)})")
            continue
        rows.append((line, dict(zip(header, values, strict=False))))
    text_col, intent_col, _ = columns
    labels = [str(row.get(intent_col) or "") for _, row in rows]
    if looks_like_tag_file(labels):  # one tag per whitespace token: entity annotations, not intents
        read_tag_rows(path, [(line, str(row.get(text_col) or ""), str(row.get(intent_col) or ""))
                             for line, row in rows], data, problems)
        return
    for line, row in rows:
        _add_row(row, columns, path, line, data, problems)


def _read_jsonl(path: Path, content: str, data: TrainingData, problems: Problems) -> None:
    columns = None
    for line_no, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.add(path, line_no, f"invalid JSON: {exc.msg}")
            continue
        if not isinstance(row, dict):
            problems.add(path, line_no, "each line must be a JSON object")
            continue
        if columns is None:
            columns = _columns(list(row), path, problems)
            if columns is None:
                return
        _add_row(row, columns, path, line_no, data, problems)

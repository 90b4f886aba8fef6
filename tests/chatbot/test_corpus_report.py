"""``corpus_report`` and ``python -m chatbot validate``: a report of a corpus, good or bad, that never raises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.cli import main
from chatbot.corpus import CorpusError, load_corpus
from chatbot.corpus.report import corpus_report
from tests.conftest import TINY_INTENTS


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_corpus_is_ok_with_counts_and_a_preview(tiny_corpus):
    path = tiny_corpus("csv", ood=["양자역학 설명해 줘", "법인세 신고"])
    report = corpus_report([path], preview_rows=3)
    assert report["ok"] is True
    assert report["errors"] == [] and report["error_count"] == 0
    assert report["files"] == [str(path)]
    assert report["rows"] == 29
    assert report["intents"] == {"food": 9, "greet": 9, "weather": 9}  # OOD counted apart
    assert report["ood_rows"] == 2
    assert report["answers"] == 3
    assert report["duplicates"] == []
    assert report["warnings"] == []  # nine examples an intent, OOD rows, no duplicates
    first = TINY_INTENTS["greet"]["examples"][:3]
    assert report["preview"] == [{"file": str(path), "line": i + 2, "text": t, "intent": "greet", "answer": None}
                                 for i, t in enumerate(first)]
    json.dumps(report)  # JSON-able as it is


def test_intents_are_sorted_by_count_then_name(tmp_path):
    rows = ["b,y", "a,x", "c,y", "d,z", "e,z"]
    report = corpus_report([write(tmp_path / "c.csv", "text,intent\n" + "\n".join(rows) + "\n")])
    assert list(report["intents"].items()) == [("y", 2), ("z", 2), ("x", 1)]
    assert any("x (1개)" in w for w in report["warnings"])  # fewer than 5 examples
    assert any("OOD" in w for w in report["warnings"])


def test_a_bad_row_names_its_file_and_line_and_the_rest_is_still_counted(tmp_path):
    path = write(tmp_path / "bad.csv", "text,intent,answer\n안녕,greet,\n,greet,\n비 와?,weather,응\n배고파,,\n")
    report = corpus_report([path])
    assert report["ok"] is False
    assert report["errors"] == [
        {"file": str(path), "line": 3, "message": "empty text in column 'text'"},
        {"file": str(path), "line": 5, "message": "empty intent in column 'intent'"},
    ]
    assert report["rows"] == 2 and report["answers"] == 1
    assert report["intents"] == {"greet": 1, "weather": 1}
    with pytest.raises(CorpusError) as excinfo:  # the report's verdict is training's
        load_corpus([path])
    assert [e["line"] for e in excinfo.value.entries] == [3, 5]
    assert excinfo.value.problems[0] == f"{path}:3: empty text in column 'text'"


def test_a_file_that_is_not_utf8_is_an_error_with_its_line(tmp_path, tiny_corpus):
    good = tiny_corpus("yaml")
    bad = tmp_path / "latin.csv"
    bad.write_bytes("text,intent\n안녕,greet\n".encode() + "caf\xe9,food\n".encode("latin-1"))
    report = corpus_report([good, bad], display_names={str(bad): "업로드.csv"})
    assert report["ok"] is False
    assert report["files"] == [str(good), "업로드.csv"]
    assert len(report["errors"]) == 1
    assert report["errors"][0]["file"] == "업로드.csv"
    assert report["errors"][0]["line"] == 3
    assert "UTF-8" in report["errors"][0]["message"]
    assert report["rows"] == 27  # the good file is still described


def test_yaml_errors_carry_their_line(tmp_path):
    path = write(tmp_path / "c.yaml", "version: 1\nintents:\n  - intent: greet\n    exmaples: [안녕]\n")
    errors = corpus_report([path])["errors"]
    assert errors[0]["file"] == str(path) and errors[0]["line"] == 4
    assert "exmaples" in errors[0]["message"]


def test_duplicates_after_normalisation_and_conflicts_first(tmp_path):
    text = "text,intent\n안녕,greet\n하이,greet\n안녕 ,bye\n비  와?,weather\n비 와?,weather\n비 와?,weather\n"
    path = write(tmp_path / "d.csv", text)
    report = corpus_report([path], display_names={str(tmp_path): "up"})
    assert report["ok"] is True  # duplicates warn, they do not stop training
    conflict, repeat = report["duplicates"]
    assert conflict == {"text": "안녕", "count": 2, "intents": ["bye", "greet"], "conflict": True,
                        "lines": [{"file": "up/d.csv", "line": 2}, {"file": "up/d.csv", "line": 4}]}
    assert repeat["count"] == 3 and repeat["intents"] == ["weather"] and repeat["conflict"] is False
    assert [p["line"] for p in repeat["lines"]] == [5, 6, 7]
    assert report["duplicate_count"] == 2
    assert any("서로 다른 의도" in w for w in report["warnings"])


def test_missing_path_and_unsupported_type_are_whole_file_errors(tmp_path, tiny_corpus):
    txt = write(tmp_path / "notes.txt", "hello")
    report = corpus_report([tmp_path / "nope.csv", txt, tiny_corpus("jsonl")])
    assert report["ok"] is False
    assert [(e["file"], e["line"]) for e in report["errors"]] == [(str(tmp_path / "nope.csv"), 0), (str(txt), 0)]
    assert report["rows"] == 27


def test_one_class_is_not_ok(tiny_corpus):
    path = tiny_corpus("csv", intents=["greet"])
    report = corpus_report([path], display_names={str(path): "one.csv"})
    assert report["ok"] is False
    assert report["errors"][0]["file"] == "one.csv" and report["errors"][0]["line"] == 0
    assert "only one class" in report["errors"][0]["message"]


def test_preview_rows_limits_the_preview(tiny_corpus):
    assert len(corpus_report([tiny_corpus("yaml")], preview_rows=5)["preview"]) == 5
    assert corpus_report([tiny_corpus("yaml")], preview_rows=0)["preview"] == []


# --- python -m chatbot validate ---------------------------------------------------------------


def test_validate_exits_0_on_a_good_corpus(tiny_corpus, capsys):
    assert main(["validate", "--data", str(tiny_corpus("yaml"))]) == 0
    out = capsys.readouterr().out
    assert "27 rows, 3 intents" in out and "valid" in out


def test_validate_exits_2_on_a_bad_corpus_and_names_the_line(tmp_path, capsys):
    path = write(tmp_path / "bad.csv", "text,intent\n안녕,greet\n비 와?,\n")
    assert main(["validate", "--data", str(path)]) == 2
    out = capsys.readouterr().out
    assert "NOT VALID" in out and f"{path}:3: empty intent" in out


def test_validate_json_prints_the_report(tiny_corpus, tmp_path, capsys):
    bad = write(tmp_path / "bad.csv", "text,intent\n,greet\n")
    assert main(["validate", "--data", str(tiny_corpus("csv")), "--data", str(bad), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["rows"] == 27
    assert report["errors"] == [{"file": str(bad), "line": 2, "message": "empty text in column 'text'"}]

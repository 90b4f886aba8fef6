"""Load and validate training corpora: our YAML format, and CSV/TSV/JSONL with a header.

Every problem names its file and line. All problems are collected and raised together as a
``CorpusError``, so nothing is trained from a corpus that failed validation.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from chatbot.corpus.errors import CorpusError, Problems
from chatbot.corpus.tabular import read_tabular
from chatbot.corpus.yaml_corpus import read_yaml
from chatbot.message import TrainingData

READERS = {".yaml": read_yaml, ".yml": read_yaml, ".csv": read_tabular, ".tsv": read_tabular,
           ".jsonl": read_tabular}
OOD_LABEL = "OOD"


def corpus_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories into the corpus files they hold, in a stable order (raises CorpusError)."""
    problems = Problems()
    files = _expand(paths, problems)
    problems.raise_if_any()
    return files


def _expand(paths: Iterable[str | Path], problems: Problems) -> list[Path]:
    """The files behind ``paths``; a missing path or a directory without corpus files is a problem."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in READERS and p.is_file())
            if not found:
                problems.add(path, 0, "no corpus files (*.yaml, *.csv, *.tsv, *.jsonl) in this directory")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            problems.add(path, 0, "no such file or directory")
    return files


def read_corpus(paths: Iterable[str | Path], ood_label: str = OOD_LABEL,
                min_intents: int = 2) -> tuple[TrainingData, Problems]:
    """Read and validate every file without raising: the data read so far and every problem found.

    ``load_corpus`` raises what this collects; ``corpus_report`` shows it."""
    problems = Problems()
    data = TrainingData(messages=[])
    files = _expand(paths, problems)
    for path in files:
        reader = READERS.get(path.suffix.lower())
        if reader is None:
            problems.add(path, 0, f"unsupported file type {path.suffix!r}; use .yaml, .csv, .tsv or .jsonl")
            continue
        try:
            reader(path, data, problems)
        except OSError as exc:  # unreadable (permissions, vanished): a problem like any other
            problems.add(path, 0, f"cannot read the file: {exc.strerror or exc}")
    intents = {m.gold_intent for m in data.messages if m.gold_intent != ood_label}
    if not problems and not data.messages:
        problems.add(files[0] if files else "corpus", 0, "the corpus holds no examples")
    elif not problems and len(intents) < min_intents:
        names = ", ".join(sorted(intents)) or "none"
        problems.add(", ".join(map(str, files)), 0,
                     f"only one class ({names}): an intent classifier needs at least 2 intents")
    return data, problems


def load_corpus(paths: Iterable[str | Path], ood_label: str = OOD_LABEL, min_intents: int = 2) -> TrainingData:
    """Read every file, validate, and return one TrainingData (raises CorpusError).

    Training needs ``min_intents=2``; evaluation may pass 0 (an out-of-domain file alone).
    """
    data, problems = read_corpus(paths, ood_label, min_intents)
    problems.raise_if_any()
    return data


__all__ = ["CorpusError", "OOD_LABEL", "corpus_files", "load_corpus", "read_corpus"]

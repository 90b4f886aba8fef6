"""Load and validate training corpora: our YAML format, and CSV/TSV/JSONL with a header.

Every problem names its file and line. All problems are collected and raised together as a
``CorpusError``, so nothing is trained from a corpus that failed validation.

After every file is read, two passes join what the files say (data/corpus/README.md, "Entities"):
``resolve_synonyms`` checks each marked synonym against its type's declared table and adds it to the
table, and ``merge_by_sentence`` gives an intent row the entities that an entity-only row (no intent,
from any file or reader) annotates on the same sentence. A corpus of entity-only rows is valid: it
trains an entity-only model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from chatbot.corpus.errors import CorpusError, Problems
from chatbot.corpus.tabular import read_tabular
from chatbot.corpus.yaml_corpus import read_yaml
from chatbot.message import Entity, Message, TrainingData

READERS = {".yaml": read_yaml, ".yml": read_yaml, ".csv": read_tabular, ".tsv": read_tabular,
           ".jsonl": read_tabular}
OOD_LABEL = "OOD"
MAX_NAMED_VALUES = 10  # declared values named in an "unknown synonym target" problem


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
    resolve_synonyms(data, problems)
    check_dialogue(data, problems)
    merge_by_sentence(data)
    intents = {m.gold_intent for m in data.messages if m.gold_intent and m.gold_intent != ood_label}
    entity_only = not any(m.gold_intent for m in data.messages) and any(m.gold_entities for m in data.messages)
    if not problems and not data.messages:
        problems.add(files[0] if files else "corpus", 0, "the corpus holds no examples")
    elif not problems and not entity_only and len(intents) < min_intents:
        names = ", ".join(sorted(intents)) or "none"
        problems.add(", ".join(map(str, files)), 0,
                     f"only one class ({names}): an intent classifier needs at least 2 intents")
    return data, problems


# Entity types the built-in extractors find without a corpus table (time_extractor, number_extractor).
BUILTIN_ENTITY_TYPES = frozenset({"time", "number", "quantity"})


def check_dialogue(data: TrainingData, problems: Problems) -> None:
    """The declared slots and actions (chatbot.dialogue.domain.check_domain), each problem at its intent's line."""
    if not data.dialogue:
        return
    from chatbot.actions import registered_actions
    from chatbot.dialogue.domain import Domain, check_domain

    domain = Domain.from_dict({k: {"intent": k, **v} for k, v in data.dialogue.items()})
    for intent, problem in check_domain(domain, set(data.entity_types) | BUILTIN_ENTITY_TYPES, registered_actions()):
        path, _, line = str(data.dialogue[intent].get("source", "corpus:0")).rpartition(":")
        problems.add(path, int(line) if line.isdigit() else 0, f"intent {intent!r}: {problem}")


def _where(message: Message) -> tuple[str, int]:
    """The file and line of a row, from its ``source`` ("path:line")."""
    path, _, line = (message.source or "").rpartition(":")
    return (path, int(line)) if line.isdigit() else (message.source or "corpus", 0)


def resolve_synonyms(data: TrainingData, problems: Problems) -> None:
    """Check and learn the synonyms that gold entities carry (``[서울시](region:서울)``), then give an
    entity without a value the canonical value its text stands for in its type's table.

    A type with a declared table (the YAML ``entities`` key) accepts only its declared values as synonym
    targets, so that a typo (``region:셔울``) is an error rather than a new value; a type without one
    gets a table made of its marked synonyms. One surface form stands for one value."""
    declared = {type_: set(table.values()) for type_, table in data.lookups.items()}
    for message in data.messages:
        for entity in message.gold_entities:
            if not isinstance(entity.value, str) or entity.value == entity.text:
                continue
            if entity.type in declared and entity.value not in declared[entity.type]:
                known = ", ".join(sorted(declared[entity.type])[:MAX_NAMED_VALUES]) or "none"
                problems.add(*_where(message), f"unknown synonym target {entity.value!r} of entity "
                                               f"{entity.type!r}: its declared values are {known}")
                continue
            table = data.lookups.setdefault(entity.type, {})
            for surface in (entity.value, entity.text):
                known_value = table.setdefault(surface, entity.value)
                if known_value != entity.value:
                    problems.add(*_where(message), f"{surface!r} already stands for {known_value!r} in entity "
                                                   f"{entity.type!r}, not {entity.value!r}")
    for message in data.messages:
        for entity in message.gold_entities:
            canonical = data.lookups.get(entity.type, {}).get(entity.text)
            if entity.value is None and canonical is not None and canonical != entity.text:
                entity.value = canonical


def _join(row: Message, entities: list[Entity]) -> None:
    """Add ``entities`` to ``row``'s own; on an overlap, the row's own annotation is kept."""
    for entity in entities:
        if not any(entity.start < e.end and e.start < entity.end for e in row.gold_entities):
            row.gold_entities.append(replace(entity))
    row.gold_entities.sort(key=lambda e: (e.start, e.end))


def merge_by_sentence(data: TrainingData) -> TrainingData:
    """Join entity-only rows (no intent) to the rows with the same sentence text, in place.

    An entity-only row whose text is exactly that of an intent row gives that row (each such row) its
    entities and is dropped; entity-only rows with the same text as each other become one. Rows are
    kept in their order. So entities annotated in one file (a Kochat entity CSV, a KLUE TSV, an
    ``entities`` example) and intents labelled in another train as one example."""
    intent_rows: dict[str, list[Message]] = {}
    for message in data.messages:
        if message.gold_intent:
            intent_rows.setdefault(message.text, []).append(message)
    first_entity_row: dict[str, Message] = {}
    kept = []
    for message in data.messages:
        if message.gold_intent:
            kept.append(message)
        elif message.text in intent_rows:
            for row in intent_rows[message.text]:
                _join(row, message.gold_entities)
        elif message.text in first_entity_row:
            _join(first_entity_row[message.text], message.gold_entities)
        else:
            first_entity_row[message.text] = message
            kept.append(message)
    data.messages = kept
    return data


def load_corpus(paths: Iterable[str | Path], ood_label: str = OOD_LABEL, min_intents: int = 2) -> TrainingData:
    """Read every file, validate, and return one TrainingData (raises CorpusError).

    Training needs ``min_intents=2``; evaluation may pass 0 (an out-of-domain file alone).
    """
    data, problems = read_corpus(paths, ood_label, min_intents)
    problems.raise_if_any()
    return data


__all__ = ["CorpusError", "OOD_LABEL", "corpus_files", "load_corpus", "merge_by_sentence", "read_corpus",
           "resolve_synonyms"]

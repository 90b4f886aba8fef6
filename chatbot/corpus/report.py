"""A validation report of a corpus, for a trainer who wants to see it before training on it.

``load_corpus`` answers yes or no (it raises); ``corpus_report`` never raises for a bad corpus and
says what is in it: problems by file and line, class counts, entity types (annotations, distinct
values, lookup entries), duplicates (and texts labelled with two intents), warnings about thin classes
and thin entity types, and the first rows. The same readers do the reading, so
``ok`` is exactly whether training would accept the corpus.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from chatbot.corpus import OOD_LABEL, read_corpus
from chatbot.message import Message, TrainingData
from chatbot.nlp.normalize import normalize

MIN_EXAMPLES = 5  # fewer examples than this per intent: the classifier barely learns it
IMBALANCE = 10  # largest intent over smallest intent at or above this: a warning
MAX_LISTED = 200  # errors and duplicate groups listed; the counts say how many there were
MAX_NAMED = 10  # intents named in one warning sentence
# Fewer sentences than this annotated with an entity type: a trained tagger sees too few contexts to
# learn the type rather than the words themselves, and a held-out split may leave it no example to be
# scored on. The same rule of thumb as MIN_EXAMPLES for intents. A type known only from its lookup
# table is not warned about: the lookup extractor needs no examples.
MIN_ENTITY_EXAMPLES = 5


def corpus_report(paths: Iterable[str | Path], preview_rows: int = 20, ood_label: str = OOD_LABEL,
                  display_names: dict[str, str] | None = None) -> dict[str, Any]:
    """Validate ``paths`` as training would and describe the corpus as a JSON-able dict.

    ``display_names`` maps a real path to the name shown (an uploaded file's own name rather than
    its temporary path); a file inside a mapped directory is shown under the mapped name."""
    paths = list(paths)
    name = _namer(display_names or {})
    data, problems = read_corpus(paths, ood_label, min_intents=2)
    messages = data.messages
    counts = Counter(m.gold_intent for m in messages if m.gold_intent and m.gold_intent != ood_label)
    entities = _entity_counts(data)
    duplicates = _duplicates(messages, name)
    ood_rows = sum(m.gold_intent == ood_label for m in messages)
    errors = [{"file": _display_joined(p["file"], name), "line": p["line"], "message": p["message"]}
              for p in problems.entries]
    return {
        "ok": not problems,
        "files": [name(str(Path(p))) for p in paths],
        "rows": len(messages),
        "errors": errors[:MAX_LISTED],
        "error_count": len(errors),
        "intents": dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
        "ood_rows": ood_rows,
        "entity_rows": sum(not m.gold_intent for m in messages),
        "entities": entities,
        # Intents with slots or an action: {intent: {"slots": [names], "action": name or None}}.
        "forms": {k: {"slots": [s["name"] for s in v.get("slots") or []], "action": v.get("action")}
                  for k, v in sorted(data.dialogue.items())},
        "answers": sum(bool(m.gold_answer) for m in messages),
        "duplicates": duplicates[:MAX_LISTED],
        "duplicate_count": len(duplicates),
        "warnings": _warnings(counts, duplicates, ood_rows, ood_label) + _entity_warnings(entities),
        "preview": [{**_where(m, name), "text": m.text, "intent": m.gold_intent, "answer": m.gold_answer}
                    for m in messages[:max(0, preview_rows)]],
    }


def _entity_counts(data: TrainingData) -> dict[str, dict[str, int]]:
    """Per entity type: annotations, sentences annotated with it, distinct values, lookup entries."""
    annotations: Counter = Counter()
    examples: Counter = Counter()
    values: dict[str, set[str]] = defaultdict(set)
    for m in data.messages:
        for e in m.gold_entities:
            annotations[e.type] += 1
            values[e.type].add(str(e.text if e.value is None else e.value))
        examples.update({e.type for e in m.gold_entities})
    return {type_: {"annotations": annotations[type_], "examples": examples[type_], "values": len(values[type_]),
                    "lookup_entries": len(data.lookups.get(type_, {}))}
            for type_ in data.entity_types}


def _entity_warnings(entities: dict[str, dict[str, int]]) -> list[str]:
    """A warning naming the entity types annotated in fewer than MIN_ENTITY_EXAMPLES sentences."""
    thin = sorted((c["examples"], t) for t, c in entities.items() if 0 < c["examples"] < MIN_ENTITY_EXAMPLES)
    if not thin:
        return []
    named = ", ".join(f"{t} ({n}문장)" for n, t in thin[:MAX_NAMED])
    more = f" 외 {len(thin) - MAX_NAMED}개" if len(thin) > MAX_NAMED else ""
    return [f"표시된 문장이 {MIN_ENTITY_EXAMPLES}개보다 적은 개체 유형이 있어요: {named}{more}. "
            "유형마다 표시한 예문을 더 넣으면 더 잘 찾아요."]


def _namer(display_names: dict[str, str]) -> Callable[[str], str]:
    """A function from a real path to its shown name (unmapped paths are shown as they are)."""
    mapped = {str(Path(k)): v for k, v in display_names.items()}

    def name(path: str) -> str:
        if path in mapped:
            return mapped[path]
        for parent in Path(path).parents:
            if str(parent) in mapped:
                return f"{mapped[str(parent)]}/{Path(path).relative_to(parent).as_posix()}"
        return path

    return name


def _display_joined(files: str, name: Callable[[str], str]) -> str:
    """A problem about the whole corpus names every file, joined by ", ": show each one's name."""
    return ", ".join(name(part) for part in files.split(", "))


def _where(message: Message, name: Callable[[str], str]) -> dict[str, Any]:
    """``{file, line}`` of a row, from its ``source`` ("path:line")."""
    path, _, line = (message.source or "").rpartition(":")
    return {"file": name(path), "line": int(line) if line.isdigit() else 0}


def _duplicates(messages: list[Message], name: Callable[[str], str]) -> list[dict[str, Any]]:
    """Texts that occur more than once once normalised; conflicts (two intents) first, then the most repeated."""
    groups: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        groups[normalize(m.text).casefold()].append(m)
    found = []
    for rows in groups.values():
        if len(rows) < 2:
            continue
        intents = sorted({m.gold_intent or "" for m in rows})
        found.append({"text": rows[0].text, "count": len(rows), "intents": intents, "conflict": len(intents) > 1,
                      "lines": [_where(m, name) for m in rows]})
    return sorted(found, key=lambda d: (not d["conflict"], -d["count"]))


def _warnings(counts: Counter, duplicates: list[dict[str, Any]], ood_rows: int, ood_label: str) -> list[str]:
    """Plain sentences about what would make training weaker (none of them stops training)."""
    warnings = []
    thin = sorted((n, intent) for intent, n in counts.items() if n < MIN_EXAMPLES)
    if thin:
        named = ", ".join(f"{intent} ({n}개)" for n, intent in thin[:MAX_NAMED])
        more = f" 외 {len(thin) - MAX_NAMED}개" if len(thin) > MAX_NAMED else ""
        warnings.append(f"예시가 {MIN_EXAMPLES}개보다 적은 의도가 있어요: {named}{more}. "
                        "의도마다 예시를 더 넣으면 더 잘 알아들어요.")
    if len(counts) >= 2:
        (big, most), (small, least) = max(counts.items(), key=lambda i: i[1]), min(counts.items(), key=lambda i: i[1])
        if most >= IMBALANCE * least:
            warnings.append(f"의도별 예시 수의 차이가 커요: {big} {most}개, {small} {least}개. "
                            "적은 의도는 잘 맞히지 못할 수 있어요.")
    conflicts = sum(d["conflict"] for d in duplicates)
    if conflicts:
        warnings.append(f"같은 문장이 서로 다른 의도로 적힌 곳이 {conflicts}군데 있어요. 한 의도로 정리해 주세요.")
    if len(duplicates) > conflicts:
        warnings.append(f"같은 의도로 두 번 이상 적힌 문장이 {len(duplicates) - conflicts}개 있어요. "
                        "검증 점수가 실제보다 높게 나올 수 있어요.")
    if counts and not ood_rows:
        warnings.append(f"범위 밖({ood_label}) 예시가 없어요. 있으면 모르는 질문을 더 잘 걸러내요.")
    return warnings

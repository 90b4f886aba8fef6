"""Data-driven intent tests: ``tests/intents/cases.yaml`` run against the session's trained bot.

How to add a case (no code needed): append an item to ``cases:`` in ``tests/intents/cases.yaml``::

    - text: 오늘 저녁 메뉴 골라 줘      # what a user might type
      intent: food                     # the intent the bot must predict, without falling back

Use ``intent: fallback`` for an utterance the bot must *not* understand (it has to fall back).

A case may also state the entities the bot must find (each by ``type`` and ``text``, the span as the
user typed it; for a time, ``date:`` the day it resolves to, ``YYYY-MM-DD``, compared with the first
ten characters of the entity's ``value["start"]``), and the moment "now" is for it::

    now: 2025-05-01T09:00:00+09:00     # file level: "now" for every case (an ISO datetime with offset)
    cases:
      - text: 내일 오후 3시에 서울 가는 기차
        intent: travel
        now: 2025-05-30T09:00:00+09:00 # case level: overrides the file's
        entities:
          - {type: time, text: 내일 오후 3시, date: 2025-05-31}
          - {type: city, text: 서울}

"now" reaches the bot as ``context["now"]`` (a ``datetime``), which the time extractor reads. The
listed entities must all be found; others the bot finds are allowed, except that ``entities: []``
means it must find none.
The intent must be one the trained default model knows (see ``data/corpus/*.yaml``), and the
text must not repeat a corpus example or pair question verbatim, otherwise the case only tests
memorisation; ``test_cases_file_is_valid`` checks both. Each case becomes its own test, named
``<intent>-<n>`` (the n-th case of that intent), e.g. ``test_intent_case[food-2]``.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatbot.corpus import OOD_LABEL, load_corpus
from chatbot.nlp.normalize import normalize

CASES_FILE = Path(__file__).with_name("cases.yaml")
CORPUS_DIR = Path(__file__).resolve().parents[2] / "data" / "corpus"
FALLBACK = "fallback"
CASE_KEYS = {"text", "intent", "entities", "now"}
ENTITY_KEYS = {"type", "text", "date"}


def load_file() -> dict:
    return yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))


def load_cases() -> list[dict]:
    return load_file()["cases"]


def as_datetime(value: Any) -> datetime:
    """A ``now:`` setting as a datetime (YAML reads an ISO timestamp as one already, a quoted one as text)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value))


def case_context(case: dict, file_now: Any = None) -> dict[str, Any]:
    """The context ``Bot.reply`` gets for a case: ``now`` from the case, else from the file, else none."""
    now = case.get("now", file_now)
    return {} if now is None else {"now": as_datetime(now)}


def entity_problems(case: dict, found: list[dict]) -> list[str]:
    """What is wrong with the entities a reply ``found`` (``Reply.entities``) against the case's ``entities``."""
    expected = case.get("entities")
    if expected is None:
        return []
    if not expected:
        return [f"expected no entity, found {describe(found)}"] if found else []
    problems = []
    for want in expected:
        same = [e for e in found if e.get("type") == want["type"] and e.get("text") == want["text"]]
        if not same:
            problems.append(f"missing {want['type']}: {want['text']!r}; found {describe(found)}")
        elif "date" in want:
            days = [str((e.get("value") or {}).get("start", ""))[:10] if isinstance(e.get("value"), dict) else ""
                    for e in same]
            if str(want["date"]) not in days:
                problems.append(f"{want['type']}: {want['text']!r} resolves to {days}, not {want['date']}")
    return problems


def describe(found: list[dict]) -> str:
    return ", ".join(f"{e.get('type')}: {e.get('text')!r}" for e in found) or "none"


def case_problems(i: int, case: Any) -> list[str]:
    """The schema problems of case ``i`` (its keys, its entities, its ``now``)."""
    if not isinstance(case, dict) or not {"text", "intent"} <= set(case) or set(case) - CASE_KEYS:
        keys = sorted(case) if isinstance(case, dict) else case
        return [f"case {i}: keys must be text and intent, with entities and now optional, not {keys}"]
    problems = []
    if "now" in case:
        try:
            as_datetime(case["now"])
        except (TypeError, ValueError):
            problems.append(f"case {i}: now {case['now']!r} is not an ISO datetime")
    entities = case.get("entities", [])
    if not isinstance(entities, list):
        return [*problems, f"case {i}: entities must be a list"]
    for want in entities:
        if not isinstance(want, dict) or not {"type", "text"} <= set(want) or set(want) - ENTITY_KEYS:
            problems.append(f"case {i}: an entity needs type and text (and date for a time), not {want!r}")
        elif "date" in want:
            try:
                date.fromisoformat(str(want["date"]))
            except ValueError:
                problems.append(f"case {i}: date {want['date']!r} is not YYYY-MM-DD")
    return problems


def case_ids(cases: list[dict]) -> list[str]:
    seen: Counter = Counter()
    ids = []
    for case in cases:
        seen[case["intent"]] += 1
        ids.append(f"{case['intent']}-{seen[case['intent']]}")
    return ids


def model_intents(bot) -> set[str]:
    """The intents the trained model can predict (its classifier's classes, less the OOD label)."""
    known: set[str] = set()
    for component in bot.pipeline.components:
        known |= {str(c) for c in getattr(component, "classes_", [])}
    return known - {OOD_LABEL}


CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_intent_case(bot, case):
    reply = bot.reply(case["text"], case_context(case, load_file().get("now")))
    got = f"got intent={reply.intent} confidence={reply.confidence:.3f} fallback={reply.fallback}"
    if case["intent"] == FALLBACK:
        assert reply.fallback, f"{case['text']!r} should fall back; {got}"
    else:
        assert reply.intent == case["intent"] and not reply.fallback, (
            f"{case['text']!r} should be {case['intent']}; {got}")
    problems = entity_problems(case, reply.entities)
    assert not problems, f"{case['text']!r}: " + "; ".join(problems)


def test_cases_file_is_valid(bot):
    cases = load_cases()
    assert cases, "cases.yaml has no cases"
    known = model_intents(bot)
    assert known, "the trained model exposes no intents"
    problems = []
    file_now = load_file().get("now")
    try:
        case_context({}, file_now)
    except (TypeError, ValueError):
        problems.append(f"the file's now {file_now!r} is not an ISO datetime")
    for i, case in enumerate(cases, start=1):
        found = case_problems(i, case)
        if found:
            problems += found
            continue
        if not isinstance(case["text"], str) or not case["text"].strip():
            problems.append(f"case {i}: empty text")
        if case["intent"] != FALLBACK and case["intent"] not in known:
            problems.append(f"case {i}: unknown intent {case['intent']!r}")
    texts = Counter(normalize(str(c.get("text", ""))) for c in cases)
    problems += [f"duplicate case text {t!r}" for t, n in texts.items() if n > 1]
    corpus_texts = {normalize(m.text) for m in load_corpus([CORPUS_DIR]).messages}
    problems += [f"case text {t!r} is in the corpus verbatim" for t in texts if t in corpus_texts]
    assert not problems, "\n".join(problems)


def test_every_intent_of_the_model_has_a_case(bot):
    known = model_intents(bot)
    covered = {c["intent"] for c in load_cases()}
    assert not known - covered, f"intents without a case: {sorted(known - covered)}"
    assert FALLBACK in covered


# The checking logic itself, on replies made up here (no bot, no extractor needed).
def entity(type_: str, text: str, start: str | None = None) -> dict:
    return {"type": type_, "text": text, "start": 0, "end": len(text), "source": "stub",
            "value": {"start": start, "end": start, "grain": "hour"} if start else text}


def test_entity_expectations_are_checked_by_type_text_and_date():
    case = {"text": "내일 오후 3시에 서울", "intent": "travel",
            "entities": [{"type": "time", "text": "내일 오후 3시", "date": date(2025, 5, 2)},
                         {"type": "city", "text": "서울"}]}
    right = [entity("time", "내일 오후 3시", "2025-05-02T15:00:00+09:00"), entity("city", "서울"),
             entity("number", "3")]  # an entity the case does not list is allowed
    assert entity_problems(case, right) == []
    wrong_day = [entity("time", "내일 오후 3시", "2025-05-03T15:00:00+09:00"), entity("city", "서울")]
    assert entity_problems(case, wrong_day) == [
        "time: '내일 오후 3시' resolves to ['2025-05-03'], not 2025-05-02"]
    wrong_type = [entity("time", "내일 오후 3시", "2025-05-02T15:00:00+09:00"), entity("station", "서울")]
    assert entity_problems(case, wrong_type) == ["missing city: '서울'; found time: '내일 오후 3시', station: '서울'"]
    assert entity_problems({**case, "entities": []}, right)  # entities: [] means none at all
    assert entity_problems({**case, "entities": []}, []) == []
    assert entity_problems({"text": "x", "intent": "travel"}, right) == []  # no expectation stated


def test_now_comes_from_the_case_else_the_file_as_a_datetime():
    file_now = datetime.fromisoformat("2025-05-01T09:00:00+09:00")
    assert case_context({"text": "x", "intent": "y"}) == {}
    assert case_context({"text": "x", "intent": "y"}, file_now) == {"now": file_now}
    own = case_context({"text": "x", "intent": "y", "now": "2025-06-01T10:00:00+09:00"}, file_now)["now"]
    assert own == datetime.fromisoformat("2025-06-01T10:00:00+09:00") and own.utcoffset() is not None
    parsed = yaml.safe_load("now: 2025-05-01T09:00:00+09:00")["now"]  # YAML's own timestamp
    assert case_context({"text": "x", "intent": "y"}, parsed)["now"] == file_now


def test_the_schema_check_names_bad_entity_cases():
    assert case_problems(1, {"text": "x", "intent": "y", "entities": [{"type": "city", "text": "서울"}]}) == []
    assert case_problems(2, {"text": "x", "intent": "y", "colour": "red"})
    assert case_problems(3, {"text": "x", "intent": "y", "entities": [{"type": "city"}]})
    assert case_problems(4, {"text": "x", "intent": "y", "entities": [{"type": "t", "text": "x", "date": "5월"}]})
    assert case_problems(5, {"text": "x", "intent": "y", "now": "어제"})
    assert case_problems(6, {"text": "x", "intent": "y", "entities": "서울"})

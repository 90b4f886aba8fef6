"""Data-driven intent tests: ``tests/intents/cases.yaml`` run against the session's trained bot.

How to add a case (no code needed): append an item to ``cases:`` in ``tests/intents/cases.yaml``::

    - text: 오늘 저녁 메뉴 골라 줘      # what a user might type
      intent: food                     # the intent the bot must predict, without falling back

Use ``intent: fallback`` for an utterance the bot must *not* understand (it has to fall back).
The intent must be one the trained default model knows (see ``data/corpus/*.yaml``), and the
text must not repeat a corpus example or pair question verbatim, otherwise the case only tests
memorisation; ``test_cases_file_is_valid`` checks both. Each case becomes its own test, named
``<intent>-<n>`` (the n-th case of that intent), e.g. ``test_intent_case[food-2]``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from chatbot.corpus import OOD_LABEL, load_corpus
from chatbot.nlp.normalize import normalize

CASES_FILE = Path(__file__).with_name("cases.yaml")
CORPUS_DIR = Path(__file__).resolve().parents[2] / "data" / "corpus"
FALLBACK = "fallback"


def load_cases() -> list[dict]:
    return yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]


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
    reply = bot.reply(case["text"])
    got = f"got intent={reply.intent} confidence={reply.confidence:.3f} fallback={reply.fallback}"
    if case["intent"] == FALLBACK:
        assert reply.fallback, f"{case['text']!r} should fall back; {got}"
    else:
        assert reply.intent == case["intent"] and not reply.fallback, (
            f"{case['text']!r} should be {case['intent']}; {got}")


def test_cases_file_is_valid(bot):
    cases = load_cases()
    assert cases, "cases.yaml has no cases"
    known = model_intents(bot)
    assert known, "the trained model exposes no intents"
    problems = []
    for i, case in enumerate(cases, start=1):
        if set(case) != {"text", "intent"}:
            problems.append(f"case {i}: keys must be text and intent, not {sorted(case)}")
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

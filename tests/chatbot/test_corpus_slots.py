"""Slots and actions declared in a YAML corpus: read into TrainingData.dialogue, and checked with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.corpus import load_corpus, read_corpus

OTHER = """
  - intent: greeting
    examples: [안녕, 반가워, 하이]
"""


def corpus(tmp_path: Path, intent: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\nintents:\n" + intent + OTHER, encoding="utf-8")
    return path


def test_slots_and_an_action_are_read(tmp_path: Path) -> None:
    data = load_corpus([corpus(tmp_path, """
  - intent: weather_ask
    action: weather
    slots:
      - name: place
        entity: time
        question: 언제요?
        choices: [오늘, 내일]
        carry: true
      - name: when
        entity: time
        required: false
        default: 오늘
    examples: [날씨 알려줘, 비 와, 날씨 어때]
""")])
    spec = data.dialogue["weather_ask"]
    assert spec["action"] == "weather"
    assert spec["slots"][0] == {"name": "place", "entity": "time", "question": "언제요?", "default": None,
                                "choices": ["오늘", "내일"], "carry": True}
    assert spec["slots"][1]["required"] is False and spec["slots"][1]["default"] == "오늘"


@pytest.mark.parametrize(("declaration", "problem"), [
    ("    action: no_such_action\n", "action 'no_such_action' is not registered"),
    ("    slots:\n      - name: place\n        entity: planet\n        question: 어디요?\n",
     "entity type 'planet'"),
    ("    slots:\n      - name: place\n        entity: time\n", "has no question"),
    ("    slots:\n      - name: place\n        entity: planet\n", "can never complete"),
    ("    slots:\n      - name: place\n        entity: time\n        question: 언제?\n        carry: maybe\n",
     "carry must be true or false"),
    ("    slots:\n      - name: place\n        question: 언제?\n", "needs a 'name' and the 'entity'"),
    ("    slots:\n      - name: a\n        entity: time\n        question: q\n"
     "      - name: a\n        entity: time\n        question: q\n", "declared twice"),
    ("    slots:\n      - name: a\n        entity: time\n        color: red\n", "unknown key 'color'"),
])
def test_bad_declarations_name_their_file_and_line(tmp_path: Path, declaration: str, problem: str) -> None:
    path = corpus(tmp_path, "  - intent: weather_ask\n" + declaration + "    examples: [날씨 알려줘, 비 와]\n")
    _, problems = read_corpus([path])
    text = "\n".join(problems.items)
    assert problem in text
    assert f"{path}:" in text and f"{path}:0" not in text

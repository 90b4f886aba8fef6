"""The conversation format and runner themselves, with a made-up bot (no model): file:line errors, the
checks, separate people, restarts and the state's JSON round trip, the metrics and the command line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from chatbot.dialogue.dialogue_files import DialogueFileError, load_dialogues
from chatbot.dialogue.testing import run_dialogues, slot_problems, unexpected, value_problem
from chatbot.evaluation import dialogue_metrics


@dataclass
class FakeReply:
    text: str
    intent: str | None = "note"
    confidence: float = 1.0
    fallback: bool = False
    entities: list = field(default_factory=list)
    slots: dict = field(default_factory=dict)
    state: dict | None = None


class NotesBot:
    """Remembers the lines of one state; "목록" lists the person's book; "지금" says the clock's day."""

    def __init__(self, generation: int = 0):
        self.generation = generation

    def reply(self, text, context, state=None):
        state = state or {"said": []}
        book = context["services"]["reminders"]
        if text == "목록":
            return FakeReply(" / ".join(i["text"] for i in book.upcoming()) or "없음", "list", state=state)
        if text == "지금":
            return FakeReply(context["now"].date().isoformat(), state=state)
        if text == "세대":
            return FakeReply(f"generation {self.generation}", state=state)
        book.add(text, context["now"])
        when = {"start": context["now"].isoformat(), "grain": "day"}
        return FakeReply(f"{len(state['said']) + 1}번째", state={"said": [*state["said"], text]},
                         slots={"what": text, "when": when},
                         entities=[{"type": "time", "text": "오늘", "start": 0, "end": 2, "value": when}])


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "talk.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """now: 2026-12-07T10:00:00+09:00
conversations:
  - name: two people
    turns:
      - user: 우유
        intent: note
        slots: {what: 우유, when: {date: 2026-12-07}}
        entities: [{type: time, text: 오늘, date: 2026-12-07}]
        reply_contains: 1번째
      - user: 빵
        person: b
        reply_contains: 1번째
      - user: 목록
        restart: true
        intent: list
        reply_matches: "^우유$"
        reply_excludes: 빵
      - user: 세대
        reply_contains: generation 1
      - user: 지금
        now: 2027-01-02T09:00:00+09:00
        reply_contains: 2027-01-02
"""


def test_people_restarts_and_the_clock(tmp_path):
    conversations = load_dialogues([write(tmp_path, GOOD)])
    generations = iter(range(1, 10))
    results = run_dialogues(conversations, NotesBot(), reload=lambda: NotesBot(next(generations)))
    assert [t.problems for t in results[0].turns] == [[]] * 5 and results[0].passed
    figures = dialogue_metrics(results)
    assert figures["turns"] == 5 and figures["turn_accuracy"] == 1.0 and figures["conversations_passed"] == 1
    assert figures["intent_turns"] == 2 and figures["slot_turns"] == 1 and figures["failing_turns"] == []


def test_a_wrong_turn_names_each_problem(tmp_path):
    text = GOOD.replace("intent: list", "intent: other").replace("what: 우유,", "what: 두유,")
    results = run_dialogues(load_dialogues([write(tmp_path, text)]), NotesBot(), reload=lambda: NotesBot(1))
    turns = results[0].turns
    assert turns[0].checks == {"intent": True, "entities": True, "slots": False, "reply": True}
    assert turns[0].problems == ["slots: what: '우유', not '두유'"]
    assert turns[2].problems[0].startswith("intent: expected other, got list")
    figures = dialogue_metrics(results)
    assert figures["conversations_passed"] == 0 and figures["intent_accuracy"] == 0.5
    assert figures["slot_accuracy"] == 0.0 and figures["turn_accuracy"] == 0.6
    assert [f["turn"] for f in figures["failing_turns"]] == [1, 3]
    assert unexpected(results) == results


def test_xfail_marks_a_known_failure(tmp_path):
    text = GOOD.replace("  - name: two people\n", "  - name: two people\n    xfail: a known bug\n")
    results = run_dialogues(load_dialogues([write(tmp_path, text)]), NotesBot(), reload=lambda: NotesBot(1))
    assert results[0].passed and unexpected(results) == results  # it passes: the mark must go


def test_a_bot_that_raises_fails_the_turn_and_the_run_goes_on(tmp_path):
    class Broken(NotesBot):
        def reply(self, text, context, state=None):
            if text == "빵":
                raise ValueError("boom")
            return super().reply(text, context, state)

    results = run_dialogues(load_dialogues([write(tmp_path, GOOD)]), Broken(), reload=lambda: Broken(1))
    assert results[0].turns[1].problems == ["the bot raised ValueError: boom"]
    assert len(results[0].turns) == 5


@pytest.mark.parametrize("text, message", [
    ("now: 2026-12-07\nconversations:\n  - name: x\n    turns:\n      - usr: 안녕\n", ":5: a turn needs `user`"),
    ("now: 어제\nconversations: []\n", ":1: now '어제' is not an ISO datetime"),
    ("conversations:\n  - name: x\n    turns: [{user: 안녕}]\n", ":2: no `now`"),
    ("now: 2026-12-07\nconversations:\n  - name: x\n    turns:\n      - user: 안녕\n        slot: {}\n",
     ":5: unknown key 'slot'"),
    ("now: 2026-12-07\nconversations:\n  - name: x\n    turns:\n      - user: 안녕\n        reply_matches: '('\n",
     ":5: reply_matches '(' is not a regular expression"),
    ("now: 2026-12-07\nconversations:\n  - name: x\n    turns:\n      - user: a\n        entities: [{type: t}]\n",
     ":5: an entity needs type and text"),
    ("now: 2026-12-07\nconversations:\n  - name: x\n    turns: [{user: a}]\n  - name: x\n    turns: [{user: b}]\n",
     ":5: conversation name 'x' is used twice"),
    ("now: 2026-12-07\nconversations: [\n", ":3: not valid YAML"),
])
def test_bad_files_name_the_file_and_line(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(DialogueFileError) as caught:
        load_dialogues([tmp_path])
    assert any(p.startswith(f"{path}:") and message in f"{path}{p[len(str(path)):]}" for p in caught.value.problems), \
        caught.value.problems


def test_value_and_slot_checks():
    when = {"start": "2026-12-09T09:00:00+09:00", "end": "2026-12-09T10:00:00+09:00", "grain": "hour"}
    assert value_problem({"date": date(2026, 12, 9), "time": "09:00"}, when) is None
    assert value_problem({"start": "2026-12-09T09"}, when) is None
    assert value_problem({"date": "2026-12-10"}, when) == "date is '2026-12-09', not '2026-12-10'"
    assert value_problem(1, {"value": 1, "unit": "번"}) is None
    assert slot_problems({}, {"what": None}) == []
    assert slot_problems({}, {"what": "x"}) == ['slots: expected none, found {"what": "x"}']
    assert slot_problems({"what": None}, {"what": "x"}) == ["slots: what should be empty, is 'x'"]
    assert slot_problems({"when": {"date": "2026-12-09"}}, {}) == [
        "slots: when is empty, expected {'date': '2026-12-09'}"]


def test_the_command_line_prints_failures_and_exits_1(tmp_path, monkeypatch, capsys):
    from chatbot import cli
    from chatbot.bot import Bot

    loads = iter(range(100))
    monkeypatch.setattr(Bot, "load", classmethod(lambda cls, *a, **k: NotesBot(next(loads) % 2)))
    path = write(tmp_path, GOOD)
    assert cli.main(["test-dialogues", "--model", "m", "--dialogues", str(path)]) == 0
    assert "1/1 conversations passed; 5/5 turns right" in capsys.readouterr().out
    write(tmp_path, GOOD.replace("reply_contains: 1번째\n      - user: 빵", "reply_contains: 2번째\n      - user: 빵"))
    assert cli.main(["test-dialogues", "--model", "m", "--dialogues", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL talk::two people ({path}:3)" in out and "turn 1 at" in out and "reply: lacks '2번째'" in out
    assert cli.main(["test-dialogues", "--model", "m", "--dialogues", str(path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["failing_turns"][0]["user"] == "우유"
    write(tmp_path, "now: x\n")
    assert cli.main(["test-dialogues", "--model", "m", "--dialogues", str(path)]) == 2
    assert f"{path}:1:" in capsys.readouterr().err

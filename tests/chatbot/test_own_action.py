"""README "Your own action", run as written: its module, its corpus, CHATBOT_ACTIONS, validate, train, the talk.

The snippets are read from README.md itself, so the README cannot drift from what works."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from chatbot.actions import ACTIONS
from chatbot.cli import main
from tests.conftest import REPO_ROOT

SECTION = "### Your own action"


def readme_blocks() -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced block in the README's "Your own action" section."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start)
    section = text[start:end if end != -1 else None]
    return re.findall(r"```(\w+)\n(.*?)```", section, flags=re.DOTALL)


@pytest.fixture
def own_action(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The README's module and corpus written to ``tmp_path`` (importable), and the blocks by role."""
    blocks = readme_blocks()
    python = [code for lang, code in blocks if lang == "python"]
    yaml_blocks = [code for lang, code in blocks if lang == "yaml"]
    bash = [code for lang, code in blocks if lang == "bash"]
    assert len(python) == 2 and len(yaml_blocks) == 1 and len(bash) == 1
    (tmp_path / "my_actions.py").write_text(python[0], encoding="utf-8")
    (tmp_path / "my_corpus").mkdir()
    (tmp_path / "my_corpus" / "drinks.yaml").write_text(yaml_blocks[0], encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)  # "models/mine" and "my_corpus" are relative, as in the README
    monkeypatch.delenv("CHATBOT_ACTIONS", raising=False)
    yield {"bash": bash[0], "talk": python[1]}
    ACTIONS.pop("order_drink", None)
    sys.modules.pop("my_actions", None)


def test_the_readme_example_validates_trains_and_answers(own_action, monkeypatch, capsys):
    # Before CHATBOT_ACTIONS names the module, validate refuses the corpus and says why.
    assert main(["validate", "--data", "my_corpus"]) == 2
    assert "action 'order_drink' is not registered" in capsys.readouterr().out

    commands = [line.split(" ", 1)[1] for line in own_action["bash"].splitlines() if line.strip()]
    assert commands[0] == "CHATBOT_ACTIONS=my_actions"
    monkeypatch.setenv("CHATBOT_ACTIONS", "my_actions")
    for command in commands[1:]:  # ".venv/bin/python -m chatbot validate ...", then train
        argv = command.split()
        assert argv[:2] == ["-m", "chatbot"]
        assert main(argv[2:]) == 0, command

    talk: dict = {}
    exec(compile(own_action["talk"], "README.md", "exec"), talk)  # noqa: S102 (our own README's snippet)
    first, second = talk["first"], talk["second"]
    assert first.intent == "order_drink" and first.text == "어떤 음료로 드릴까요?"
    assert first.suggestions == ["아메리카노", "라떼"]
    assert second.intent == "order_drink" and second.source == "action:order_drink"
    assert re.fullmatch(r"아메리카노 한 잔 주문 받았어요 ☕ \d\d시 \d\d분쯤 준비돼요\.", second.text), second.text

    # A message that names the drink at once skips the question; the reply reads the turn's clock.
    reply = talk["bot"].reply("라떼 주문할게요", {"now": datetime(2025, 6, 10, 14, 58)})
    assert reply.text == "라떼 한 잔 주문 받았어요 ☕ 15시 03분쯤 준비돼요."

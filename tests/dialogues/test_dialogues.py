"""The conversation files of this folder (``*.yaml``, format in README.md) run against the session's trained
default model: one test per conversation, named ``<file>::<name>``.

A conversation marked ``xfail: <reason>`` is a known bug of the bot: it is expected to fail (strictly, so
that it shows up once the bug is fixed and the mark can go).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.dialogue.dialogue_files import load_dialogues
from chatbot.dialogue.testing import failure_lines, run_conversation

HERE = Path(__file__).resolve().parent
FILES = sorted(HERE.glob("*.yaml"))
CONVERSATIONS = load_dialogues(FILES)


def marks(conversation) -> list:
    return [pytest.mark.xfail(reason=conversation.xfail, strict=True)] if conversation.xfail else []


@pytest.fixture(scope="module")
def reload(trained_model_dir):
    """What ``restart: true`` calls: a fresh bot from the trained model directory."""
    from chatbot.bot import Bot

    return lambda: Bot.load(trained_model_dir)


@pytest.mark.parametrize("conversation", [pytest.param(c, id=c.id, marks=marks(c)) for c in CONVERSATIONS])
def test_conversation(bot, reload, conversation):
    result = run_conversation(conversation, bot, reload)
    assert result.passed, "\n" + "\n".join(failure_lines([result]))


def test_there_are_enough_conversations():
    assert len(FILES) >= 2 and len(CONVERSATIONS) >= 40


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_intents_named_are_the_models(bot, path):
    from chatbot.corpus import OOD_LABEL

    known = {str(c) for component in bot.pipeline.components for c in getattr(component, "classes_", [])}
    known = known - {OOD_LABEL} | {"fallback"}
    unknown = sorted({f"{c.file}:{t.line}: {t.intent}" for c in load_dialogues([path]) for t in c.turns
                      if t.intent is not None and t.intent not in known})
    assert not unknown, "intents the trained model does not know:\n" + "\n".join(unknown)

"""The bundled corpus's replies about the bot's own features must match what the bot does.

The forecast replies once said /forecast was "준비 중" long after it was served; these tests read
the replies themselves, so a reply that names a missing command or shows an example that fails is
caught when it is written."""

from __future__ import annotations

import re

import pytest

from chatbot.commands import list_commands
from chatbot.corpus import load_corpus
from tests.conftest import CORPUS_DIR

QUOTED = re.compile(r"'([^']+)'")


def corpus_replies() -> dict[str, list[str]]:
    """Every intent-level response and pair answer of the bundled corpus, by intent."""
    data = load_corpus([CORPUS_DIR])
    replies = {intent: list(responses) for intent, responses in data.responses.items()}
    for message in data.messages:
        if message.gold_answer:
            replies.setdefault(message.gold_intent, []).append(message.gold_answer)
    return replies


def test_every_command_a_reply_names_exists():
    known = {c.name for c in list_commands()}
    named = {(intent, name) for intent, texts in corpus_replies().items() for text in texts
             for name in re.findall(r"(?<![\w/])/([a-z][a-z-]*)", text)}
    assert named, "the corpus replies should point users to commands"
    assert {(intent, name) for intent, name in named if name not in known} == set()


def test_no_reply_says_a_served_feature_is_still_coming():
    stale = [(intent, text) for intent, texts in corpus_replies().items() for text in texts
             if re.search(r"준비\s?중|곧 (추가|할 수 있)|아직은? (숫자|사진|이미지)", text)]
    assert stale == []


@pytest.mark.parametrize("example", sorted({m for text in corpus_replies()["forecast_request"]
                                            for m in QUOTED.findall(text)}))
def test_the_forecast_examples_in_the_replies_work(bot, example):
    reply = bot.reply(example)
    if example.endswith("list"):
        assert "co2" in reply.text
    else:
        kinds = [a.get("type") for a in reply.attachments]
        assert "forecast" in kinds and "image" in kinds, f"{example!r} -> {reply.text[:120]}"

"""Turns handled in written conversations: the share of turns with the right intent and slots, and whether
every date question got the right answer.

    python benchmarks/dialogue_turns.py [--model models/default] [--dialogues benchmarks/dialogues] [--out FILE]

The conversations (``benchmarks/dialogues/*.yaml``, the format of ``tests/dialogues/README.md``) were
written apart from the tests in ``tests/dialogues`` and not tuned to the bot; their clock is fixed, and
every expected date was worked out by hand. Targets (issue 21): at least 90% of the turns that state an
intent or slots get both right (``intent_and_slots``), and every date question (a turn expecting
``ask_date`` with a stated answer) is answered right (``date_questions.all_right``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import from the checkout
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.common import REPO_ROOT, add_common_arguments, arguments_dict, emit, environment, log
from chatbot.bot import Bot
from chatbot.dialogue.testing import ConversationResult, failure_lines, load_dialogues, run_dialogues
from chatbot.evaluation import dialogue_metrics

DATE_INTENT = "ask_date"
TARGET_INTENT_AND_SLOTS = 0.9


def date_questions(results: list[ConversationResult]) -> dict[str, Any]:
    """The turns that expect ``ask_date`` and state the answer, and those whose answer (and intent) is right."""
    asked, wrong = 0, []
    for result in results:
        for spec, turn in zip(result.conversation.turns, result.turns, strict=True):
            if spec.intent != DATE_INTENT or not spec.checks_reply:
                continue
            asked += 1
            if turn.checks.get("reply") is not True or turn.checks.get("intent") is not True:
                wrong.append({"where": turn.where, "user": turn.user, "reply": turn.reply, "problems": turn.problems})
    return {"questions": asked, "right": asked - len(wrong), "all_right": asked > 0 and not wrong, "wrong": wrong}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "default", help="model directory")
    parser.add_argument("--dialogues", type=Path, nargs="+", default=[REPO_ROOT / "benchmarks" / "dialogues"],
                        metavar="PATH", help="conversation files or folders (default: benchmarks/dialogues)")
    add_common_arguments(parser, data=False)
    args = parser.parse_args(argv)

    conversations = load_dialogues(args.dialogues)
    log(f"{len(conversations)} conversations, {sum(len(c.turns) for c in conversations)} turns; loading {args.model}")
    bot = Bot.load(args.model)
    started = time.perf_counter()
    results = run_dialogues(conversations, bot, reload=lambda: Bot.load(args.model))
    seconds = time.perf_counter() - started
    figures = dialogue_metrics(results)
    dates = date_questions(results)
    for line in failure_lines(results):
        log(line)
    share = figures["intent_and_slots"] or 0.0
    emit({
        "benchmark": "dialogue_turns",
        "model": str(args.model),
        "files": [str(p) for p in args.dialogues],
        "intent_and_slots": figures["intent_and_slots"],
        "intent_and_slots_turns": figures["intent_and_slots_turns"],
        "target_intent_and_slots": TARGET_INTENT_AND_SLOTS,
        "meets_intent_and_slots": share >= TARGET_INTENT_AND_SLOTS,
        "date_questions": dates,
        "figures": figures,
        "seconds": round(seconds, 2),
        "arguments": {**arguments_dict(args), "dialogues": [str(p) for p in args.dialogues]},
        "environment": environment(),
    }, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

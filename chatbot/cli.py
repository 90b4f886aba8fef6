"""``python -m chatbot``: analyze and chat here; train/evaluate/serve come from the packages that
depend on the library (``training``, ``webui``) through the ``chatbot.cli`` entry-point group,
so the library never imports them.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from importlib.metadata import entry_points

from chatbot.corpus import CorpusError
from chatbot.nlp.tokenizers import BACKENDS, DEFAULT, TokenizerUnavailable
from chatbot.pipeline import ModelNotFound

SHOWN_DUPLICATES = 20  # in validate's text summary; --json has them all
DEFAULT_DIALOGUES = "tests/dialogues"
EXPECTED_ERRORS = (CorpusError, ModelNotFound, TokenizerUnavailable, ValueError, FileNotFoundError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatbot", description="Korean chatbot: train, evaluate, chat, serve.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    analyze = sub.add_parser("analyze", help="show normalisation, morphemes, POS, lemmas, stopwords and entities "
                                             "as JSON")
    analyze.add_argument("text")
    analyze.add_argument("--tokenizer", default=DEFAULT, choices=sorted(BACKENDS))
    analyze.add_argument("--extractor", action="append", default=None, metavar="NAME",
                         help="an entity extractor that needs no training (registered name or module:Class); "
                              "repeatable")
    analyze.add_argument("--model", default=None, help="find entities with this trained model's pipeline instead")
    analyze.add_argument("--text", dest="as_text", action="store_true", help="print lines for people, not JSON")
    analyze.set_defaults(func=run_analyze)

    chat = sub.add_parser("chat", help="talk to a trained model in the terminal")
    chat.add_argument("--model", required=True, help="model directory")
    chat.set_defaults(func=run_chat)

    dialogues = sub.add_parser("test-dialogues", help="run conversation tests (tests/dialogues/*.yaml) against a "
                                                       "model; exit 1 when one fails")
    dialogues.add_argument("--model", required=True, help="model directory")
    dialogues.add_argument("--dialogues", nargs="+", default=None, metavar="PATH",
                           help=f"conversation files or folders (default: {DEFAULT_DIALOGUES})")
    dialogues.add_argument("--json", action="store_true", help="print the per-turn figures and failures as JSON")
    dialogues.set_defaults(func=run_test_dialogues)

    classify = sub.add_parser("classify", help="classify pictures with an image model (what /image answers), as JSON")
    classify.add_argument("images", nargs="+", metavar="IMAGE", help="picture files (PNG, JPEG, GIF, WEBP, ...)")
    classify.add_argument("--model", default="models/vision", help="image model directory (default: models/vision)")
    classify.add_argument("--top", type=int, default=3, help="labels per picture (default: 3)")
    classify.set_defaults(func=run_classify)

    forecast = sub.add_parser("forecast", help="forecast a CSV file or a bundled dataset; prints the forecast JSON")
    forecast.add_argument("--data", required=True, metavar="FILE.csv|dataset:NAME",
                          help="a CSV (a date column and a value column, or one value column) or dataset:co2 ...")
    forecast.add_argument("--horizon", type=int, default=None, help="steps to forecast (default: by frequency)")
    forecast.add_argument("--model", default="auto",
                          choices=("auto", "arima", "ets", "lstm", "naive", "drift", "seasonal_naive"))
    forecast.add_argument("--chart", default=None, metavar="FILE.png", help="also write the chart here")
    forecast.set_defaults(func=run_forecast)

    validate = sub.add_parser("validate", help="check a corpus as training would; exit 0 when it is valid, 2 when not")
    validate.add_argument("--data", action="append", required=True,
                          help="corpus file or directory (YAML, CSV, TSV, JSONL); repeatable")
    validate.add_argument("--json", action="store_true", help="print the whole report as JSON")
    validate.add_argument("--preview", type=int, default=20, metavar="N", help="rows in the report's preview")
    validate.set_defaults(func=run_validate)

    for entry in entry_points(group="chatbot.cli"):
        try:
            entry.load()(sub)
        except ImportError as exc:  # a package that contributes commands is missing
            logging.getLogger(__name__).warning("commands from %s unavailable: %s", entry.name, exc)
    return parser


def run_analyze(args: argparse.Namespace) -> int:
    from chatbot.nlp.analyze import analysis_lines, analyze

    result = analyze(args.text, args.tokenizer, args.extractor, args.model)
    print("\n".join(analysis_lines(result)) if args.as_text else json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from chatbot.corpus.report import corpus_report

    report = corpus_report(args.data, preview_rows=args.preview)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print("\n".join(validation_summary(report)))
    return 0 if report["ok"] else 2


def validation_summary(report: dict) -> list[str]:
    """The human-readable lines of ``validate``: the verdict, the problems, the counts and warnings."""
    lines = [f"{', '.join(report['files'])}: {report['rows']} rows, {len(report['intents'])} intents, "
             f"{report['ood_rows']} OOD rows, {report['answers']} with an answer",
             "valid: training accepts this corpus" if report["ok"]
             else f"NOT VALID: {report['error_count']} problem(s)"]
    for error in report["errors"]:
        where = f"{error['file']}:{error['line']}" if error["line"] else error["file"]
        lines.append(f"  {where}: {error['message']}")
    if report["error_count"] > len(report["errors"]):
        lines.append(f"  ... and {report['error_count'] - len(report['errors'])} more")
    if report["intents"]:
        lines.append("intents: " + ", ".join(f"{k} {v}" for k, v in report["intents"].items()))
    if report.get("entity_rows"):
        lines.append(f"{report['entity_rows']} entity-only rows (no intent)")
    if report.get("entities"):
        lines.append("entities: " + ", ".join(
            f"{t} ({c['annotations']} annotations in {c['examples']} rows, {c['values']} values, "
            f"{c['lookup_entries']} lookup entries)" for t, c in report["entities"].items()))
    if report.get("forms"):
        lines.append("forms: " + ", ".join(
            f"{k} ({', '.join(f['slots']) or 'no slots'}{' -> ' + f['action'] if f['action'] else ''})"
            for k, f in report["forms"].items()))
    for dup in report["duplicates"][:SHOWN_DUPLICATES]:
        places = ", ".join(f"{p['file']}:{p['line']}" for p in dup["lines"])
        label = "CONFLICT " + "/".join(dup["intents"]) if dup["conflict"] else dup["intents"][0]
        lines.append(f"duplicate ({label}) x{dup['count']}: {dup['text']!r} at {places}")
    if report["duplicate_count"] > SHOWN_DUPLICATES:
        lines.append(f"... and {report['duplicate_count'] - SHOWN_DUPLICATES} more duplicates (--json lists them)")
    lines += [f"warning: {w}" for w in report["warnings"]]
    return lines


def run_classify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chatbot.vision.classifier import ImageClassifier
    from chatbot.vision.images import load_image

    classifier = ImageClassifier.load(args.model)
    results = []
    for path in args.images:
        decoded = load_image(Path(path).read_bytes())  # an ImageError is a ValueError: one line, exit 2
        labels = classifier.classify(decoded.image, top_k=args.top).labels
        results.append({"image": path, "labels": [{"label": label, "score": round(score, 4)}
                                                  for label, score in labels]})
    print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


def run_forecast(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chatbot.commands.forecast_command import default_horizon
    from chatbot.timeseries.datasets import load_dataset
    from chatbot.timeseries.forecast import describe, forecast
    from chatbot.timeseries.parse import read_csv

    if args.data.startswith("dataset:"):
        series = load_dataset(args.data.removeprefix("dataset:"))
    else:
        series = read_csv(Path(args.data).read_bytes(), Path(args.data).name)
    fc = forecast(series, args.horizon if args.horizon is not None else default_horizon(series), args.model)
    if args.chart:
        from chatbot.timeseries.chart import chart_png

        Path(args.chart).write_bytes(chart_png(series, fc))
    print(json.dumps({"type": "forecast", **fc.to_dict(), "horizon": len(fc.values), "source": series.source,
                      "summary": describe(series, fc)}, ensure_ascii=False, indent=2))
    return 0


def run_test_dialogues(args: argparse.Namespace) -> int:
    from chatbot.bot import Bot
    from chatbot.dialogue.testing import failure_lines, load_dialogues, run_dialogues, unexpected
    from chatbot.evaluation import dialogue_metrics

    conversations = load_dialogues(args.dialogues or [DEFAULT_DIALOGUES])
    if not conversations:
        raise ValueError(f"no conversations in {', '.join(args.dialogues or [DEFAULT_DIALOGUES])}")
    results = run_dialogues(conversations, Bot.load(args.model), reload=lambda: Bot.load(args.model))
    figures = dialogue_metrics(results)
    bad = unexpected(results)
    if args.json:
        print(json.dumps({**figures, "ok": not bad}, ensure_ascii=False, indent=2))
    else:
        print("\n".join(failure_lines(results)))
        print(f"{figures['conversations_passed']}/{figures['conversations']} conversations passed; "
              f"{figures['turns_passed']}/{figures['turns']} turns right (intent {figures['intent_accuracy']}, "
              f"slots {figures['slot_accuracy']}, intent and slots {figures['intent_and_slots']})")
        known = sum(1 for r in results if r.conversation.xfail and not r.passed)
        if known:
            print(f"{known} known failure(s) marked xfail")
    return 1 if bad else 0


def run_chat(args: argparse.Namespace) -> int:
    from chatbot.actions.reminders import MemoryReminderBook
    from chatbot.bot import Bot

    bot = Bot.load(args.model)
    # The conversation's dialogue state and the person's reminders live as long as the session.
    state: dict | None = None
    context = {"services": {"reminders": MemoryReminderBook()}}
    name = "한결"
    print(f"{name}과 대화를 시작해요. 끝내려면 /quit 또는 Ctrl-D.", flush=True)
    history: list[tuple[str, str]] = []
    while True:
        try:
            text = input("나> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if text.strip() in ("/quit", "/exit", "/종료"):
            return 0
        if not text.strip():
            continue
        try:
            reply = bot.reply(text, {**context, "history": history[-10:]}, state=state)
        except ValueError as exc:
            print(f"{name}> ({exc})")
            continue
        state = reply.state if reply.state is not None else state
        history += [("user", text), ("bot", reply.text)]
        print(f"{name}> {reply.text}", flush=True)
        if reply.suggestions:
            print("    추천: " + " | ".join(reply.suggestions))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except EXPECTED_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

"""Evaluate a model directory on a labelled corpus: report.json, predictions.jsonl, confusion_matrix.png.

predictions.jsonl has one row per example: ``text``, ``gold_intent``, ``pred_intent``, ``confidence``,
``fallback``, ``gold_answer``, ``reply`` and ``pred_entities`` (``[{type, start, end, text, value}]``,
offsets into ``text``); rows that are scored for entities (``chatbot.evaluation.entity_annotated``)
also have ``gold_entities`` in the same form. The confusion matrix is drawn over the rows with a gold
intent, and left out when there are none (a corpus of entity annotations alone)."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from chatbot.corpus import OOD_LABEL, load_corpus
from chatbot.entities import entity_annotated
from chatbot.evaluation import dialogue_metrics, entity_dicts, evaluate_messages, predicted_entities
from chatbot.message import Message
from chatbot.model_dir import CONFUSION_MATRIX, PREDICTIONS, REPORT
from chatbot.pipeline import Pipeline
from training.messages import fresh
from training.plots import confusion_matrix_png

FALLBACK_COLUMN = "(fallback)"
# Rows per batch when ``evaluate`` runs a corpus through the model: large enough that batching still pays
# (Kiwi, the sparse products), small enough that the progress bar moves every second or two on 2 cores.
EVALUATE_CHUNK = 1000


def process_in_chunks(pipeline: Pipeline, messages: list[Message]) -> list[Message]:
    """``pipeline.process_batch`` over ``messages`` a chunk at a time, with a progress bar on stderr (shown on
    a terminal only). Each message's predictions do not depend on the rest of its batch, so chunks give the
    same figures (a reply drawn at random among an intent's answers may be another of them)."""
    from tqdm import tqdm

    done: list[Message] = []
    with tqdm(total=len(messages), desc="evaluate", unit=" rows", disable=None, dynamic_ncols=True) as bar:
        for start in range(0, len(messages), EVALUATE_CHUNK):
            done += pipeline.process_batch(messages[start:start + EVALUATE_CHUNK])
            bar.update(len(messages[start:start + EVALUATE_CHUNK]))
    return done


def evaluate_model(model_dir: str | Path, data_paths: list[str | Path], out_dir: str | Path,
                   dialogues: list[str | Path] | None = None) -> dict[str, Any]:
    """Run the model over every row and write the three report files into ``out_dir`` (``write_evaluation``);
    with ``dialogues`` (conversation files or folders, ``tests/dialogues/README.md``), the report's
    ``dialogues`` section gives their per-turn accuracy."""
    pipeline = Pipeline.load(model_dir)
    data = load_corpus(data_paths, min_intents=0)
    messages = fresh(data.messages)
    started = time.perf_counter()
    messages = process_in_chunks(pipeline, messages)
    seconds = time.perf_counter() - started

    report = evaluate_messages(messages)
    generative = next((c for c in pipeline.components if hasattr(c, "perplexity")), None)
    answered = [m for m in messages if m.gold_answer and m.gold_intent and m.gold_intent != OOD_LABEL]
    if generative is not None and answered and "response" in report:
        # Perplexity of the gold answers under the generative model, whichever side replied.
        report["response"]["perplexity"] = generative.perplexity(
            [m.normalized or m.text for m in answered], [m.gold_answer for m in answered])
    report["reply_sources"] = reply_sources(messages)
    if dialogues:
        report["dialogues"] = evaluate_dialogues(model_dir, dialogues)
    report.update({"model": str(model_dir), "data": [str(p) for p in data_paths],
                   "seconds": round(seconds, 3), "rows_per_second": round(len(messages) / max(seconds, 1e-9), 1)})
    write_evaluation(out_dir, report, messages, title=f"{Path(model_dir).name}: intents")
    return report


def evaluate_dialogues(model_dir: str | Path, paths: list[str | Path], pipeline: Any = None) -> dict[str, Any]:
    """Per-turn accuracy of the model on conversation files (``chatbot.evaluation.dialogue_metrics``);
    ``pipeline``, when given, is the model already in memory (training), so it is not loaded again."""
    from chatbot.actions import register_builtin_actions
    from chatbot.bot import Bot
    from chatbot.dialogue.testing import load_dialogues, run_dialogues

    conversations = load_dialogues(list(paths))  # a malformed file is a ValueError naming file:line
    register_builtin_actions()
    bot = Bot(pipeline, Path(model_dir)) if pipeline is not None else Bot.load(model_dir)
    results = run_dialogues(conversations, bot, reload=lambda: Bot.load(model_dir))
    return {**dialogue_metrics(results), "files": [str(p) for p in paths]}


def reply_sources(messages: list[Message]) -> dict[str, float]:
    """The share of replies from each responder kind (``retrieval``, ``seq2seq``, ...)."""
    sources = Counter(m.reply_source.split(":")[0] for m in messages if m.reply_source)
    return {k: round(v / max(1, len(messages)), 4) for k, v in sorted(sources.items())}


def write_evaluation(out_dir: str | Path, report: dict[str, Any], messages: list[Message], title: str) -> Path:
    """Write report.json, predictions.jsonl and confusion_matrix.png for processed, gold-labelled messages.

    ``evaluate`` and every training run (its validation split, in ``<model>/evaluation/``) write
    the same three files, so one reader (the trainer page) shows both."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    scored = {id(m) for m in entity_annotated(messages)}
    with (out / PREDICTIONS).open("w", encoding="utf-8") as f:
        for m in messages:
            row = {"text": m.text, "gold_intent": m.gold_intent, "pred_intent": m.intent,
                   "confidence": round(float(m.confidence), 4), "fallback": m.fallback,
                   "gold_answer": m.gold_answer, "reply": m.reply,
                   "pred_entities": entity_dicts(predicted_entities(m))}
            if id(m) in scored:
                row["gold_entities"] = entity_dicts(m.gold_entities)
            f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    # Fallback is shown as its own column, so OOD rows and rejected in-domain rows are visible.
    labelled = [m for m in messages if m.gold_intent]
    matrix = out / CONFUSION_MATRIX
    if labelled:
        confusion_matrix_png([m.gold_intent or "" for m in labelled],
                             [FALLBACK_COLUMN if m.fallback else (m.intent or "") for m in labelled],
                             matrix, title=title)
    else:
        matrix.unlink(missing_ok=True)  # a stale one from an earlier run would describe another model
    return out

"""Out-of-fold fallback signals, for a fallback detector with ``threshold_folds`` (off in the default config:
measured laxer than the validation split alone, docs/decisions.md).

One validation split is a small and lucky sample: thresholds set on it alone let the share of in-domain
messages kept on new data drift from ``target_kept`` (3i4K kept 96.7% for a 98% target). So before the
detector is tuned, training cross-validates the path that feeds it (featurizer, classifier, detector,
the stages the config gives, as configured) over ``threshold_folds`` folds of at most ``threshold_rows``
training rows: each fold's detector scores its held-out rows, and the pooled values join the validation
split's when the thresholds are chosen (``FallbackDetector.tune``).

On a large corpus the folds are fitted on a sample, so their models have seen fewer rows than the final
one: their held-out messages look a little less familiar than new messages will to the final model, and
the thresholds err towards keeping more, never fewer, in-domain messages than the target.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from chatbot.message import Message, TrainingData
from chatbot.pipeline import Pipeline
from chatbot.registry import component_class
from training.search import FEATURIZER, analysed, sample

log = logging.getLogger(__name__)
DETECTOR = "fallback_detector"


def wants_folds(steps: list[dict[str, Any]]) -> int:
    """The folds the config's fallback detector asks for (0: none, or no detector)."""
    step = next((s for s in steps if s["name"] == DETECTOR), None)
    if step is None or not any(s["name"] == FEATURIZER for s in steps):
        return 0
    params = {**component_class(DETECTOR).defaults, **step["params"]}
    return int(params.get("threshold_folds") or 0)


def held_out_signals(steps: list[dict[str, Any]], data: TrainingData, messages: list[Message],
                     seed: int) -> dict[str, Any] | None:
    """The fallback signals of each training row when its fold was held out, pooled; None when the corpus is
    too small to fold (an intent with fewer rows than folds) or the config has no detector."""
    folds = wants_folds(steps)
    if folds < 2:
        return None
    index = next(i for i, s in enumerate(steps) if s["name"] == DETECTOR)
    params = {**component_class(DETECTOR).defaults, **steps[index]["params"]}
    rows = [m for m in messages if m.gold_intent]
    labels = [m.gold_intent for m in rows]
    if len(set(labels)) < 2 or min(labels.count(x) for x in set(labels)) < folds:
        return None
    rows = analysed(steps, data, sample(rows, int(params["threshold_rows"]), seed))
    start = next(i for i, s in enumerate(steps) if s["name"] == FEATURIZER)
    path = [s for s in steps[start:index + 1] if "entities" not in component_class(s["name"]).provides]
    y = np.array([m.gold_intent for m in rows])
    pooled: list[dict[str, np.ndarray]] = []
    gold: list[str] = []
    predicted: list[str] = []
    for train_index, test_index in StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, y):
        pipeline = Pipeline(path)  # its stages read what the text stages wrote, which ``analysed`` did once
        pipeline.fit(data.with_messages(copies([rows[i] for i in train_index])))
        held = copies([rows[i] for i in test_index])
        for component in pipeline.components[:-1]:
            held = component.process_batch(held)
        pooled.append(pipeline.components[-1].signals(held))
        gold += [m.gold_intent or "" for m in held]
        predicted += [m.intent or "" for m in held]
    values = {key: np.concatenate([p[key] for p in pooled]) for key in pooled[0]}
    log.info("fallback thresholds: %d out-of-fold rows from %d folds", len(gold), folds)
    return {"values": values, "gold": np.array(gold, dtype=object), "predicted": np.array(predicted, dtype=object),
            "folds": folds}


def copies(messages: list[Message]) -> list[Message]:
    """Messages as the text stages left them, each with its own context (the classifier writes its margin
    there) and no predictions; the tokens are shared, as nothing after the text stages changes them."""
    return [replace(m, features=None, intent=None, confidence=0.0, ranking=[], fallback=False, fallback_reason="",
                    context={}) for m in messages]

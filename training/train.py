"""Train a model directory: validate the corpus, tune on a held-out split, refit on everything."""

from __future__ import annotations

import hashlib
import logging
import platform
import shutil
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from sklearn.model_selection import train_test_split

from chatbot.corpus import OOD_LABEL, corpus_files, load_corpus
from chatbot.evaluation import evaluate_messages
from chatbot.message import Message, TrainingData
from chatbot.pipeline import Pipeline
from training.config import load_config

log = logging.getLogger(__name__)
VERSIONED = ("kiwipiepy", "python-mecab-ko", "konlpy", "scikit-learn", "numpy", "scipy", "nltk")


def fresh(messages: list[Message]) -> list[Message]:
    """Unprocessed copies (processing annotates messages in place)."""
    return [Message(text=m.text, gold_intent=m.gold_intent, gold_answer=m.gold_answer, source=m.source)
            for m in messages]


def split(data: TrainingData, fraction: float, seed: int) -> tuple[list[Message], list[Message]]:
    """Stratified train/validation split; intents with fewer than 2 rows stay in training."""
    counts = Counter(m.gold_intent for m in data.messages)
    splittable = [m for m in data.messages if counts[m.gold_intent] >= 2]
    kept = [m for m in data.messages if counts[m.gold_intent] < 2]
    n_val = round(len(splittable) * fraction)
    if fraction <= 0 or n_val < len(counts):
        return data.messages, []
    train, val = train_test_split(splittable, test_size=n_val, random_state=seed,
                                  stratify=[m.gold_intent for m in splittable])
    return train + kept, val


def file_hashes(paths: list[str | Path]) -> tuple[list[dict[str, Any]], str]:
    files, total = [], hashlib.sha256()
    for path in corpus_files(paths):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        files.append({"path": str(path), "sha256": digest})
        total.update(digest.encode())
    return files, total.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def train_model(data_paths: list[str | Path], out_dir: str | Path, config: str | Path | dict | None = None,
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train and save a model directory; return its metadata. Raises CorpusError on a bad corpus."""
    started = time.perf_counter()
    config = config if isinstance(config, dict) else load_config(config)
    options = config.get("training", {})
    seed, fraction = int(options.get("seed", 0)), float(options.get("validation_split", 0.15))
    say = progress or (lambda _stage: None)
    say("loading corpus")
    data = load_corpus(data_paths)
    steps = [dict(s) for s in config["pipeline"]]

    validation: dict[str, Any] = {}
    held_out = None
    train_rows, val_rows = split(data, fraction, seed)
    if val_rows:
        say("validation fit")
        held_out = Pipeline(steps).fit(TrainingData(fresh(train_rows), data.responses, data.descriptions))
        say("tuning on validation split")
        val = fresh(val_rows)
        overrides = held_out.tune(val)
        validation = evaluate_messages(val)
        validation["rows"] = len(val)
        for index, params in overrides.items():
            steps[index] = {"name": steps[index]["name"], "params": {**steps[index].get("params", {}), **params}}

    pipeline = Pipeline(steps).fit(TrainingData(fresh(data.messages), data.responses, data.descriptions),
                                   progress=lambda name: say(f"fit {name}"))
    files, data_hash = file_hashes(data_paths)
    chooser = held_out if val_rows else pipeline  # model selection ran in the validation fit
    classifier = next((c for c in chooser.components if hasattr(c, "cv_scores_")), None)
    tokenizer = pipeline.find("tokenizer")
    pipeline.meta = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config.get("name", "custom"),
        "tokenizer": tokenizer.params["backend"] if tokenizer else None,
        "data": {"files": files, "sha256": data_hash, "rows": len(data.messages),
                 "intents": len([i for i in data.intents if i != OOD_LABEL]),
                 "ood_rows": sum(m.gold_intent == OOD_LABEL for m in data.messages)},
        "classifier": {"model": getattr(classifier, "model_", None),
                       "cv_macro_f1": getattr(classifier, "cv_scores_", {})},
        "validation": validation,
        "capabilities": sorted(set(data.descriptions.values())),
        "versions": library_versions(),
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    say("saving")
    return {"out_dir": str(save_atomically(pipeline, Path(out_dir))), **pipeline.meta}


def save_atomically(pipeline: Pipeline, out_dir: Path) -> Path:
    """Write into a sibling temp directory, then swap it in, so a reader never sees half a model."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{int(time.time() * 1000)}")
    pipeline.save(tmp)
    old = out_dir.with_name(f".{out_dir.name}.old-{int(time.time() * 1000)}")
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return out_dir

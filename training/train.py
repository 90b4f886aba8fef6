"""Train a model directory: validate the corpus, tune on a held-out split, then (usually) refit on everything.

Neural components (those with a ``checkpoint_dir`` parameter: the seq2seq responder, the neural
intent classifier) change three things:

- **No refit by default** (``training.refit: auto``). Refitting on all the data would train the
  network twice, and the checkpoints, ``--resume`` and ``--time-budget`` would apply to two fits.
  So the pipeline fitted on the training split is the saved model: ``tune`` already set its
  thresholds in place, and the tuned values are also written into its params and the saved steps.
  ``refit: true`` keeps the old behaviour (the validation fit then checkpoints under
  ``checkpoints/validation/`` and gets its own share of the time budget); pipelines without a neural
  component refit as before.
- **Checkpoints** go to ``<out>/checkpoints/NN_name/``, inside the model directory, and
  ``save_atomically`` carries that folder into the new directory, so ``--resume`` works after a
  crash, after a time-budget stop and after a finished run alike.
- **The time budget** is the whole command's: each neural fit gets, when it starts, what is left
  (less a reserve for tuning, evaluating and saving) divided by the neural fits still to come, so
  time one component leaves unused passes to the next.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
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
from chatbot.model_dir import CHECKPOINT, EVALUATION, LOSS_CURVE, ModelDir
from chatbot.nlp.tokenizers import analysis_cache
from chatbot.pipeline import Pipeline, learns_intents
from chatbot.registry import component_class
from training.config import load_config
from training.fallback_cv import held_out_signals, wants_folds
from training.messages import fresh
from training.progress import Steps, planned_steps
from training.search import apply, planned, run_search, search_options, searchable

log = logging.getLogger(__name__)
VERSIONED = ("kiwipiepy", "python-mecab-ko", "konlpy", "scikit-learn", "numpy", "scipy", "nltk", "torch")
OVERRIDABLE = ("device", "seed", "resume", "time_budget_minutes", "pretrained")
SUMMARY_KEYS = ("steps", "best_step", "best_validation_loss", "best_validation_score", "stopped_by", "seconds",
                "seconds_to_best", "device", "precision", "world_size", "resumed_from", "examples_per_second",
                "target_tokens_per_second", "peak_gpu_memory_mib")


def split(data: TrainingData, fraction: float, seed: int) -> tuple[list[Message], list[Message]]:
    """Stratified train/validation split; intents with fewer than 2 rows stay in training. Rows without
    an intent (entity annotations alone) form one stratum of their own."""
    counts = Counter(m.gold_intent for m in data.messages)
    splittable = [m for m in data.messages if counts[m.gold_intent] >= 2]
    kept = [m for m in data.messages if counts[m.gold_intent] < 2]
    n_val = round(len(splittable) * fraction)
    if fraction <= 0 or n_val < len(counts):
        return data.messages, []
    train, val = train_test_split(splittable, test_size=n_val, random_state=seed,
                                  stratify=[m.gold_intent or "" for m in splittable])
    return train + kept, val


def entity_stages(steps: list[dict]) -> list[dict]:
    """The steps of an entity-only model: everything up to the last entity extractor, less the stages that
    learn intents or replies. A config without an entity extractor cannot learn from entity annotations."""
    last = max((i for i, s in enumerate(steps) if "entities" in component_class(s["name"]).provides), default=None)
    if last is None:
        raise ValueError("the corpus has entity annotations and no intents, but the config has no entity "
                         "extractor to learn them: add one (e.g. crf_entity_extractor) or use the default config")
    return [s for s in steps[:last + 1] if not learns_intents(component_class(s["name"]))]


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


def is_neural(name: str) -> bool:
    """A component that trains a network through ``chatbot.models.trainer`` (it takes checkpoints)."""
    return "checkpoint_dir" in component_class(name).defaults


def world() -> tuple[int, int]:
    """(rank, world size) under ``torchrun`` once the process group is up; else (0, 1), without importing torch."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Budget:
    """The command's time budget, handed out to the neural fits as each one starts."""

    def __init__(self, minutes: float | None, fits: int = 0, start: float | None = None):
        """``start`` (``time.monotonic()``) is when the command began: reading the corpus counts too."""
        start = time.monotonic() if start is None else start
        self.end = None if minutes is None else start + minutes * 60
        # Tuning, evaluating and saving follow the last fit; they scale with the data, not the budget.
        self.reserve = 0.0 if minutes is None else min(0.1 * minutes * 60, 300.0)
        self.fits_left = fits

    def share(self, own: float | None) -> float | None:
        """Minutes for the fit starting now (never more than the component's own budget, never zero)."""
        if self.end is None:
            return own
        seconds = max(self.end - time.monotonic() - self.reserve, 1e-3) / max(1, self.fits_left)
        self.fits_left -= 1
        return seconds / 60 if own is None else min(float(own), seconds / 60)


def train_model(data_paths: list[str | Path], out_dir: str | Path, config: str | Path | dict | None = None,
                progress: Callable[[str], None] | None = None,
                overrides: dict[str, Any] | None = None, plan: Callable[[int], None] | None = None,
                dialogues: list[str | Path] | None = None, search_budget: float | None = None) -> dict[str, Any]:
    """Train and save a model directory; return its metadata. Raises CorpusError on a bad corpus.

    A config with a ``training.search`` section (the bundled default) first chooses its featurisation and
    classifier by cross-validation on the training split (``training.search``), within ``search_budget``
    seconds when given (0: no search, the config's own values).

    ``overrides`` (the CLI's ``--device``, ``--seed``, ``--resume``, ``--time-budget``, ``--pretrained``) set that
    parameter on every step whose component has it; ``seed`` also seeds the validation split, and
    ``time_budget_minutes`` is the whole command's (see the module docstring).

    ``progress(stage)`` is called at each step; ``plan(total)`` with the number of steps planned,
    first before the corpus is read and again once the validation split is known (``done`` never
    exceeds it). With a validation split the model directory gets ``evaluation/``: the split's
    report.json, predictions.jsonl and confusion matrix, as ``evaluate`` writes them; with ``dialogues``
    (conversation files, ``tests/dialogues/README.md``) its report also holds their per-turn accuracy, which
    the trainer console shows beside the intent and entity figures."""
    with analysis_cache():  # Kiwi analyses each distinct sentence once: search, fits, tuning and refit share it
        return _train_model(data_paths, out_dir, config, progress, overrides, plan, dialogues, search_budget)


def _train_model(data_paths: list[str | Path], out_dir: str | Path, config: str | Path | dict | None,
                 progress: Callable[[str], None] | None, overrides: dict[str, Any] | None,
                 plan: Callable[[int], None] | None, dialogues: list[str | Path] | None,
                 search_budget: float | None) -> dict[str, Any]:
    started, clock_start = time.perf_counter(), time.monotonic()
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v is not False}
    unknown = set(overrides) - set(OVERRIDABLE)
    if unknown:
        raise ValueError(f"unknown override(s) {', '.join(sorted(unknown))}; known: {', '.join(OVERRIDABLE)}")
    config = dict(config) if isinstance(config, dict) else load_config(config)
    options = {**config.get("training", {}), **({"seed": overrides["seed"]} if "seed" in overrides else {})}
    seed, fraction = int(options.get("seed", 0)), float(options.get("validation_split", 0.15))
    out = Path(out_dir)
    rank, world_size = world()
    say = Steps(progress, plan)
    steps = [{"name": s["name"], "params": dict(s.get("params") or {})} for s in config["pipeline"]]
    neural = [i for i, s in enumerate(steps) if is_neural(s["name"])]
    refit = wants_refit(options.get("refit", "auto"), bool(neural))
    searching = search_options(config, search_budget) if searchable(steps) else None
    say.expect(planned_steps(len(steps), fraction > 0, refit) + planned(searching) + bool(wants_folds(steps)))
    check_overrides(overrides, neural, steps, out)
    for s in steps:
        defaults = component_class(s["name"]).defaults
        s["params"].update({k: v for k, v in overrides.items()
                            if k in defaults and k not in ("resume", "time_budget_minutes")})
    say("loading corpus")
    data = load_corpus(data_paths)
    entity_only = not any(m.gold_intent for m in data.messages)
    if entity_only:  # entity annotations alone: the stages that learn intents and replies have nothing to learn
        steps = entity_stages(steps)
        neural = [i for i, s in enumerate(steps) if is_neural(s["name"])]

    validation: dict[str, Any] = {}
    held_out = None
    train_rows, val_rows = split(data, fraction, seed)
    searching = None if entity_only else searching
    say.expect(planned_steps(len(steps), bool(val_rows), refit) + planned(searching) + bool(wants_folds(steps)))
    search = run_search(steps, data, train_rows, searching, progress=say) if searching else None
    if search and not search.table:  # too small to cross-validate: the planned search steps are dropped
        say.expect(planned_steps(len(steps), bool(val_rows), refit) + bool(wants_folds(steps)))
    if search and search.chosen:
        apply(steps, search.chosen)  # the validation split stays unseen: the report scores the choice honestly
    if wants_folds(steps) and not entity_only:
        say("fallback thresholds: cross-validation")
    pooled = held_out_signals(steps, data, train_rows, seed) if not entity_only else None
    fits = len(neural) * (2 if val_rows and refit else 1)
    budget = Budget(overrides.get("time_budget_minutes"), fits, start=clock_start)
    resume = bool(overrides.get("resume"))
    if val_rows:
        phase = "validation" if refit else None
        held_out = fit(with_checkpoints(steps, neural, out, phase, resume), train_rows, data, budget, say,
                       "validation fit")
        say("tuning on validation split")
        val = fresh(val_rows)
        hand_over(held_out, pooled)
        tuned = held_out.tune(val)
        validation = evaluate_messages(val)
        validation["rows"] = len(val)
        for index, params in tuned.items():
            steps[index]["params"].update(params)
            held_out.steps[index]["params"].update(params)
            held_out.components[index].params.update(params)  # what a later process() reads, without a refit
    absorbed = 0
    if val_rows and not refit:
        pipeline = held_out
        # Components that can grow without retraining (retrieval indexes) take the validation rows
        # now that the validation report is written, so the split is not lost to them.
        absorbed = sum(c.absorb(val) for c in pipeline.components if hasattr(c, "absorb"))
    else:
        pipeline = fit(with_checkpoints(steps, neural, out, None, resume), data.messages, data, budget, say, "fit")
    if not val_rows and pooled:  # no validation split: the folds alone set the fallback thresholds
        hand_over(pipeline, pooled)
        index = next(i for i, step in enumerate(pipeline.steps) if step["name"] == "fallback_detector")
        pipeline.steps[index]["params"].update(pipeline.components[index].tune([]))
    files, data_hash = file_hashes(data_paths)
    chooser = held_out if val_rows else pipeline  # model selection ran in the validation fit
    classifier = next((c for c in chooser.components if hasattr(c, "cv_scores_")), None)
    tokenizer = pipeline.find("tokenizer")
    logs = {ModelDir.stage_name(i, pipeline.steps[i]["name"]): getattr(pipeline.components[i], "training_log_", {})
            for i in neural}
    histories = {name: entry.get("history", []) for name, entry in logs.items() if entry.get("history")}
    pipeline.meta = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config.get("name", "custom"),
        "entity_only": entity_only,
        "tokenizer": tokenizer.params["backend"] if tokenizer else None,
        "data": {"files": files, "sha256": data_hash, "rows": len(data.messages),
                 "intents": len([i for i in data.intents if i != OOD_LABEL]),
                 "ood_rows": sum(m.gold_intent == OOD_LABEL for m in data.messages)},
        "classifier": {"model": getattr(classifier, "model_", None),
                       "cv_macro_f1": getattr(classifier, "cv_scores_", {})},
        "search": search.to_dict() if search else None,
        "retrieval_matching": getattr(chooser.find("retrieval_responder"), "matching_scores_", None),
        "fallback": getattr(chooser.find("fallback_detector"), "tuning_", None),
        "validation": validation,
        "training": options,
        "refit": bool(val_rows and refit),  # False: the saved model is the validation fit
        "fit_rows": len(train_rows) if val_rows and not refit else len(data.messages),
        "absorbed_rows": absorbed,  # validation rows added to retrieval indexes after the report
        "overrides": overrides,
        "world_size": world_size,
        "neural": {name: {k: entry.get(k) for k in SUMMARY_KEYS} for name, entry in logs.items()},
        "loss_curve": LOSS_CURVE if histories else None,
        "evaluation": EVALUATION if val_rows else None,  # the validation split's report, predictions, matrix
        "capabilities": sorted(set(data.descriptions.values())),
        "versions": library_versions(),
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    if rank != 0:  # under torchrun, rank 0 alone writes the model directory
        return {"out_dir": str(out), **pipeline.meta}
    say("saving")
    portable_checkpoint_dirs(pipeline, neural, out)

    def extras(directory: Path) -> None:
        from training.evaluate import evaluate_dialogues, reply_sources, write_evaluation
        from training.plots import loss_curve_png

        if histories:
            loss_curve_png(histories, directory / LOSS_CURVE, title=f"{pipeline.meta['config']}: loss")
        if val_rows:  # the messages tune() processed: no second pass over the split
            report = {**validation, "split": "validation", "created_at": pipeline.meta["created_at"],
                      "search": pipeline.meta["search"], "fallback_tuning": pipeline.meta["fallback"],
                      "retrieval_matching": pipeline.meta["retrieval_matching"],
                      "reply_sources": reply_sources(val), "model": str(out), "data": [str(p) for p in data_paths]}
            if dialogues:  # the pipeline in memory is the one just saved in ``directory``
                report["dialogues"] = evaluate_dialogues(directory, dialogues, pipeline)
            write_evaluation(directory / EVALUATION, report, val, title=f"{out.name}: validation split")

    return {"out_dir": str(save_atomically(pipeline, out, extras=extras, keep_checkpoints=bool(neural))),
            **pipeline.meta}


def hand_over(pipeline: Pipeline, pooled: dict[str, Any] | None) -> None:
    """Give the pipeline's fallback detector the out-of-fold signals, for its ``tune`` to pool."""
    detector = pipeline.find("fallback_detector")
    if detector is not None and pooled:
        detector.held_out_ = pooled  # type: ignore[attr-defined]


def portable_checkpoint_dirs(pipeline: Pipeline, neural: list[int], out: Path) -> None:
    """Record each ``checkpoint_dir`` in the saved steps relative to the model directory.

    Training used absolute paths; saved as such they would name this machine's folders and go
    stale once the directory is moved, copied into a release or promoted."""
    root = out.resolve()
    for i in neural:
        directory = pipeline.steps[i]["params"].get("checkpoint_dir")
        if directory and Path(directory).is_relative_to(root):
            pipeline.steps[i]["params"]["checkpoint_dir"] = Path(directory).relative_to(root).as_posix()


def wants_refit(option: Any, neural: bool) -> bool:
    """``training.refit``: true, false, or auto (refit unless a network would be trained twice)."""
    value = str(option).strip().lower()
    if value not in ("auto", "true", "false"):
        raise ValueError(f"training.refit must be auto, true or false, got {option!r}")
    return not neural if value == "auto" else value == "true"


def check_overrides(overrides: dict[str, Any], neural: list[int], steps: list[dict], out: Path) -> None:
    """Fail before any work on flags that cannot be honoured, with the fix in the message."""
    if overrides.get("device") not in (None, "auto", "cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda, got {overrides['device']!r}")
    wants_cuda = [steps[i]["name"] for i in neural
                  if overrides.get("device", steps[i]["params"].get("device")) == "cuda"]
    if wants_cuda:
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"device cuda ({', '.join(wants_cuda)}): torch sees no CUDA GPU on this machine; "
                             "use --device cpu or auto")
    if overrides.get("pretrained") is not None:
        takers = [s["name"] for s in steps if "pretrained" in component_class(s["name"]).defaults]
        if not takers:
            raise ValueError("--pretrained: no component of this config takes a pretrained checkpoint; "
                             "use a BERT config (--config bert-intent)")
    missing = [s["name"] for s in steps if "pretrained" in component_class(s["name"]).defaults
               and not overrides.get("pretrained", s["params"].get("pretrained"))]
    if missing:
        raise ValueError(f"{', '.join(missing)} needs a pretrained checkpoint: add --pretrained PATH_OR_ID "
                         "(a folder from `python -m chatbot pretrain`, or a BERT-family checkpoint copied here)")
    if overrides.get("time_budget_minutes") is not None and float(overrides["time_budget_minutes"]) <= 0:
        raise ValueError("--time-budget must be a positive number of minutes")
    if overrides.get("resume"):
        if not neural:
            raise ValueError("--resume: this config has no neural component, so there is nothing to resume")
        if not ModelDir(out).has_checkpoints():
            raise FileNotFoundError(f"--resume: no checkpoint under {ModelDir(out).checkpoints}; "
                                    "train once without --resume first (with the same --out)")


def with_checkpoints(steps: list[dict], neural: list[int], out: Path, phase: str | None,
                     resume: bool) -> list[dict]:
    """Steps whose neural components checkpoint under ``<out>/checkpoints/[phase/]NN_name``.

    ``resume`` applies where a checkpoint exists: a run stopped during its second network resumes
    the second and does not redo the first."""
    copied = [{"name": s["name"], "params": dict(s["params"])} for s in steps]
    for i in neural:
        directory = ModelDir(out).checkpoint_dir(i, steps[i]["name"], phase).resolve()
        copied[i]["params"]["checkpoint_dir"] = str(directory)
        copied[i]["params"]["resume"] = resume and (directory / CHECKPOINT).is_file()
    return copied


def fit(steps: list[dict], rows: list[Message], data: TrainingData, budget: Budget,
        say: Callable[[str], None], label: str) -> Pipeline:
    """Fit a pipeline; each neural component gets its share of the time budget as it starts."""
    pipeline = Pipeline.from_config({"pipeline": steps})  # rejects stages in the wrong order
    order = iter(zip(pipeline.steps, pipeline.components, strict=True))

    def before(name: str) -> None:
        step, component = next(order)
        if "checkpoint_dir" in component.params and budget.end is not None:
            minutes = budget.share(component.params.get("time_budget_minutes"))
            component.params["time_budget_minutes"] = step["params"]["time_budget_minutes"] = minutes
        say(f"{label}: {name}")

    return pipeline.fit(data.with_messages(fresh(rows)), progress=before)


def save_atomically(pipeline: Pipeline, out_dir: Path, extras: Callable[[Path], None] | None = None,
                    keep_checkpoints: bool = False) -> Path:
    """Save ``pipeline`` to ``out_dir`` with ``ModelDir.write_atomically``, so a reader never sees half a model.

    ``extras(tmp)`` adds files (figures) before the swap; ``keep_checkpoints`` carries the old directory's
    checkpoints over, so a later ``--resume`` still finds them."""

    def fill(tmp: Path) -> None:
        pipeline.save(tmp)
        if extras:
            extras(tmp)

    return ModelDir(out_dir).write_atomically(fill, keep_checkpoints=keep_checkpoints)

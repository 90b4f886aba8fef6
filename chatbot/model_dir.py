"""The trained model directory: the one contract between ``training/`` (which writes it) and ``webui/``.

A model directory holds:

- ``pipeline.yaml``: the format version and the ``{name, params}`` list that built the pipeline;
- ``components/NN_name/``: each stage's learned state;
- ``meta.json``: what it was trained on, with which library versions, and how well it did;
- optionally ``checkpoints/NN_name/`` (neural training, for ``--resume``), ``loss_curve.png``, and the
  evaluation folder that ``meta.json`` names (``evaluation/``: report.json, predictions.jsonl,
  confusion_matrix.png).

Only this module names those files (sentence-transformers' ``save``/``load`` owning ``modules.json``);
everything else asks a ``ModelDir``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

FORMAT_VERSION = 1
PIPELINE = "pipeline.yaml"
META = "meta.json"
COMPONENTS = "components"
CHECKPOINTS = "checkpoints"
CHECKPOINT = "checkpoint.pt"  # the trainer's state inside a checkpoint folder (chatbot.models.trainer writes it)
LOSS_CURVE = "loss_curve.png"
EVALUATION = "evaluation"
REPORT = "report.json"
PREDICTIONS = "predictions.jsonl"
CONFUSION_MATRIX = "confusion_matrix.png"
VERSION_FILES = (PIPELINE, META)  # what a version hashes: the recipe and the training record


def train_hint(path: str | Path) -> str:
    """The command that makes a model directory at ``path``."""
    return f"python -m chatbot train --data data/corpus --out {path}"


class ModelNotFound(FileNotFoundError):
    """A directory that is not a trained model; the message says how to make one."""

    @staticmethod
    def reason(path: str | Path) -> str:
        """Why ``path`` is no model, without the fix (for logs that add the hint themselves)."""
        return f"No trained model in '{path}' (the directory or its {PIPELINE} is missing)"

    @classmethod
    def at(cls, path: str | Path) -> ModelNotFound:
        """The error for ``path``, naming the command that trains one there."""
        return cls(f"{cls.reason(path)}. Train one with: {train_hint(path)}")


class ModelDir:
    """A trained model directory: its file names, its version and identity, its atomic write and its summary."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ModelDir({str(self.path)!r})"

    # -- layout ------------------------------------------------------------------------------------
    @property
    def pipeline_file(self) -> Path:
        return self.path / PIPELINE

    @property
    def meta_file(self) -> Path:
        return self.path / META

    @staticmethod
    def stage_name(index: int, name: str) -> str:
        """``NN_name``: how a stage's folders (and its entries in the training record) are named."""
        return f"{index:02d}_{name}"

    def component_dir(self, index: int, name: str) -> Path:
        """Where stage ``index`` (named ``name``) keeps its learned state."""
        return self.path / COMPONENTS / self.stage_name(index, name)

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS

    def checkpoint_dir(self, index: int, name: str, phase: str | None = None) -> Path:
        """Where neural stage ``index`` checkpoints, under ``checkpoints/[phase/]NN_name``."""
        root = self.checkpoints / phase if phase else self.checkpoints
        return root / self.stage_name(index, name)

    def has_checkpoints(self) -> bool:
        """Whether any neural stage left a checkpoint to resume from."""
        return any(self.checkpoints.glob(f"**/{CHECKPOINT}"))

    def exists(self) -> bool:
        """Whether this is a trained model (its pipeline description is there)."""
        return self.pipeline_file.is_file()

    def require(self) -> ModelDir:
        """This directory, or ModelNotFound naming the command that trains one."""
        if not self.exists():
            raise ModelNotFound.at(self.path)
        return self

    # -- reading and writing the description ---------------------------------------------------------
    def write_config(self, steps: list[dict[str, Any]]) -> None:
        """Write the ``{name, params}`` steps with the format version."""
        self.path.mkdir(parents=True, exist_ok=True)
        config = {"version": FORMAT_VERSION, "pipeline": steps}
        self.pipeline_file.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")

    def read_config(self) -> list[dict[str, Any]]:
        """The ``{name, params}`` steps; ModelNotFound when absent, ValueError for another format version."""
        self.require()
        config = yaml.safe_load(self.pipeline_file.read_text(encoding="utf-8"))
        if config.get("version") != FORMAT_VERSION:
            raise ValueError(f"{self.pipeline_file}: unsupported model format version {config.get('version')}")
        return config["pipeline"]

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Write the training record."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.meta_file.write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")

    def read_meta(self) -> dict[str, Any]:
        """The training record, ``{}`` when there is none; a corrupt one raises ValueError."""
        if not self.meta_file.exists():
            return {}
        return json.loads(self.meta_file.read_text(encoding="utf-8"))

    def read_meta_quietly(self) -> dict[str, Any]:
        """The training record for display: ``{}`` when it is missing, unreadable or not an object."""
        meta = _read_json(self.meta_file)
        return meta if isinstance(meta, dict) else {}

    # -- version and identity ------------------------------------------------------------------------
    def version(self) -> str:
        """``<created_at as YYYYMMDDTHHMMSSZ>-<8 hex>``: the training time from the training record and a
        hash of the description and the record. It sorts by training time, is the same for a copy of the
        directory (so a release folder is named by it), and differs for every training run (the record
        holds the time, the data's hash and the validation figures)."""
        digest = hashlib.sha256()
        contents: dict[str, bytes] = {}
        for name in VERSION_FILES:
            with contextlib.suppress(OSError):
                contents[name] = (self.path / name).read_bytes()
                digest.update(name.encode() + b"\0" + contents[name] + b"\0")
        short = digest.hexdigest()[:8]
        stamp = _created_stamp(contents.get(META))
        return f"{stamp}-{short}" if stamp else short
    def identity(self) -> tuple[str, tuple] | None:
        """``(resolved directory, identity key)`` for the model the path names now, or None when there is none.

        The key is the resolved directory's device and inode plus the description's and the record's
        mtime and size: a new link target, a directory renamed into place, or a rewritten model all
        change it, and renaming a directory (into the releases) does not. Cheap: a realpath and three
        ``stat`` calls, no reads."""
        try:
            resolved = os.path.realpath(self.path)
            folder = os.stat(resolved)
            pipeline = os.stat(os.path.join(resolved, PIPELINE))
        except OSError:
            return None
        try:
            meta = os.stat(os.path.join(resolved, META))
            meta_key = (meta.st_mtime_ns, meta.st_size)
        except OSError:
            meta_key = (0, 0)
        return resolved, (folder.st_dev, folder.st_ino, pipeline.st_mtime_ns, pipeline.st_size, *meta_key)

    # -- the atomic write ----------------------------------------------------------------------------
    def write_atomically(self, fill: Callable[[Path], None], keep_checkpoints: bool = False) -> Path:
        """Let ``fill(tmp)`` write a sibling temp directory, then swap it in, so a reader never sees half a model.

        If ``fill`` fails, the temp directory is removed and the old model is left as it was. With
        ``keep_checkpoints`` the old directory's checkpoints move into the new one, so a later
        ``--resume`` still finds them.

        The path may be a symlink to a promoted release (``python -m chatbot promote``): the link is
        then replaced by the new plain directory and the release is left exactly as it was (its
        checkpoints are copied, not moved), so it stays available to ``promote --rollback``."""
        out = self.path
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp-{int(time.time() * 1000)}")
        try:
            fill(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        linked = out.is_symlink()
        if keep_checkpoints and self.checkpoints.is_dir():
            if linked:
                shutil.copytree(self.checkpoints, tmp / CHECKPOINTS)
            else:
                self.checkpoints.rename(tmp / CHECKPOINTS)
        old = out.with_name(f".{out.name}.old-{int(time.time() * 1000)}")
        if linked or out.exists():
            out.rename(old)  # a link is renamed itself, not the release it points to
        tmp.rename(out)
        if linked:
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)
        return out

    # -- the summary and the evaluation --------------------------------------------------------------
    def evaluation_dir(self, meta: dict[str, Any] | None = None) -> Path | None:
        """The evaluation folder the training record names (default ``evaluation``), when it exists
        inside the model directory."""
        meta = meta if meta is not None else self.read_meta_quietly()
        named = meta.get("evaluation")
        name = named if isinstance(named, str) else EVALUATION
        root = os.path.realpath(self.path)
        path = Path(os.path.realpath(self.path / name))
        if os.path.commonpath([root, path]) != root or path == Path(root) or not path.is_dir():
            return None  # a name pointing elsewhere is not followed
        return path

    @staticmethod
    def headline(meta: dict[str, Any]) -> dict[str, Any]:
        """The headline figures of a training record: when, how much data, and the validation scores."""
        data = meta["data"] if isinstance(meta.get("data"), dict) else {}
        intent = _intent(meta.get("validation") if isinstance(meta.get("validation"), dict) else None)
        return {"created_at": meta.get("created_at"), "rows": data.get("rows"), "intents": data.get("intents"),
                "validation_accuracy": intent.get("accuracy"), "validation_macro_f1": intent.get("macro_f1")}

    def summary(self) -> dict[str, Any] | None:
        """Headline figures, version and evaluation of the model, without loading it; None without a record.

        ``report`` is the evaluation folder's report.json when the model has one, else the validation
        figures from the record (``report_source`` says which), so a model trained before evaluation
        reports still shows its figures."""
        if not self.meta_file.is_file():
            return None
        meta = self.read_meta_quietly()
        folder = self.evaluation_dir(meta)
        evaluation = _read_json(folder / REPORT) if folder else None
        evaluation = evaluation if isinstance(evaluation, dict) else None
        validation = meta.get("validation") if isinstance(meta.get("validation"), dict) else {}
        report = evaluation or validation or None
        eval_intent = _intent(evaluation)
        matrix = folder / CONFUSION_MATRIX if folder else None
        predictions = folder / PREDICTIONS if folder else None
        return {
            "version": self.version(), **self.headline(meta), "eval_accuracy": eval_intent.get("accuracy"),
            "eval_macro_f1": eval_intent.get("macro_f1"), "report": report,
            "report_source": "evaluation" if evaluation else ("validation" if validation else None),
            "per_class": _intent(report).get("per_class") or {},
            "confusion_matrix": matrix if matrix is not None and matrix.is_file() else None,
            "predictions": predictions if predictions is not None and predictions.is_file() else None,
        }


def _created_stamp(meta: bytes | None) -> str:
    """The training record's ``created_at`` as ``YYYYMMDDTHHMMSSZ``; empty when it has none."""
    try:
        when = datetime.fromisoformat(str(json.loads(meta or b"").get("created_at")))
    except (ValueError, TypeError, AttributeError):
        return ""
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.strftime("%Y%m%dT%H%M%SZ")


def _intent(report: dict[str, Any] | None) -> dict[str, Any]:
    intent = (report or {}).get("intent")
    return intent if isinstance(intent, dict) else {}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

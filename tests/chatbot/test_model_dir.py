"""ModelDir, the one owner of the trained model directory: not-found error, version, identity,
atomic write, summary."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from chatbot.model_dir import CHECKPOINT, FORMAT_VERSION, ModelDir, ModelNotFound, train_hint
from chatbot.pipeline import ModelNotFound as PipelineModelNotFound
from chatbot.pipeline import Pipeline

STEPS = [{"name": "normalizer", "params": {}}]
VALIDATION = {"intent": {"accuracy": 0.8, "macro_f1": 0.75, "per_class": {"greet": {"f1": 0.9}}}}


def hand_made(path: Path, created_at: str = "2025-01-02T03:04:05+00:00", **meta: object) -> ModelDir:
    """A model directory with a description and a training record (no component state: never loaded)."""
    model = ModelDir(path)
    model.write_config(STEPS)
    model.write_meta({"created_at": created_at, "data": {"rows": 40, "intents": 4}, "validation": VALIDATION,
                      **meta})
    return model


def test_a_missing_model_says_how_to_train_one(tmp_path):
    with pytest.raises(ModelNotFound) as excinfo:
        ModelDir(tmp_path / "nothing").require()
    message = str(excinfo.value)
    assert str(tmp_path / "nothing") in message
    assert train_hint(tmp_path / "nothing") in message
    assert "python -m chatbot train --data data/corpus --out" in message
    assert issubclass(ModelNotFound, FileNotFoundError)
    assert PipelineModelNotFound is ModelNotFound  # one class, importable from both modules


def test_pipeline_load_raises_the_same_error(tmp_path):
    with pytest.raises(ModelNotFound, match="Train one with"):
        Pipeline.load(tmp_path)


def test_require_and_exists(tmp_path):
    assert not ModelDir(tmp_path).exists()
    model = hand_made(tmp_path / "m")
    assert model.exists() and model.require() is model


def test_config_round_trip_and_format_version(tmp_path):
    model = hand_made(tmp_path / "m")
    assert model.read_config() == STEPS
    model.pipeline_file.write_text(f"version: {FORMAT_VERSION + 1}\npipeline: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unsupported model format version"):
        model.read_config()


def test_stage_folders_are_numbered(tmp_path):
    model = ModelDir(tmp_path)
    assert model.component_dir(3, "classifier") == tmp_path / "components" / "03_classifier"
    assert model.checkpoint_dir(5, "seq2seq") == tmp_path / "checkpoints" / "05_seq2seq"
    assert model.checkpoint_dir(5, "seq2seq", "validation") == tmp_path / "checkpoints" / "validation" / "05_seq2seq"
    assert not model.has_checkpoints()
    model.checkpoint_dir(5, "seq2seq").mkdir(parents=True)
    (model.checkpoint_dir(5, "seq2seq") / CHECKPOINT).write_bytes(b"x")
    assert model.has_checkpoints()


def test_checkpoint_file_name_matches_the_trainer():
    pytest.importorskip("torch")
    from chatbot.models.trainer import CHECKPOINT as TRAINER_CHECKPOINT

    assert CHECKPOINT == TRAINER_CHECKPOINT


def test_version_is_stable_across_a_copy_and_changes_with_the_record(tmp_path):
    model = hand_made(tmp_path / "a")
    version = model.version()
    assert version.startswith("20250102T030405Z-") and len(version) == len("20250102T030405Z-") + 8
    shutil.copytree(model.path, tmp_path / "copy")
    assert ModelDir(tmp_path / "copy").version() == version
    assert model.version() == version  # reading does not change it
    model.write_meta({**model.read_meta(), "validation": {"intent": {"accuracy": 0.81}}})
    assert model.version() != version
    retrained = hand_made(tmp_path / "b", created_at="2025-01-03T00:00:00+00:00")
    assert retrained.version() > version  # a later training sorts later


def test_version_without_a_training_time_is_the_hash_alone(tmp_path):
    model = ModelDir(tmp_path)
    model.write_config(STEPS)
    assert len(model.version()) == 8


def test_identity_changes_when_the_model_is_rewritten_not_when_read(tmp_path):
    model = hand_made(tmp_path / "m")
    first = model.identity()
    assert first is not None and first[0] == os.path.realpath(model.path)
    model.summary()
    assert model.identity() == first
    model.write_atomically(lambda tmp: hand_made(tmp, created_at="2025-02-01T00:00:00+00:00"))
    assert model.identity() != first
    assert ModelDir(tmp_path / "none").identity() is None


def test_identity_follows_a_link(tmp_path):
    a, b = hand_made(tmp_path / "a"), hand_made(tmp_path / "b", created_at="2025-03-01T00:00:00+00:00")
    link = tmp_path / "served"
    link.symlink_to(a.path)
    before = ModelDir(link).identity()
    assert before == a.identity()
    link.unlink()
    link.symlink_to(b.path)
    assert ModelDir(link).identity() == b.identity() != before


def test_atomic_write_replaces_the_model_whole(tmp_path):
    model = hand_made(tmp_path / "m")
    old_version = model.version()
    result = model.write_atomically(lambda tmp: hand_made(tmp, created_at="2025-05-05T00:00:00+00:00"))
    assert result == model.path and model.version() != old_version
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temp or old sibling left


def test_a_failed_atomic_write_leaves_no_half_directory_and_the_old_model(tmp_path):
    model = hand_made(tmp_path / "m")
    version = model.version()

    def half(tmp: Path) -> None:
        ModelDir(tmp).write_config(STEPS)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        model.write_atomically(half)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    assert model.version() == version


def test_atomic_write_keeps_checkpoints_when_asked(tmp_path):
    model = hand_made(tmp_path / "m")
    model.checkpoint_dir(1, "seq2seq").mkdir(parents=True)
    (model.checkpoint_dir(1, "seq2seq") / CHECKPOINT).write_bytes(b"weights")
    model.write_atomically(lambda tmp: hand_made(tmp), keep_checkpoints=True)
    assert (model.checkpoint_dir(1, "seq2seq") / CHECKPOINT).read_bytes() == b"weights"
    model.write_atomically(lambda tmp: hand_made(tmp))
    assert not model.has_checkpoints()


def test_atomic_write_over_a_link_leaves_the_release(tmp_path):
    release = hand_made(tmp_path / "release")
    version = release.version()
    served = tmp_path / "served"
    served.symlink_to(release.path)
    ModelDir(served).write_atomically(lambda tmp: hand_made(tmp, created_at="2025-06-01T00:00:00+00:00"))
    assert not served.is_symlink() and ModelDir(served).version() != version
    assert release.version() == version


def test_headline_reads_the_training_record():
    meta = {"created_at": "t", "data": {"rows": 40, "intents": 4}, "validation": VALIDATION}
    assert ModelDir.headline(meta) == {"created_at": "t", "rows": 40, "intents": 4, "validation_accuracy": 0.8,
                                       "validation_macro_f1": 0.75}
    assert ModelDir.headline({}) == {"created_at": None, "rows": None, "intents": None,
                                     "validation_accuracy": None, "validation_macro_f1": None}


def test_summary_without_an_evaluation_uses_the_validation_figures(tmp_path):
    model = hand_made(tmp_path / "m")
    summary = model.summary()
    assert summary["version"] == model.version() and (summary["rows"], summary["intents"]) == (40, 4)
    assert summary["validation_accuracy"] == 0.8 and summary["eval_accuracy"] is None
    assert summary["report_source"] == "validation" and summary["per_class"] == {"greet": {"f1": 0.9}}
    assert summary["confusion_matrix"] is None and summary["predictions"] is None


def test_summary_reads_the_evaluation_folder_the_record_names(tmp_path):
    model = hand_made(tmp_path / "m", evaluation="evaluation")
    folder = model.path / "evaluation"
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps({"intent": {"accuracy": 0.9, "macro_f1": 0.85}}))
    (folder / "confusion_matrix.png").write_bytes(b"png")
    (folder / "predictions.jsonl").write_text("{}\n")
    summary = model.summary()
    assert (summary["eval_accuracy"], summary["eval_macro_f1"], summary["report_source"]) == (0.9, 0.85, "evaluation")
    assert summary["confusion_matrix"] == folder / "confusion_matrix.png"
    assert summary["predictions"] == folder / "predictions.jsonl"
    assert model.evaluation_dir() == folder


def test_summary_does_not_follow_an_evaluation_name_outside_the_model(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    model = hand_made(tmp_path / "m", evaluation="../elsewhere")
    assert model.evaluation_dir() is None and model.summary()["report_source"] == "validation"


def test_summary_is_none_without_a_record(tmp_path):
    model = ModelDir(tmp_path)
    model.write_config(STEPS)
    assert model.summary() is None


def test_summary_of_a_trained_model(tiny_model_dir):
    summary = ModelDir(tiny_model_dir).summary()
    meta = ModelDir(tiny_model_dir).read_meta()
    assert summary["rows"] == meta["data"]["rows"] and summary["report_source"] == "evaluation"
    assert summary["eval_accuracy"] == meta["validation"]["intent"]["accuracy"]

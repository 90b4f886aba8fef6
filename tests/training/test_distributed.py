"""``torchrun --nproc_per_node=2 -m chatbot train``: two CPU processes (gloo) train one model with DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
if not torch.distributed.is_available():
    pytest.skip("this torch build has no torch.distributed", allow_module_level=True)

from chatbot.bot import Bot  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
SEQ2SEQ = "04_seq2seq_responder"


def test_two_process_ddp_smoke(tiny_corpus, neural_config, tmp_path):
    out = tmp_path / "model"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
               "-m", "chatbot", "train", "--data", str(tiny_corpus("yaml")), "--out", str(out),
               "--config", str(neural_config()), "--device", "cpu", "--seed", "0"]
    result = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", cwd=REPO_ROOT, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]

    summary = json.loads(result.stdout)  # rank 0 alone prints: one JSON document
    assert summary["world_size"] == 2
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["world_size"] == 2
    log = meta["neural"][SEQ2SEQ]
    assert log["world_size"] == 2 and log["device"] == "cpu" and log["stopped_by"] == "epochs"
    assert log["steps"] > 0 and log["best_validation_loss"] > 0

    assert [p.name for p in tmp_path.iterdir() if p.name != "corpus" and not p.name.endswith(".yaml")] == ["model"]
    checkpoints = [p.relative_to(out / "checkpoints").as_posix() for p in (out / "checkpoints").rglob("*")
                   if p.is_file()]
    assert sorted(checkpoints) == [f"{SEQ2SEQ}/checkpoint.pt", f"{SEQ2SEQ}/checkpoint.safetensors"]  # rank 0's only
    assert Bot.load(out).reply("매운 음식 추천해 줘").text


def test_two_process_pretrain_smoke(tmp_path):
    """``torchrun --nproc_per_node=2 -m chatbot pretrain``: rank 0 writes the vocabulary and the folder."""
    from tests.training.test_pretrain import LINES, TINY

    lines = tmp_path / "lines.txt"
    lines.write_text("\n".join(LINES * 3) + "\n", encoding="utf-8")
    out = tmp_path / "bert"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
               "-m", "chatbot", "pretrain", *TINY, "--data", str(lines), "--out", str(out), "--epochs", "2",
               "--device", "cpu"]
    result = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", cwd=REPO_ROOT, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    summary = json.loads(result.stdout)  # rank 0 alone prints one JSON document
    meta = json.loads((out / "pretraining.json").read_text(encoding="utf-8"))
    # 42 lines in batches of 8 make 6 batches an epoch, shared by the two ranks: 3 steps each.
    assert summary["steps"] == meta["steps"] == 6
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    from chatbot.models.bert import load_model

    assert load_model(str(out), "masked_lm").config.hidden_size == 32

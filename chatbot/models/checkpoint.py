"""A training checkpoint that resumes exactly: weights in safetensors, the rest in a torch file.

``CHECKPOINT`` (its name owned by ``chatbot.model_dir``, which looks for it) holds what exact resumption
needs besides the weights: optimiser moments, scheduler, scaler, step and history, RNG states, as
plain tensors and numbers that load with ``weights_only=True``. ``CHECKPOINT_WEIGHTS`` holds the
current and best weights. The two share a token, so a pair cut off between its writes is refused.
"""

from __future__ import annotations

import pickle
import random
import time
from pathlib import Path

import numpy as np
import torch

CHECKPOINT_WEIGHTS = "checkpoint.safetensors"


def save_checkpoint(path: Path, model, optimizer, scheduler, scaler, state, best_weights) -> None:
    """The weights to safetensors, the rest to a torch file of plain tensors and numbers; both or neither.

    The optimiser's state is a nested structure keyed by parameter index, which torch's own format
    keeps as it is; the files share a token, so a crash between the two renames is found on resuming."""
    from chatbot.models.weights import save_weights

    path.parent.mkdir(parents=True, exist_ok=True)
    token = f"{state['step']}-{time.time_ns()}"
    name, keys, *rest = np.random.get_state()  # the legacy tuple form (legacy=True), never the dict
    tmp = path.with_suffix(".tmp")
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(), "state": state, "weights_token": token,
                "torch_rng": torch.get_rng_state(), "numpy_rng": (name, keys.tolist(), *rest),  # type: ignore[attr-defined]  # stubs type the tuple loosely
                "python_rng": random.getstate()}, tmp)
    weights = {**{f"model.{k}": v for k, v in model.state_dict().items()},
               **{f"best.{k}": v for k, v in best_weights.items()}}
    save_weights(path.with_name(CHECKPOINT_WEIGHTS), weights, {"token": token})
    tmp.replace(path)  # a crash mid-write never leaves a broken checkpoint


def load_checkpoint(path: Path, model, optimizer, scheduler, scaler, state, device) -> dict:
    """Restore everything ``save_checkpoint`` wrote into the given objects; the best weights so far.

    A checkpoint of an older version, half a pair, or one cut off between the two writes is a
    ValueError that says to train again without ``--resume``."""
    from chatbot.models.weights import load_weights

    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
        tensors, header = load_weights(path.with_name(CHECKPOINT_WEIGHTS), device)
    except (pickle.UnpicklingError, FileNotFoundError) as exc:  # a pickle of an older version, or half a pair
        raise ValueError(f"--resume: the checkpoint in {path.parent} is incomplete or from an older version; "
                         "train again without --resume") from exc
    if header.get("token") != checkpoint.get("weights_token"):
        raise ValueError(f"--resume: the checkpoint in {path.parent} was cut off while it was written; "
                         "train again without --resume")
    weights = {prefix: {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
               for prefix in ("model", "best")}
    try:
        model.load_state_dict(weights["model"])
    except RuntimeError as exc:  # other layer sizes: a user error, said in one line rather than a tensor dump
        raise ValueError(f"--resume: the checkpoint in {path.parent} was trained with other options (model size, "
                         "input size, classes...); repeat the first run's options or leave out --resume") from exc
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    if checkpoint.get("scaler"):
        scaler.load_state_dict(checkpoint["scaler"])
    state.update(checkpoint["state"])
    if "best_criterion" not in checkpoint["state"]:  # a checkpoint from before score-based selection
        state["best_criterion"] = state["min_loss"] = state["best_loss"]
    torch.set_rng_state(checkpoint["torch_rng"].cpu())  # map_location moved it; the state lives on the CPU
    name, keys, *rest = checkpoint["numpy_rng"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), *rest))
    random.setstate(checkpoint["python_rng"])
    return weights["best"]

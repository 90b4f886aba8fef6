"""Network weights on disk: safetensors, the one format of every torch weight a model directory holds.

Loading a safetensors file runs no code (a ``torch.save`` pickle can), and a small JSON header rides
in the same file: what a network needs to be rebuilt (its config) before the weights go in. Tied
weights (one tensor under two names, such as shared embeddings) are stored once and named again on
loading. Model directories from before this format keep loading: ``load_network`` falls back to the
old ``NAME.pt`` (``{"state_dict": ..., **header}``), read with ``weights_only=True``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

SUFFIX = ".safetensors"
LEGACY_SUFFIX = ".pt"


def save_weights(path: str | Path, tensors: Mapping[str, torch.Tensor], header: dict[str, Any] | None = None) -> None:
    """Write ``tensors`` (a state dict) and a JSON ``header`` to ``path``; a crash mid-write leaves the old file."""
    path = Path(path)
    stored: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple, str] = {}
    for key, tensor in tensors.items():
        tensor = tensor.detach()
        identity = (tensor.data_ptr(), tensor.dtype, tuple(tensor.shape), tuple(tensor.stride()), str(tensor.device))
        if tensor.numel() and identity in seen:
            aliases[key] = seen[identity]
            continue
        seen[identity] = key
        # a copy of its own: safetensors refuses tensors that share memory, and views of larger storage
        stored[key] = tensor.to("cpu", copy=True).contiguous()
    metadata = {"format": "pt", "header": json.dumps(header or {}, ensure_ascii=False), "aliases": json.dumps(aliases)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(stored, tmp, metadata=metadata)
    os.replace(tmp, path)


def load_weights(path: str | Path, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict]:
    """Read a file that ``save_weights`` wrote (or any safetensors file): ``(state dict, header)``."""
    with safe_open(str(path), framework="pt", device=str(device)) as f:
        tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
        metadata = f.metadata() or {}
    for key, original in json.loads(metadata.get("aliases", "{}")).items():
        tensors[key] = tensors[original]
    return tensors, json.loads(metadata.get("header", "{}"))


def load_network(directory: Path, stem: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(state dict, header)`` from ``directory/stem.safetensors``, else from the older ``stem.pt``."""
    path = directory / f"{stem}{SUFFIX}"
    if path.exists():
        return load_weights(path)
    legacy = directory / f"{stem}{LEGACY_SUFFIX}"
    if legacy.exists():
        saved = torch.load(legacy, map_location="cpu", weights_only=True)
        return saved.pop("state_dict"), saved
    raise FileNotFoundError(f"{directory} has no {path.name} (nor an older {legacy.name}): "
                            "the model directory is incomplete; train the model again")

"""What the training sub-commands share: the ``--time-budget`` argument type and the ``torchrun`` session.

Below ``training/cli.py`` and the ``*_cli.py`` modules, so that they import it rather than each other.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager


def minutes(text: str) -> float:
    """``--time-budget``: a positive number of minutes."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 minutes, got {text}")
    return value


@contextmanager
def distributed_session(device: str | None) -> Iterator[int]:
    """Under ``torchrun`` (WORLD_SIZE > 1) start the process group for the trainer's DDP; yield the rank.

    gloo for CPU training; with a GPU, NCCL for CUDA tensors (gloo stays for any CPU ones, so a
    config that pins a component to the CPU still works), one GPU per local rank."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        yield 0
        return
    import torch
    import torch.distributed as dist

    if device != "cpu" and torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("cpu:gloo,cuda:nccl")
    else:
        dist.init_process_group("gloo")
    try:
        yield dist.get_rank()
    finally:
        dist.destroy_process_group()

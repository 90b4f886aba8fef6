"""One training loop for the neural components (seq2seq, TextCNN, BiLSTM).

The caller gives a model, datasets, a ``collate`` function and a ``loss_fn(model, batch)``; this
module does the rest the same way for all of them:
- AdamW with linear warm-up then linear decay, gradient clipping;
- autocast on CUDA: bf16 where the GPU supports it, else fp16 with a gradient scaler;
- early stopping on validation loss, or on a validation score from ``score_fn`` (higher is
  better, such as BLEU of greedy replies), and the best weights kept in memory and on disk;
- a checkpoint every ``checkpoint_every`` steps that ``resume`` continues from exactly: the
  current and best weights in ``checkpoint.safetensors``, and in ``checkpoint.pt`` what exact
  resumption needs besides (optimiser moments, scheduler, scaler, step and history, RNG states),
  plain tensors and numbers that load with ``weights_only=True``;
- a wall-clock ``time_budget`` for this call, after which it stops cleanly with the best model so far;
- batches drawn at random (``RandomSampler``), or by the caller's ``batch_sampler`` (such as
  length bucketing, which pads less), whose ``set_epoch(epoch)`` fixes each epoch's batches;
- DistributedDataParallel when ``torch.distributed`` is initialised (``torchrun``): a
  DistributedSampler shards the data (a ``batch_sampler`` shards its own batches), rank 0 alone
  writes checkpoints and logs, and every stop decision is taken together (validation loss is
  reduced over the ranks, the time-budget flag too), so no rank waits forever on another that
  has stopped.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, Subset

from chatbot.model_dir import CHECKPOINT
from chatbot.models.checkpoint import load_checkpoint, save_checkpoint
from chatbot.progress import report

# CHECKPOINT (named by the model directory): the training state; written last, it marks a complete checkpoint.


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 200
    clip_norm: float = 1.0
    patience: int = 3  # evaluations without improvement before stopping
    eval_every: int = 0  # steps; 0 = once per epoch
    checkpoint_every: int = 500  # steps; 0 = only at the end of each epoch
    time_budget_minutes: float | None = None  # for this call: a resumed run gets the whole budget again
    seed: int = 0
    device: str = "auto"  # "auto", "cpu" or "cuda"
    progress: bool = True
    num_workers: int = 0  # DataLoader worker processes (decoding and augmenting images off the training loop)


@dataclass
class TrainResult:
    best_validation_loss: float
    best_step: int
    steps: int
    stopped_by: str  # "epochs", "early_stopping" or "time_budget"
    seconds: float  # training time over all runs of a resumed training
    history: list[dict[str, float]] = field(default_factory=list)
    seconds_to_best: float = 0.0
    device: str = "cpu"
    precision: str = "fp32"  # "fp32", "bf16" or "fp16"
    world_size: int = 1
    resumed_from: int = 0  # the step a resumed run started at (0 for a fresh run)
    best_validation_score: float | None = None  # with a score_fn: its value at the best step
    examples_per_second: float = 0.0  # training examples over all ranks per second of this call's training
    peak_gpu_memory_mib: float | None = None  # torch.cuda.max_memory_allocated on this rank (CUDA only)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA GPU on this machine")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def distributed() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside ``torchrun``."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def warmup_linear_decay(warmup: int, total: int,
                        time_used: Callable[[], float] | None = None) -> Callable[[int], float]:
    """Learning-rate factor: linear warm-up over ``warmup`` steps, then linear decay to 0.

    The decay follows the steps, or ``time_used()`` (the share of a time budget spent, 0..1) when
    that is further along: a run that the budget will stop long before its last epoch still
    anneals to a small learning rate instead of stopping at a high one."""
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        done = (step - warmup) / max(1, total - warmup)
        if time_used is not None:
            done = max(done, time_used())
        return max(0.0, 1.0 - done)
    return factor


# A torch Dataset or a plain list of examples: DataLoader takes both, but torch's annotations name only
# Dataset (and no Sized), so the examples type as Any.
Examples = Any


def train(model: nn.Module, train_data: Examples, validation_data: Examples, collate: Callable | None,
          loss_fn: Callable[[nn.Module, Any, int], torch.Tensor], config: TrainConfig,
          out_dir: str | Path | None = None, resume: bool = False,
          score_fn: Callable[[nn.Module], float] | None = None, batch_sampler: Any = None) -> TrainResult:
    """Train ``model`` in place; it ends holding the best validation weights.

    ``loss_fn(model, batch, step)`` returns the mean loss of a batch already on the device (the
    step lets a loss follow a schedule, such as teacher forcing). ``score_fn(model)``, when given,
    scores the model (in eval mode, on its device) at each evaluation, higher being better; the
    best step then follows the score instead of the loss, and early stopping waits until neither
    the score nor the loss has improved for ``patience`` evaluations (a score from a small
    validation set can peak by luck early on, while the loss still shows the model learning).
    It must give every rank the same number (score the whole validation set, deterministically).

    ``batch_sampler``, when given, replaces the random sampler: an iterable of index lists with
    ``len()`` (batches per epoch on this rank) and ``set_epoch(epoch)``, after which it yields the
    same batches every time. A resumed epoch then starts at its next batch without collating the
    ones before it, so a collate that draws random numbers (MLM masks) continues exactly."""
    rank, world = distributed()
    device = resolve_device(config.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", torch.cuda.current_device())
    seed_everything(config.seed)
    model.to(device)
    wrapped = model
    if world > 1:
        device_ids = [device.index] if device.type == "cuda" else None
        wrapped = nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    sampler: DistributedSampler | RandomSampler
    sampler = (DistributedSampler(train_data, num_replicas=world, rank=rank, seed=config.seed) if world > 1
               else RandomSampler(train_data, generator=torch.Generator().manual_seed(config.seed)))
    loader = DataLoader(train_data, batch_size=config.batch_size, sampler=sampler, collate_fn=collate,
                        num_workers=config.num_workers)
    steps_per_epoch = max(1, len(batch_sampler if batch_sampler is not None else loader))
    total_steps = steps_per_epoch * config.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    clock = {"start": time.monotonic()}  # reset below when training starts; the budget's clock is this call's
    budget = config.time_budget_minutes * 60 if config.time_budget_minutes else None
    # Under DDP the ranks' clocks differ, and so would their learning rates: the decay follows steps there.
    time_used = (lambda: (time.monotonic() - clock["start"]) / budget) if budget and world == 1 else None
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_linear_decay(config.warmup_steps, total_steps, time_used))
    autocast, scaler, precision = _precision(device)
    eval_every = config.eval_every or steps_per_epoch
    state: dict[str, Any] = {"step": 0, "best_loss": math.inf, "best_step": 0, "bad_evals": 0, "history": [],
                             "elapsed": 0.0, "seconds_to_best": 0.0, "best_criterion": math.inf, "best_score": None,
                             "min_loss": math.inf}
    best_weights = copy.deepcopy(model.state_dict())
    out = Path(out_dir) if out_dir else None
    if resume:
        if out is None or not (out / CHECKPOINT).is_file():
            raise FileNotFoundError(f"--resume: no {CHECKPOINT} in {out}")
        best_weights = load_checkpoint(out / CHECKPOINT, model, optimizer, scheduler, scaler, state, device)
    resumed_from = state["step"]
    started = time.monotonic() - state["elapsed"]  # the log's clock runs on over resumes
    run_started = clock["start"] = time.monotonic()  # the budget's clock is this call's
    seen = 0  # training examples this call has stepped through on this rank
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    stopped_by = "epochs"
    running = [0.0, 0]  # train loss sum and batches since the last evaluation
    progress = _progress(total_steps, state["step"], enabled=config.progress and rank == 0)
    epoch = state["step"] // steps_per_epoch
    skip = state["step"] % steps_per_epoch  # batches already seen in a resumed epoch
    while epoch < config.epochs and stopped_by == "epochs":
        epoch_loader, first = loader, 0
        if batch_sampler is not None:
            epoch_loader, first = _resumable_epoch(train_data, collate, batch_sampler, epoch, skip), skip
        elif isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)
        else:
            sampler.generator.manual_seed(config.seed + epoch)  # same order after a resume
        wrapped.train()
        for i, batch in enumerate(epoch_loader, start=first):
            if i < skip:
                continue
            loss = _step(wrapped, batch, loss_fn, state["step"], optimizer, scheduler, scaler, config, device,
                         autocast)
            seen += _batch_size(batch)
            running = [running[0] + loss, running[1] + 1]
            state["step"] += 1
            progress.update(1)
            progress.set_postfix(loss=f"{loss:.3f}")
            if rank == 0:
                report(state["step"], total_steps)
            if state["step"] % eval_every == 0 or i == steps_per_epoch - 1:
                validation_loss = evaluate_loss(model, validation_data, collate, loss_fn, config, device, autocast)
                train_loss = _mean_over_ranks(running[0], running[1], device)
                running = [0.0, 0]
                elapsed = time.monotonic() - started
                entry = {"step": state["step"], "train_loss": train_loss, "validation_loss": validation_loss,
                         "seconds": round(elapsed, 2)}
                criterion = validation_loss
                if score_fn is not None:
                    entry["validation_score"] = score = _score(model, score_fn)
                    criterion = -score
                state["history"].append(entry)
                loss_improved = validation_loss < state["min_loss"]
                state["min_loss"] = min(state["min_loss"], validation_loss)
                if criterion < state["best_criterion"]:
                    state.update(best_loss=validation_loss, best_step=state["step"], bad_evals=0,
                                 seconds_to_best=round(elapsed, 2), best_criterion=criterion,
                                 best_score=entry.get("validation_score"))
                    best_weights = copy.deepcopy(model.state_dict())
                elif score_fn is not None and loss_improved:
                    state["bad_evals"] = 0  # the score has not caught up yet, but the model is still learning
                else:
                    state["bad_evals"] += 1
                if state["bad_evals"] >= config.patience:  # the same on every rank: the loss is reduced
                    stopped_by = "early_stopping"
            if out and rank == 0 and config.checkpoint_every and state["step"] % config.checkpoint_every == 0:
                state["elapsed"] = time.monotonic() - started
                save_checkpoint(out / CHECKPOINT, model, optimizer, scheduler, scaler, state, best_weights)
            if budget is not None and stopped_by == "epochs":
                over = time.monotonic() - run_started >= budget
                if _any_rank(over, device, world):  # ranks' clocks differ; they must stop at the same step
                    stopped_by = "time_budget"
            if stopped_by != "epochs":
                break
        skip = 0
        epoch += 1
    progress.close()
    if not state["history"]:  # stopped before the first evaluation: measure what we have
        state["best_loss"] = evaluate_loss(model, validation_data, collate, loss_fn, config, device, autocast)
        state["best_score"] = _score(model, score_fn) if score_fn is not None else None
        state["best_step"] = state["step"]
        best_weights = copy.deepcopy(model.state_dict())
    state["elapsed"] = time.monotonic() - started
    if out and rank == 0:
        save_checkpoint(out / CHECKPOINT, model, optimizer, scheduler, scaler, state, best_weights)
    model.load_state_dict(best_weights)
    return TrainResult(best_validation_loss=float(state["best_loss"]), best_step=state["best_step"],
                       steps=state["step"], stopped_by=stopped_by, seconds=round(state["elapsed"], 2),
                       history=state["history"], seconds_to_best=state["seconds_to_best"], device=str(device),
                       precision=precision, world_size=world, resumed_from=resumed_from,
                       best_validation_score=state.get("best_score"),
                       examples_per_second=round(seen * world / max(time.monotonic() - run_started, 1e-9), 1),
                       peak_gpu_memory_mib=(round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
                                            if device.type == "cuda" else None))


def _resumable_epoch(data: Examples, collate: Callable | None, batch_sampler: Any, epoch: int,
                     skip: int) -> DataLoader:
    """The epoch's batches from the ``skip``-th on. The loader has its own generator: a DataLoader
    draws a base seed when it starts, and from the global RNG that draw would shift a resumed run."""
    batch_sampler.set_epoch(epoch)
    batches = list(batch_sampler)[skip:]
    return DataLoader(data, batch_sampler=batches, collate_fn=collate, generator=torch.Generator())


def _score(model: nn.Module, score_fn: Callable[[nn.Module], float]) -> float:
    model.eval()
    with torch.no_grad():
        score = float(score_fn(model))
    model.train()
    return score


def _precision(device: torch.device) -> tuple[torch.autocast, torch.amp.GradScaler, str]:
    """Autocast and gradient scaler: bf16 on GPUs that have it, fp16 (scaled) on older ones, fp32 on CPU."""
    if device.type != "cuda":
        return torch.autocast("cpu", enabled=False), torch.amp.GradScaler("cpu", enabled=False), "fp32"
    if torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16), torch.amp.GradScaler("cuda", enabled=False), "bf16"
    return torch.autocast("cuda", dtype=torch.float16), torch.amp.GradScaler("cuda"), "fp16"


def _step(model, batch, loss_fn, step, optimizer, scheduler, scaler, config, device, autocast) -> float:
    batch = _to(batch, device)
    with autocast:
        loss = loss_fn(model, batch, step)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if config.clip_norm:
        scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
        nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()
    return float(loss.detach())


@torch.no_grad()
def evaluate_loss(model, data, collate, loss_fn, config, device, autocast) -> float:
    """Mean validation loss over batches (weighted by batch size).

    Under DDP each rank scores every ``world``-th row and the sums are reduced, so all ranks get
    the same number (and early stopping the same decision) in a ``1/world`` of the time."""
    rank, world = distributed()
    if world > 1:
        data = Subset(data, range(rank, len(data), world))
    model.eval()
    total, count = 0.0, 0
    for batch in DataLoader(data, batch_size=config.batch_size, collate_fn=collate, num_workers=config.num_workers):
        batch = _to(batch, device)
        with autocast:
            loss = loss_fn(model, batch, -1)
        size = _batch_size(batch)
        total, count = total + float(loss) * size, count + size
    model.train()
    return _mean_over_ranks(total, count, device)


def _mean_over_ranks(total: float, count: float, device: torch.device) -> float:
    """``total / count`` summed over all ranks (just the local mean outside DDP)."""
    if distributed()[1] > 1:
        both = torch.tensor([total, float(count)], dtype=torch.float64, device=device)
        torch.distributed.all_reduce(both)
        total, count = float(both[0]), int(both[1])
    return total / max(1, count)


def _any_rank(flag: bool, device: torch.device, world: int) -> bool:
    """True on every rank when it is true on any one."""
    if world <= 1:
        return flag
    value = torch.tensor([int(flag)], device=device)
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
    return bool(value.item())


def _batch_size(batch) -> int:
    return len(next(iter(batch.values()))) if isinstance(batch, dict) else len(batch[0])


def _to(batch, device):
    if isinstance(batch, dict):
        return {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
    return type(batch)(v.to(device) if torch.is_tensor(v) else v for v in batch)


def _progress(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, unit="step", dynamic_ncols=True)

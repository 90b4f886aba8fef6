"""``python -m chatbot train-forecaster``: train an LSTM/GRU forecaster for series of one kind.

``--data`` is a CSV file (read as ``/forecast`` reads an upload) or ``dataset:NAME`` (a series
statsmodels bundles). The last blocks of ``horizon`` points are held out before anything trains;
each is forecast from everything before it and scored by MASE (scaled by the seasonal naive
in-sample error) and sMAPE, next to seasonal naive's own scores on the same blocks. Early stopping
uses the last windows of what remains. The model directory gets ``model.safetensors``,
``forecaster.json`` (config, scaler, per-step error spread for intervals), ``report.json`` and
``loss_curve.png``; ``forecast_with_model(DIR, series, horizon)`` then forecasts a series of the
same kind.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chatbot.models.trainer import TrainConfig, resolve_device
from chatbot.timeseries.rnn import (
    RNNConfig,
    minimum_points,
    predict,
    resolve_config,
    save_forecaster,
    split_windows,
    train_network,
)
from chatbot.timeseries.series import Series

logger = logging.getLogger(__name__)

OPTIONS_FILE = "options.json"  # in OUT/checkpoints: what a --resume must repeat
_CALENDAR = {"MS": 12, "ME": 12, "QS": 4, "QE": 4, "W": 52, "D": 7, "B": 5, "h": 24}


def load_series(spec: str) -> Series:
    """``dataset:NAME`` from the bundled datasets, else a CSV file."""
    if spec.startswith("dataset:"):
        from chatbot.timeseries.datasets import load_dataset

        return load_dataset(spec.split(":", 1)[1])
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"--data: no such file: {spec} (give a CSV file or dataset:NAME, such as dataset:co2)")
    from chatbot.timeseries.parse import read_csv

    return read_csv(path.read_bytes(), path.name)


def calendar_period(series: Series) -> int | None:
    """The season of a dated series' frequency (monthly 12, quarterly 4, ...), else None."""
    if not series.freq:
        return None
    try:
        offset = pd.tseries.frequencies.to_offset(series.freq)
    except ValueError:
        return None
    return _CALENDAR.get(offset.rule_code.split("-")[0]) if offset.n == 1 else None


def held_out_blocks(length: int, horizon: int) -> int:
    """How many blocks of ``horizon`` points to hold out: about a tenth of the series, one to five."""
    return max(1, min(5, round(0.1 * length / horizon)))


def evaluate(trained: Any, values: np.ndarray, horizon: int, blocks: int, period: int | None) -> dict[str, Any]:
    """MASE and sMAPE of the network and of seasonal naive on the last ``blocks`` blocks of ``horizon``."""
    from chatbot.timeseries.metrics import mase, smape

    scores: dict[str, list[float]] = {"mase": [], "smape": [], "naive_mase": [], "naive_smape": []}
    for block in range(blocks):
        origin = len(values) - (blocks - block) * horizon
        history, actual = values[:origin], values[origin:origin + horizon]
        predicted = predict(trained, history, horizon)
        naive = np.resize(history[-(period or 1):], horizon)  # last season repeated (last value without one)
        scores["mase"].append(mase(actual, predicted, history, period))
        scores["smape"].append(smape(actual, predicted))
        scores["naive_mase"].append(mase(actual, naive, history, period))
        scores["naive_smape"].append(smape(actual, naive))
    mean = {k: round(float(np.mean(v)), 4) for k, v in scores.items()}
    return {"blocks": blocks, "points": blocks * horizon, "mase": mean["mase"], "smape": mean["smape"],
            "seasonal_naive": {"mase": mean["naive_mase"], "smape": mean["naive_smape"]}}


def _check_resume(out: Path, options: dict[str, Any], resume: bool) -> None:
    """A resumed run must read the series the same way, or the checkpoint's windows mean something else."""
    path = out / "checkpoints" / OPTIONS_FILE
    if resume and path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        changed = sorted(k for k in options if saved.get(k) != options[k])
        if changed:
            was = ", ".join(f"{k}={saved.get(k)}" for k in changed)
            raise ValueError(f"--resume: the checkpoint in {path.parent} was trained with other options ({was}); "
                             "repeat them or leave out --resume")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(options, indent=2), encoding="utf-8")


def train_forecaster(data: str, out: str | Path, cell: str = "lstm", window: int | None = None, horizon: int = 12,
                     hidden: int = 32, layers: int = 1, epochs: int | None = None, period: int | None = None,
                     batch_size: int = 64, learning_rate: float = 1e-2, device: str = "auto",
                     time_budget: float | None = None, seed: int = 0, resume: bool = False,
                     progress: bool = True) -> dict[str, Any]:
    """Train on a series, score the held-out tail and write the model directory; returns the report."""
    started = time.monotonic()
    try:
        resolve_device(device)  # before any work: a missing GPU is a one-line error, not a traceback later
    except RuntimeError as exc:
        raise ValueError(str(exc)) from None
    series = load_series(data)
    values = np.asarray(series.values, dtype=np.float64)
    period = period or calendar_period(series)
    base = RNNConfig(cell=cell, hidden_size=hidden, layers=layers, window=window, horizon=horizon,
                     epochs=epochs or RNNConfig.epochs, batch_size=batch_size, learning_rate=learning_rate)
    config = resolve_config(base, horizon, period)
    blocks = held_out_blocks(len(values), horizon)
    fit = values[:-blocks * horizon]
    if len(fit) < minimum_points(config):
        raise ValueError(f"--data: {len(values)} points are too few for --window {config.window} and --horizon "
                         f"{horizon}: training needs {minimum_points(config)} after holding out the last "
                         f"{blocks * horizon}; use a longer series or a smaller --window/--horizon")
    out = Path(out)
    options = {"data": data, "points": len(values), "held_out": blocks * horizon,
               **{k: v for k, v in asdict(config).items() if k not in ("epochs",)}}
    _check_resume(out, options, resume)
    train_rows, _ = split_windows(len(fit) - config.window - config.horizon + 1, config)
    steps_per_epoch = max(1, math.ceil(len(train_rows) / batch_size))
    train_config = TrainConfig(epochs=config.epochs, batch_size=batch_size, learning_rate=learning_rate,
                               weight_decay=0.0, warmup_steps=min(100, 2 * steps_per_epoch), patience=config.patience,
                               checkpoint_every=steps_per_epoch, time_budget_minutes=time_budget, seed=seed,
                               device=device, progress=progress)
    trained = train_network(fit, config, train_config, out_dir=out / "checkpoints", resume=resume)
    result = trained.result
    held_out = evaluate(trained, values, horizon, blocks, config.period)
    report = {
        "data": data, "name": series.name, "points": len(values), "freq": series.freq, "period": config.period,
        "model": config.cell.upper(), "config": asdict(config), "scale": trained.scaler.scale,
        "windows": trained.meta["windows"], "held_out": held_out,
        "training": {k: v for k, v in asdict(result).items() if k != "history"},
        "seconds": round(time.monotonic() - started, 2),
    }
    trained.model.cpu()
    save_forecaster(out, trained.model, config, trained.scaler, {
        "sigma": trained.sigma, "data": data, "name": series.name, "freq": series.freq, "points": len(values),
        "held_out": held_out, "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    (out / "report.json").write_text(json.dumps({**report, "history": result.history}, ensure_ascii=False,
                                                indent=2), encoding="utf-8")
    from training.plots import loss_curve_png

    loss_curve_png(result.history, out / "loss_curve.png",
                   title=f"{data}: {config.cell.upper()}, held-out MASE {held_out['mase']:.3f}")
    return report

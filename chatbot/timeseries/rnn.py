"""A small LSTM/GRU forecaster: trained on one series in a second or two, or loaded from ``train-forecaster``.

How a series becomes training data, and why (for a network that sees a few hundred points):
- windows of the last ``window`` values predict the next ``horizon`` values at once (a direct
  multi-output head): one forward pass per forecast, trained on the loss of every step we report,
  and no compounding of one-step errors that a recursive model feeds back into itself;
- inputs and targets are measured from the window's last value and divided by the spread of the
  series' one-step changes. A trending series then never leaves the range the network was trained
  on (a globally standardised one would), and a saved model works on a series of the same kind at
  another level or in other units. Measuring from the seasonal naive forecast instead trains
  faster but forecasts worse: it inherits last season's noise. On 11 series of 200 points (trend
  + season + noise, CO2, sunspots) its MAE was 0.74 of seasonal naive's, the last value's 0.56;
- intervals are a normal quantile times the RMS error at each step: how it grows with the step
  from the (many) training windows, its level from the validation windows at the end of the series
  (which the network never trained on, though they did choose its best epoch); never narrower
  further out. ``details`` says so.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from chatbot.models.trainer import TrainConfig, TrainResult, seed_everything, train
from chatbot.models.weights import load_weights, save_weights
from chatbot.timeseries.series import Forecast, ForecastInputError, Series, check_horizon

logger = logging.getLogger(__name__)

CONFIG_FILE = "forecaster.json"
WEIGHTS_FILE = "model.safetensors"
MIN_TRAIN_WINDOWS = 16  # fewer and the network learns the noise of a handful of examples
MIN_VALIDATION_WINDOWS = 8  # fewer and neither early stopping nor the interval widths mean anything
# A chat forecast trains on the latest points only: beyond these, older points cost more training
# time than they add accuracy to a window of two seasons.
MAX_FIT_POINTS = 1_000


@dataclass
class RNNConfig:
    """The network and how it reads a series; saved next to the weights."""

    cell: str = "lstm"  # "lstm" or "gru"
    hidden_size: int = 32
    layers: int = 1
    dropout: float = 0.0  # between stacked layers (only with layers > 1)
    window: int | None = None  # input length; None: two seasons (at least 8), or 16 without a period
    horizon: int | None = None  # steps the head predicts at once; None: the requested horizon. Longer
    # forecasts feed the model's own predictions back in blocks of this many steps.
    period: int | None = None  # the seasonal period; it sets the default window
    # Tuned on the series above: about 1-2 s for 200 points on one CPU core. Fewer epochs forecast
    # worse even when early stopping ends sooner, because the learning rate decays over ``epochs``.
    epochs: int = 150
    batch_size: int = 64
    learning_rate: float = 1e-2
    patience: int = 10  # epochs without a better validation loss before stopping
    validation_fraction: float = 0.1  # of the windows, from the end of the series

    def __post_init__(self) -> None:
        if self.cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', got {self.cell!r}")
        if (self.window is not None and self.window < 2) or (self.horizon is not None and self.horizon < 1):
            raise ValueError(f"window must be at least 2 and horizon at least 1, got {self.window} and {self.horizon}")


class RNNForecaster(nn.Module):
    """A recurrent encoder over the window and a linear head that emits every step of the horizon."""

    def __init__(self, config: RNNConfig):
        super().__init__()
        self.config = config
        rnn = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = rnn(input_size=1, hidden_size=config.hidden_size, num_layers=config.layers, batch_first=True,
                       dropout=config.dropout if config.layers > 1 else 0.0)
        self.head = nn.Linear(config.hidden_size, config.horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, _ = self.rnn(x)  # (B, T, hidden)
        return self.head(output[:, -1])  # (B, H)


@dataclass
class Scaler:
    """Divides by the spread of one-step changes: unlike the series' own spread, it ignores trend and length."""

    scale: float

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaler:
        changes = np.diff(values)
        scale = float(np.std(changes)) if len(changes) > 1 else 0.0
        if not scale > 1e-12:
            scale = float(np.std(values)) or 1.0  # a straight line: any positive unit will do
        return cls(scale=scale)


@dataclass
class Trained:
    """A fitted network with everything forecasting needs."""

    model: RNNForecaster
    config: RNNConfig
    scaler: Scaler
    sigma: list[float]  # forecast error spread at each step, in scaled units (see ``error_spread``)
    result: TrainResult | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def resolve_config(config: RNNConfig | None, horizon: int, period: int | None) -> RNNConfig:
    """Fill the automatic fields (window, horizon) for this horizon and period."""
    config = RNNConfig(**asdict(config)) if config else RNNConfig()
    config.period = period if period and period > 1 else None
    config.horizon = config.horizon or horizon
    if config.window is None:
        config.window = max(2 * config.period, 8) if config.period else 16
    return config


def minimum_points(config: RNNConfig) -> int:
    """The shortest series ``fit_forecast_rnn`` trains on with this (resolved) config."""
    # windows = n - W - H + 1; validation takes V of them, and H - 1 more are dropped so no training
    # target overlaps a validation one.
    return config.window + 2 * config.horizon + MIN_VALIDATION_WINDOWS + MIN_TRAIN_WINDOWS - 2


def _inputs(windows: np.ndarray, scaler: Scaler) -> torch.Tensor:
    """(N, W) raw windows -> (N, W, 1) scaled, relative to each window's last value."""
    relative = (windows - windows[:, -1:]) / scaler.scale
    return torch.tensor(relative, dtype=torch.float32).unsqueeze(-1)


def windows_of(values: np.ndarray, config: RNNConfig, scaler: Scaler) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (input, target) pair of a series: (N, W, 1) inputs and (N, H) scaled targets."""
    span = config.window + config.horizon
    frames = np.lib.stride_tricks.sliding_window_view(values, span)  # (N, W + H)
    windows, targets = frames[:, :config.window], frames[:, config.window:]
    residual = (targets - windows[:, -1:]) / scaler.scale
    return _inputs(windows, scaler), torch.tensor(residual, dtype=torch.float32)


def split_windows(count: int, config: RNNConfig) -> tuple[range, range]:
    """Training and validation window indices: validation is the last windows, a gap of H - 1 between."""
    validation = max(MIN_VALIDATION_WINDOWS, round(config.validation_fraction * count))
    train_end = count - validation - config.horizon + 1
    return range(0, max(0, train_end)), range(count - validation, count)


def _loss(model: nn.Module, batch: list[torch.Tensor], step: int) -> torch.Tensor:
    inputs, targets = batch  # (B, W, 1), (B, H)
    return F.mse_loss(model(inputs).float(), targets)


@torch.no_grad()
def _step_rms(model: RNNForecaster, data: TensorDataset, chunk: int = 4096) -> np.ndarray:
    """Root mean squared error at each step of the horizon over a set of windows: (H,)."""
    model.eval()
    device = next(model.parameters()).device
    inputs, targets = data.tensors
    squares = sum(((model(inputs[i:i + chunk].to(device)).float().cpu() - targets[i:i + chunk]) ** 2).sum(dim=0)
                  for i in range(0, len(inputs), chunk))  # (H,)
    return (squares / len(inputs)).sqrt().numpy().astype(np.float64)


def error_spread(model: RNNForecaster, train_set: TensorDataset, validation_set: TensorDataset) -> list[float]:
    """Scaled forecast error spread at each step: its shape from the training windows, its level from validation.

    A dozen overlapping validation windows give a per-step RMS too noisy to show how the error grows
    with the step; the many training windows show that shape, but their level is optimistic (the
    network has seen them), so it is rescaled to the validation windows' overall RMS."""
    train_rms, validation_rms = _step_rms(model, train_set), _step_rms(model, validation_set)
    level = math.sqrt(np.mean(validation_rms ** 2) / max(np.mean(train_rms ** 2), 1e-12))
    return np.maximum.accumulate(train_rms * level).tolist()  # never narrower further out


def train_network(values: np.ndarray, config: RNNConfig, train_config: TrainConfig,
                  out_dir: str | Path | None = None, resume: bool = False) -> Trained:
    """Fit a network on ``values`` with the shared trainer (validation from the end of the series)."""
    if len(values) < minimum_points(config):
        raise ValueError(f"{len(values)} points are too few: this config needs {minimum_points(config)}")
    train_rows, validation_rows = split_windows(len(values) - config.window - config.horizon + 1, config)
    # The scale comes from the points training windows see; validation ones may not leak into it.
    scaler = Scaler.fit(values[:train_rows[-1] + config.window + config.horizon])
    inputs, targets = windows_of(values, config, scaler)
    train_set = TensorDataset(inputs[train_rows.start:train_rows.stop], targets[train_rows.start:train_rows.stop])
    validation_set = TensorDataset(inputs[validation_rows.start:], targets[validation_rows.start:])
    seed_everything(train_config.seed)  # the initial weights too come from the seed
    model = RNNForecaster(config)
    result = train(model, train_set, validation_set, collate=None, loss_fn=_loss, config=train_config,
                   out_dir=out_dir, resume=resume)
    sigma = error_spread(model, train_set, validation_set)
    return Trained(model=model, config=config, scaler=scaler, sigma=[float(s) for s in sigma], result=result,
                   meta={"windows": {"train": len(train_set), "validation": len(validation_set)}})


@torch.no_grad()
def predict(trained: Trained, values: np.ndarray, horizon: int, scaler: Scaler | None = None) -> np.ndarray:
    """The next ``horizon`` values after ``values``; beyond the head's horizon, predictions are fed back."""
    config, scaler = trained.config, scaler or trained.scaler
    model = trained.model.eval()
    device = next(model.parameters()).device
    history = np.asarray(values, dtype=np.float64)
    forecast: list[float] = []
    while len(forecast) < horizon:
        windows = history[None, -config.window:]  # (1, W)
        residual = model(_inputs(windows, scaler).to(device)).float().cpu().numpy()  # (1, H)
        block = windows[:, -1:] + residual * scaler.scale
        forecast.extend(block[0].tolist())
        history = np.concatenate([history, block[0]])
    return np.asarray(forecast[:horizon])


def step_sigma(trained: Trained, horizon: int) -> np.ndarray:
    """Scaled error spread at steps 1..horizon; past the head's horizon it grows like a random walk's."""
    sigma = np.asarray(trained.sigma, dtype=np.float64)
    trained_steps = len(sigma)
    extra = [sigma[-1] * math.sqrt(step / trained_steps) for step in range(trained_steps + 1, horizon + 1)]
    return np.concatenate([sigma, extra])[:horizon]


def future_dates(series: Series, horizon: int) -> list[str] | None:
    """ISO dates of the ``horizon`` steps after a dated series with a known frequency."""
    if series.index is None or not series.freq or len(series.index) == 0:
        return None
    try:
        dates = pd.date_range(series.index[-1], periods=horizon + 1, freq=series.freq)[1:]
    except ValueError:
        return None
    return [d.date().isoformat() if d == d.normalize() else d.isoformat() for d in dates]


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ForecastInputError("invalid_level", "신뢰 수준은 0과 1 사이로 적어 주세요. 예: 0.95")


def _forecast(trained: Trained, series: Series, horizon: int, level: float, scaler: Scaler | None,
              details: dict[str, Any]) -> Forecast:
    scaler = scaler or trained.scaler
    values = predict(trained, series.values, horizon, scaler)
    width = NormalDist().inv_cdf((1 + level) / 2) * step_sigma(trained, horizon) * scaler.scale
    config = trained.config
    return Forecast(
        values=values.tolist(), model=config.cell.upper(), lower=(values - width).tolist(),
        upper=(values + width).tolist(), level=level, period=config.period, dates=future_dates(series, horizon),
        details={"cell": config.cell, "window": config.window, "trained_horizon": config.horizon,
                 "hidden_size": config.hidden_size, "layers": config.layers, "measured_from": "last value",
                 "scale": scaler.scale,
                 "interval": "normal quantile x RMS error at each step: its growth with the step from the "
                             "training windows, its level from the validation windows (which also chose the epoch, "
                             "so slightly optimistic); never narrower further out, growing like sqrt(step) beyond "
                             "the trained horizon",
                 **details})


def fit_forecast_rnn(series: Series, horizon: int, period: int | None = None, level: float = 0.95,
                     config: RNNConfig | None = None, seed: int = 0, device: str = "auto",
                     time_budget_minutes: float | None = None) -> Forecast:
    """Train a small LSTM/GRU on this series alone and forecast ``horizon`` steps with an interval."""
    started = time.monotonic()
    horizon = check_horizon(horizon, len(series))
    _check_level(level)
    config = resolve_config(config, horizon, period)
    needed = minimum_points(config)
    if len(series) < needed:
        raise ForecastInputError(
            "too_few_points", f"{config.cell.upper()} 예측에는 데이터가 최소 {needed:,}개 필요해요 "
                              f"(지금 {len(series):,}개). 데이터를 더 주시거나 예측 기간을 줄여 주세요.")
    values = np.asarray(series.values[-MAX_FIT_POINTS:], dtype=np.float64)
    windows = len(values) - config.window - config.horizon + 1
    steps_per_epoch = math.ceil(len(split_windows(windows, config)[0]) / config.batch_size)
    train_config = TrainConfig(epochs=config.epochs, batch_size=config.batch_size,
                               learning_rate=config.learning_rate, weight_decay=0.0,
                               warmup_steps=min(20, steps_per_epoch * 2), patience=config.patience,
                               checkpoint_every=0, time_budget_minutes=time_budget_minutes, seed=seed, device=device,
                               progress=False)
    trained = train_network(values, config, train_config)
    result = trained.result
    logger.info("%s on %d points: %d steps, %s, %.2f s", config.cell, len(values), result.steps,
                result.stopped_by, time.monotonic() - started)
    return _forecast(trained, series, horizon, level, None, {
        "steps": result.steps, "best_step": result.best_step, "stopped_by": result.stopped_by,
        "validation_mse": round(result.best_validation_loss, 6), "device": result.device, "points_used": len(values),
        **trained.meta,
        "seconds": round(time.monotonic() - started, 2)})


def save_forecaster(out: str | Path, model: RNNForecaster, config: RNNConfig, scaler: Scaler,
                    meta: dict[str, Any] | None = None) -> Path:
    """Write ``model.safetensors`` and ``forecaster.json`` (config, scaler, meta such as ``sigma``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_weights(out / WEIGHTS_FILE, model.state_dict())
    document = {"config": asdict(config), "scaler": asdict(scaler), **(meta or {})}
    (out / CONFIG_FILE).write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    return out


def load_forecaster(model_dir: str | Path) -> Trained:
    """Read a directory written by ``save_forecaster`` (on the CPU)."""
    path = Path(model_dir)
    if not (path / CONFIG_FILE).is_file() or not (path / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(f"No forecaster in '{path}'. Train one: python -m chatbot train-forecaster "
                                f"--data dataset:co2 --out {path}")
    document = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    config = RNNConfig(**document.pop("config"))
    model = RNNForecaster(config)
    model.load_state_dict(load_weights(path / WEIGHTS_FILE)[0])
    scaler = Scaler(**document.pop("scaler"))
    sigma = document.get("sigma") or [1.0] * config.horizon
    return Trained(model=model.eval(), config=config, scaler=scaler, sigma=sigma, meta=document)


def forecast_with_model(model: str | Path | Trained, series: Series, horizon: int,
                        level: float = 0.95) -> Forecast:
    """Forecast a series with a saved network, scaled by this series' own spread of changes."""
    trained = model if isinstance(model, Trained) else load_forecaster(model)
    horizon = check_horizon(horizon, len(series))
    _check_level(level)
    config = trained.config
    if len(series) < config.window:
        raise ForecastInputError("too_few_points", f"이 모델은 최근 데이터 {config.window:,}개를 보고 예측해요. "
                                                   f"최소 {config.window:,}개를 주세요 (지금 {len(series):,}개).")
    # Units may differ from the training series' (a series "of the same kind"): the scale is this one's.
    scaler = Scaler.fit(np.asarray(series.values, dtype=np.float64))
    return _forecast(trained, series, horizon, level, scaler,
                     {"trained_on": trained.meta.get("data", ""), "trained_scale": trained.scaler.scale})

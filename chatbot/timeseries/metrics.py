"""Forecast accuracy: MASE (scaled by the seasonal naive in-sample error) and sMAPE (in percent)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ArrayLike = Sequence[float] | np.ndarray


def _pair(actual: ArrayLike, predicted: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype=np.float64).ravel()
    p = np.asarray(predicted, dtype=np.float64).ravel()
    if a.shape != p.shape or a.size == 0:
        raise ValueError(f"actual and predicted need the same non-zero length, got {a.size} and {p.size}")
    return a, p


def naive_scale(history: ArrayLike, period: int | None = None) -> float:
    """Mean absolute in-sample error of the seasonal naive forecast (lag ``period or 1``) on ``history``."""
    h = np.asarray(history, dtype=np.float64).ravel()
    lag = period or 1
    if len(h) <= lag:  # too short for a seasonal lag: the one-step naive still scales sensibly
        lag = 1
    if len(h) <= lag:
        return float("nan")
    scale = float(np.mean(np.abs(h[lag:] - h[:-lag])))
    if scale == 0.0 and lag > 1:  # a history that repeats its season exactly: fall back to one-step changes
        scale = float(np.mean(np.abs(np.diff(h))))
    return scale


def mase(actual: ArrayLike, predicted: ArrayLike, history: ArrayLike, period: int | None = None) -> float:
    """Mean absolute scaled error: MAE over the seasonal naive in-sample MAE of ``history`` (inf if that is 0)."""
    a, p = _pair(actual, predicted)
    mae = float(np.mean(np.abs(a - p)))
    scale = naive_scale(history, period)
    if not np.isfinite(scale) or scale == 0.0:
        # A constant history has no scale: a perfect forecast still scores 0, any error is infinitely worse.
        return 0.0 if mae == 0.0 else float("inf")
    return mae / scale


def smape(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Symmetric MAPE in percent (0..200); a step where both values are 0 counts as a perfect 0."""
    a, p = _pair(actual, predicted)
    denominator = np.abs(a) + np.abs(p)
    ratio = np.divide(2.0 * np.abs(a - p), denominator, out=np.zeros_like(a), where=denominator > 0)
    return float(100.0 * np.mean(ratio))

"""Naive, drift and seasonal naive forecasts: the baselines every model must beat, and the fallback for tiny series."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from chatbot.timeseries.series import Forecast, Series


def _residual_sd(values: np.ndarray, lag: int) -> float:
    """Spread of the in-sample errors of repeating the value ``lag`` steps back (0 when there are none)."""
    errors = values[lag:] - values[:-lag]
    if len(errors) < 2:
        return 0.0
    # Root mean square rather than a centred spread: a persistent drift in the errors is also uncertainty.
    return float(np.sqrt(np.mean(errors**2)))


def _forecast(point: np.ndarray, sd: float, steps_back: np.ndarray, level: float, model: str,
              period: int | None) -> Forecast:
    # The standard naive intervals (Hyndman & Athanasopoulos, FPP 5.5): sd * sqrt(number of lags stacked).
    width = norm.ppf(0.5 + level / 2) * sd * np.sqrt(steps_back)
    return Forecast(values=point.tolist(), model=model, lower=(point - width).tolist(),
                    upper=(point + width).tolist(), level=level, period=period,
                    details={"residual_sd": sd})


def naive(series: Series, horizon: int, level: float = 0.95) -> Forecast:
    """Every future value equals the last one; the interval grows like sqrt(h)."""
    values = np.asarray(series.values, dtype=np.float64)
    if len(values) < 1:
        raise ValueError("naive forecast needs at least one value")
    steps = np.arange(1, horizon + 1)
    point = np.full(horizon, values[-1])
    return _forecast(point, _residual_sd(values, 1), steps, level, "naive", None)


def drift(series: Series, horizon: int, level: float = 0.95) -> Forecast:
    """The line from the first value to the last, extended: the last value plus h times the mean step.

    The interval is FPP 5.5's for the drift method: sd * sqrt(h * (1 + h / (T - 1))), with sd the spread of
    the steps around their mean (the drift)."""
    values = np.asarray(series.values, dtype=np.float64)
    if len(values) < 2:
        raise ValueError("drift forecast needs at least two values")
    steps = np.arange(1, horizon + 1)
    slope = (values[-1] - values[0]) / (len(values) - 1)
    errors = np.diff(values) - slope
    sd = float(np.sqrt(np.mean(errors**2))) if len(errors) >= 2 else 0.0
    forecast = _forecast(values[-1] + slope * steps, sd, steps * (1 + steps / (len(values) - 1)), level, "drift",
                         None)
    forecast.details["drift_per_step"] = float(slope)
    return forecast


def seasonal_naive(series: Series, horizon: int, period: int, level: float = 0.95) -> Forecast:
    """Every future value equals the value one season earlier; the interval grows with each season ahead."""
    values = np.asarray(series.values, dtype=np.float64)
    if period is None or period < 1 or len(values) < period:
        raise ValueError(f"seasonal naive with period {period} needs at least one full season of values")
    steps = np.arange(horizon)
    point = values[len(values) - period + steps % period]
    return _forecast(point, _residual_sd(values, period), steps // period + 1, level, "seasonal naive", period)


def fit_forecast_naive(series: Series, horizon: int, period: int | None = None, level: float = 0.95) -> Forecast:
    """``naive`` with the signature the backtest expects (the period is ignored)."""
    return naive(series, horizon, level)


def fit_forecast_drift(series: Series, horizon: int, period: int | None = None, level: float = 0.95) -> Forecast:
    """``drift`` with the signature the backtest expects (the period is ignored)."""
    return drift(series, horizon, level)


def fit_forecast_seasonal_naive(series: Series, horizon: int, period: int | None = None,
                                level: float = 0.95) -> Forecast:
    """``seasonal_naive``, or ``naive`` when there is no period."""
    if not period or period < 2:
        return naive(series, horizon, level)
    return seasonal_naive(series, horizon, period, level)

"""Exponential smoothing (Holt-Winters as a state-space ETS model): a few variants, the best AICc wins."""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from chatbot.timeseries.series import Forecast, Series

logger = logging.getLogger(__name__)

MAX_FIT_POINTS = 5_000  # exponential smoothing forgets the far past anyway; longer fits only cost time
MIN_POINTS = 6  # level and trend from fewer points are guesses
POLISH_MAXITER = 50  # enough to settle the initial states; a full run costs twice as much for little
SIMULATION_SEED = 0  # intervals of multiplicative seasons are simulated: the same series gives the same band


@dataclass(frozen=True)
class EtsSpec:
    """One exponential smoothing variant: additive errors, optional (damped) additive trend, optional season."""

    trend: bool
    damped: bool
    seasonal: str | None  # "add", "mul" or None
    period: int | None

    @property
    def code(self) -> str:
        """The usual ETS(error, trend, season) shorthand, for example ETS(A,Ad,M)."""
        trend = "Ad" if self.damped else ("A" if self.trend else "N")
        season = {"add": "A", "mul": "M"}.get(self.seasonal or "", "N")
        return f"ETS(A,{trend},{season})" + (f"[{self.period}]" if self.seasonal else "")

    @property
    def label(self) -> str:
        """A short Korean name for the chat: 'Holt-Winters (감쇠 추세, 승법 계절, 주기 12)'."""
        parts = (["감쇠 추세"] if self.damped else ["추세"] if self.trend else []) + (
            [{"add": "가법 계절", "mul": "승법 계절"}[self.seasonal], f"주기 {self.period}"] if self.seasonal else [])
        name = "Holt-Winters" if self.seasonal else ("Holt 지수평활" if self.trend else "단순 지수평활")
        return f"{name} ({', '.join(parts)})" if parts else name


def seasonal_min_points(period: int) -> int:
    """Points needed to start the seasonal states from the data: two full seasons and ten deseasonalised values."""
    return max(2 * period + 2, 10 + 2 * (period // 2))


def candidate_specs(values: np.ndarray, period: int | None) -> list[EtsSpec]:
    """The variants worth comparing: no/additive/damped trend, times additive/multiplicative season."""
    seasons: list[str | None] = [None]
    if period and period >= 2 and len(values) >= seasonal_min_points(period):
        # A season, once detected, is always modelled; multiplicative only where the data stay positive.
        seasons = ["add", "mul"] if np.min(values) > 0 else ["add"]
    trends = [(False, False), (True, False), (True, True)] if len(values) >= 10 else [(False, False), (True, False)]
    return [EtsSpec(t, d, s, period if s else None) for s in seasons for t, d in trends]


def _model(values: np.ndarray, spec: EtsSpec, initialization: str):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    return ETSModel(pd.Series(values), error="add", trend="add" if spec.trend else None, damped_trend=spec.damped,
                    seasonal=spec.seasonal, seasonal_periods=spec.period, initialization_method=initialization)


def _fit(values: np.ndarray, spec: EtsSpec):
    """Fit one variant; initial states from the classical heuristic where there is enough data (much faster)."""
    enough = len(values) >= 10 and (not spec.seasonal or len(values) >= seasonal_min_points(spec.period))
    return _model(values, spec, "heuristic" if enough else "estimated").fit(disp=False, maxiter=300)


def _polish(values: np.ndarray, spec: EtsSpec, result):
    """Re-estimate the initial states by likelihood too, from the heuristic fit; kept only if it fits better.

    The heuristic reads the initial season off the first few cycles; when the smoothing is slow (CO2) those
    guesses linger for decades, and estimating them is worth the extra second of a large optimisation.
    """
    if result.model.initialization_method != "heuristic":
        return result
    model = _model(values, spec, "estimated")
    start = np.asarray(model.start_params, dtype=np.float64).copy()
    for i, name in enumerate(model.param_names):
        if name in result.param_names:
            start[i] = result.params[result.param_names.index(name)]
    polished = model.fit(start_params=start, disp=False, maxiter=POLISH_MAXITER)
    return polished if np.isfinite(polished.llf) and polished.llf > result.llf else result


def _search(values: np.ndarray, period: int | None) -> list[tuple[EtsSpec, Any, float]]:
    """Every variant that could be fitted, best AICc first."""
    fitted = []
    for spec in candidate_specs(values, period):
        try:
            result = _fit(values, spec)
        except (ValueError, np.linalg.LinAlgError) as exc:
            logger.debug("%s failed: %s", spec.code, exc)
            continue
        if np.isfinite(result.aicc):
            fitted.append((spec, result, float(result.aicc)))
    if not fitted:
        raise ValueError("no exponential smoothing variant could be fitted")
    return sorted(fitted, key=lambda item: item[2])


def fit_forecast_ets(series: Series, horizon: int, period: int | None = None, level: float = 0.95,
                     spec: EtsSpec | None = None, polish: bool = True) -> Forecast:
    """Fit the best exponential smoothing variant by AICc (or ``spec``) and forecast with an interval.

    ``polish`` also estimates the initial states of the chosen variant (slower, usually more accurate); the
    search and the backtest refits leave it off.
    """
    values = np.asarray(series.values, dtype=np.float64)[-MAX_FIT_POINTS:]
    if len(values) < MIN_POINTS:
        raise ValueError(f"exponential smoothing needs at least {MIN_POINTS} points, got {len(values)}")
    with warnings.catch_warnings():
        # Optimiser chatter (bounds reached, no convergence within maxiter) is common and harmless here.
        warnings.simplefilter("ignore")
        alternative = None
        if spec is None:
            fitted = _search(values, period)
            spec, result, _ = fitted[0]
            scores = {s.code: round(score, 2) for s, _, score in fitted}
            # The best variant with the other kind of season: AICc and forecast accuracy disagree there most often,
            # so ``auto`` backtests both.
            alternative = next((s for s, _, _ in fitted if s.seasonal and s.seasonal != spec.seasonal), None)
        else:
            result, scores = _fit(values, spec), {}
        if polish:
            result = _polish(values, spec, result)
        n = len(values)
        frame = result.get_prediction(start=n, end=n + horizon - 1, rng=SIMULATION_SEED).summary_frame(
            alpha=1 - level)
    mean = frame["mean"].to_numpy(dtype=np.float64)
    lower = np.minimum(frame["pi_lower"].to_numpy(dtype=np.float64), mean)
    upper = np.maximum(frame["pi_upper"].to_numpy(dtype=np.float64), mean)
    if not np.all(np.isfinite(mean)):
        raise ValueError(f"{spec.code} produced a non-finite forecast")
    details = {"ets": spec.code, "spec": asdict(spec), "aicc": round(float(result.aicc), 2),
               "initialization": result.model.initialization_method,
               "models_tried": len(scores) or 1, "fit_points": n,
               "params": {name: round(float(v), 4) for name, v in zip(result.param_names, result.params, strict=False)
                          if name.startswith(("smoothing", "damping"))}}
    if scores:
        details["aicc_by_model"] = scores
    if alternative is not None:
        details["alternative"] = asdict(alternative)
    return Forecast(values=mean.tolist(), model=spec.label, lower=lower.tolist(), upper=upper.tolist(), level=level,
                    period=spec.period, details=details)

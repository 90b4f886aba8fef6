"""Automatic model choice: a rolling-origin backtest of each candidate and the baselines, lowest mean MASE wins.

Each candidate's structure (ARIMA orders, ETS variant) is chosen once on the whole series, then re-estimated at
every backtest origin on the history before it: the structure is shared across origins (slightly optimistic, for
every candidate alike), the parameters are not, and it costs one search instead of one per origin. ARIMA refits
use the conditional-sum-of-squares estimates and ETS refits heuristic initial states; on long series only the
winner then gets the exact fit (see EXACT_FIT_MIN_POINTS).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from chatbot.timeseries import arima, ets
from chatbot.timeseries.baselines import fit_forecast_drift, fit_forecast_naive, fit_forecast_seasonal_naive
from chatbot.timeseries.metrics import mase, smape
from chatbot.timeseries.series import Forecast, Series

logger = logging.getLogger(__name__)

Fit = Callable[[Series, int, "int | None"], Forecast]  # (history, horizon, period) -> forecast
CHOSEN_BY = "rolling-origin backtest (MASE)"
MIN_POINTS = {"ets": ets.MIN_POINTS, "arima": arima.MIN_POINTS}
# The winner's slower, exact fit (ARIMA by maximum likelihood, ETS with estimated initial states) pays off on long
# series; a chat-sized one keeps the fast estimates its backtest scored, which keeps a reply within a second.
EXACT_FIT_MIN_POINTS = 300
SIMPLICITY = {"naive": 0, "drift": 1, "seasonal_naive": 1, "ets": 2, "ets_additive": 2, "ets_multiplicative": 2,
              "arima": 3, "lstm": 4}  # breaks exact ties
SIMPLE = ("naive", "drift", "seasonal_naive")  # the baselines, always in the pool


def origins_for(length: int, horizon: int, min_history: int, origins: int = 3) -> tuple[list[int], int]:
    """Backtest origins (oldest first) and the horizon scored there, each origin leaving ``min_history`` before it.

    The origins step back by the horizon, or by less when the series is short, and the scored horizon shrinks
    when even one full horizon does not fit after the minimum history. No origins: the series is too short.
    """
    available = length - max(min_history, 1)
    steps = min(horizon, available)
    if steps < 1 or origins < 1:
        return [], 0
    spacing = min(steps, max(1, (available - steps) // max(origins - 1, 1)))
    points = sorted({length - steps - i * spacing for i in range(origins)} & set(range(min_history, length)))
    return points, steps


def backtest(series: Series, horizon: int, fit: Fit, period: int | None, origins: int = 3,
             min_history: int = 2) -> dict[str, float]:
    """Mean MASE and sMAPE of ``fit`` over rolling origins: fit on the history up to each, forecast, score."""
    values = np.asarray(series.values, dtype=np.float64)
    points, steps = origins_for(len(values), horizon, min_history, origins)
    if not points:
        raise ValueError(f"too short to backtest: {len(values)} points, {min_history} needed before an origin")
    mases, smapes = [], []
    for origin in points:
        history = Series(values=values[:origin])
        predicted = fit(history, steps, period).values
        actual = values[origin:origin + steps]
        mases.append(mase(actual, predicted, values[:origin], period))
        smapes.append(smape(actual, predicted))
    return {"mase": float(np.mean(mases)), "smape": float(np.mean(smapes)), "origins": len(points),
            "horizon": steps}


@dataclass
class Candidate:
    """A model in the running: how to refit it on a history, how much history it needs, its full-series fit."""

    name: str
    fit: Fit
    min_history: int
    final: Callable[[], Forecast]  # the forecast from the whole series, computed only for the winner
    label: str = ""
    search: dict = field(default_factory=dict)  # what the structure search found, kept in the winner's details
    scores: dict[str, float] = field(default_factory=dict)


def _arima_candidates(series: Series, horizon: int, period: int | None, level: float) -> list[Candidate]:
    first = arima.fit_forecast_arima(series, horizon, period, level, method="css")  # the order search
    spec = arima.ArimaSpec(**first.details["spec"])
    start = np.asarray(first.details["params"], dtype=np.float64)
    k = int(spec.constant) + spec.p + spec.q + spec.P + spec.Q
    need = max(arima.MIN_POINTS, spec.d + spec.D * spec.m + spec.p + spec.P * spec.m + k + 4)
    return [Candidate(
        "arima", lambda history, steps, season: arima.fit_forecast_arima(history, steps, season, level, spec=spec,
                                                                          method="css", start_params=start),
        need, partial(arima.fit_forecast_arima, series, horizon, period, level, spec=spec,
                      method="ml" if len(series) >= EXACT_FIT_MIN_POINTS else "css", start_params=start),
        spec.name, {"models_tried": first.details["models_tried"]})]


def _ets_candidates(series: Series, horizon: int, period: int | None, level: float) -> list[Candidate]:
    first = ets.fit_forecast_ets(series, horizon, period, level, polish=False)  # the variant search
    out = []
    for key, spec_dict in (("", first.details["spec"]), ("alternative", first.details.get("alternative"))):
        if spec_dict is None:
            continue
        spec = ets.EtsSpec(**spec_dict)
        name = f"ets_{'additive' if spec.seasonal == 'add' else 'multiplicative'}" if key else "ets"
        final = partial(ets.fit_forecast_ets, series, horizon, period, level, spec=spec,
                        polish=len(series) >= EXACT_FIT_MIN_POINTS)
        out.append(Candidate(name, partial(_refit_ets, level=level, spec=spec),
                             ets.seasonal_min_points(spec.period) if spec.seasonal else 10, final, spec.label,
                             {"models_tried": first.details["models_tried"],
                              "aicc_by_model": first.details.get("aicc_by_model", {})}))
    return out


def _refit_ets(history: Series, steps: int, season: int | None, level: float, spec: ets.EtsSpec) -> Forecast:
    return ets.fit_forecast_ets(history, steps, season, level, spec=spec, polish=False)


def _rnn_candidates(series: Series, horizon: int, period: int | None, level: float) -> list[Candidate]:
    from chatbot.timeseries import rnn  # torch is imported only when a network is asked for

    need = rnn.minimum_points(rnn.resolve_config(None, horizon, period))
    return [Candidate("lstm", lambda history, steps, season: rnn.fit_forecast_rnn(history, steps, season, level),
                      need, partial(rnn.fit_forecast_rnn, series, horizon, period, level), "LSTM")]


BUILDERS = {"arima": _arima_candidates, "ets": _ets_candidates, "lstm": _rnn_candidates}


def _baselines(series: Series, horizon: int, period: int | None, level: float) -> list[Candidate]:
    out = [Candidate("naive", fit_forecast_naive, 2, partial(fit_forecast_naive, series, horizon, None, level),
                     "naive"),
           Candidate("drift", fit_forecast_drift, 2, partial(fit_forecast_drift, series, horizon, None, level),
                     "drift")]
    if period and len(series) > period:
        out.append(Candidate("seasonal_naive", fit_forecast_seasonal_naive, period + 1,
                             partial(fit_forecast_seasonal_naive, series, horizon, period, level), "seasonal naive"))
    return out


def choose_and_forecast(series: Series, horizon: int, period: int | None = None,
                        candidates: tuple[str, ...] = ("ets", "arima"), level: float = 0.95,
                        origins: int = 3) -> Forecast:
    """Backtest the candidates and the naive baselines on the same origins; forecast with the lowest mean MASE."""
    if period is None:
        from chatbot.timeseries.seasonality import detect_period

        period = detect_period(series)
    pool: list[Candidate] = []
    for name in candidates:
        if len(series) < MIN_POINTS.get(name, 0):
            logger.info("auto: %s left out, %d points are too few", name, len(series))
            continue
        try:
            pool += BUILDERS[name](series, horizon, period, level)
        except Exception as exc:  # noqa: BLE001 (statsmodels raises many kinds; one model failing must not sink auto)
            logger.warning("auto: %s left out, it failed on the whole series: %s", name, exc)
    pool += _baselines(series, horizon, period, level)
    # Every model is scored on the same origins; the models needing the most history drop out while the series
    # cannot give them two origins (one, where even the baselines cannot have two), the baselines last. A single
    # origin of a short series is a coin toss: a zigzag 3 5 4 6 8 7 9 11 10 12 kept ARIMA on one origin of two
    # steps, where repeating the last value happened to win, and the forecast went flat. With a season, one
    # origin is enough: dropping the seasonal models would leave no forecast that repeats the season.
    def origin_count(candidates: list[Candidate]) -> int:
        return len(origins_for(len(series), horizon, max(c.min_history for c in candidates), origins)[0])

    wanted = 1 if period else min(2, origins, max(1, origin_count([c for c in pool if c.name in SIMPLE])))
    while len(pool) > 1 and origin_count(pool) < wanted:
        dropped = max((c for c in pool if c.name != "naive"), key=lambda c: c.min_history)  # naive always stays
        logger.info("auto: %s needs %d points before an origin, too many here", dropped.name, dropped.min_history)
        pool.remove(dropped)
    min_history = max(c.min_history for c in pool)
    for candidate in pool:
        try:
            candidate.scores = backtest(series, horizon, candidate.fit, period, origins, min_history)
        except Exception as exc:  # noqa: BLE001 (statsmodels raises many kinds; one model failing must not sink auto)
            logger.warning("auto: backtest of %s failed: %s", candidate.name, exc)
    # Lowest mean MASE, then sMAPE; exact ties (a perfectly repeating season) go to the simpler model.
    ranking = sorted((c for c in pool if c.scores and np.isfinite(c.scores["mase"])),
                     key=lambda c: (c.scores["mase"], c.scores["smape"], SIMPLICITY.get(c.name, 9)))
    chosen_by = CHOSEN_BY
    if not ranking:  # nothing could be scored: the season repeated as it is, or the last value
        ranking = [c for name in ("seasonal_naive", "naive") for c in pool if c.name == name]
        chosen_by = "too short to backtest: a baseline"
    for winner in ranking:
        try:
            result = winner.final()
            result.details.update(winner.search)
            break
        except Exception as exc:  # noqa: BLE001 (statsmodels raises many kinds; one model failing must not sink auto)
            logger.warning("auto: %s failed on the whole series, taking the next best: %s", winner.name, exc)
    else:
        result, winner = fit_forecast_naive(series, horizon, None, level), pool[0]
    result.backtest = {c.name: {k: (round(v, 4) if np.isfinite(v) else None) for k, v in c.scores.items()}
                       for c in pool if c.scores}
    result.details.update({"chosen_by": chosen_by, "chosen": winner.name,
                           "candidates": {c.name: c.label for c in pool},
                           "backtest_origins": origins_for(len(series), horizon, min_history, origins)[0]})
    logger.info("auto chose %s (%s) from %s", winner.name, result.model,
                {c.name: round(c.scores.get("mase", float("nan")), 3) for c in pool})
    return result

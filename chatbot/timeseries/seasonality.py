"""Seasonal period and strength, and how many differences make a series stationary."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from scipy.stats import norm

from chatbot.timeseries.series import Series

logger = logging.getLogger(__name__)

# Offset codes (pandas aliases without the anchor, upper-cased) and the calendar season they carry.
NATURAL_PERIODS: dict[str, int] = {
    "MS": 12, "ME": 12, "M": 12, "BMS": 12, "BME": 12, "SMS": 24, "SME": 24,
    "QS": 4, "QE": 4, "Q": 4, "BQS": 4, "BQE": 4,
    "W": 52,
    "D": 7, "B": 5, "C": 5,
    "H": 24, "BH": 24,
}
MIN_CYCLES = 2  # a season seen once cannot be told from a coincidence
ACF_SEARCH_ALPHA = 0.05  # family-wise: divided over the lags searched, so white noise rarely shows a "season"
CONFIRM_ALPHA = 0.01  # for each of the three lags around the calendar period
MIN_PEAK = 0.1  # autocorrelations smaller than this are too weak to model as a season even when significant


def series_freq(series: Series) -> str | None:
    """The series' frequency alias: the one it carries, else the one its dates follow (None if irregular)."""
    if series.freq or series.index is None or len(series.index) < 3:
        return series.freq or None
    try:
        return pd.infer_freq(series.index)
    except (TypeError, ValueError):  # unsorted or duplicated dates have no frequency
        return None


def natural_period(series: Series) -> int | None:
    """The calendar season of the series' frequency (monthly 12, quarterly 4, weekly 52, daily 7, hourly 24)."""
    freq = series_freq(series)
    if not freq:
        return None
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return None
    if offset.n != 1:  # "2W", "3h": the calendar season is not a whole number of steps in general
        return None
    code = offset.rule_code.split("-")[0].upper()
    period = NATURAL_PERIODS.get(code)
    if period == 52 and len(series) < 2 * 52:  # weekly data needs two full years before a yearly season shows
        return None
    return period


def ndiffs(values: np.ndarray, alpha: float = 0.05, max_d: int = 2) -> int:
    """Number of first differences (0..max_d) after which the KPSS test no longer rejects level stationarity."""
    from statsmodels.tsa.stattools import kpss

    x = np.asarray(values, dtype=np.float64)
    for d in range(max_d + 1):
        if len(x) < 8 or np.ptp(x) == 0:
            return d
        with warnings.catch_warnings():
            # KPSS p-values are interpolated from a table and clipped to [0.01, 0.1]: the clip warns, harmlessly.
            warnings.simplefilter("ignore")
            try:
                p_value = kpss(x, regression="c", nlags="auto")[1]
            except (OverflowError, ValueError, ZeroDivisionError):
                # statsmodels' automatic bandwidth (Hobijn et al.) divides by a long-run variance that is zero or
                # negative on some short, regular series ("cannot convert float infinity to integer"), which
                # used to drop ARIMA from /forecast there; Schwert's fixed rule has no such division.
                p_value = kpss(x, regression="c", nlags="legacy")[1]
        if p_value >= alpha:
            return d
        x = np.diff(x)
    return max_d


def _acf(values: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Autocorrelations of the series made stationary (differenced when KPSS asks), and their white-noise errors."""
    from statsmodels.tsa.stattools import acf

    x = np.asarray(values, dtype=np.float64)
    if ndiffs(x, max_d=1) > 0:
        x = np.diff(x)
    max_lag = min(max_lag, len(x) - 1)
    if np.ptp(x) == 0 or max_lag < 2:
        return np.zeros(max_lag + 1), np.ones(max_lag + 1)
    # The adjusted (n - k) estimator does not shrink long lags, so a season seen just twice still shows; its
    # standard error under white noise is then 1 / sqrt(n - k).
    r = acf(x, nlags=max_lag, adjusted=True, fft=True)
    se = 1.0 / np.sqrt(len(x) - np.arange(max_lag + 1))
    return r, se


def _significant_peaks(r: np.ndarray, se: np.ndarray, alpha: float, last: int) -> list[int]:
    """Lags whose autocorrelation is a local maximum, significant, and clearly above the dip before it."""
    z = norm.ppf(1 - alpha)
    peaks = []
    for k in range(2, min(last, len(r) - 2) + 1):
        threshold = max(z * se[k], MIN_PEAK)
        # The dip test keeps a slowly decaying ACF (trend, business cycle) with a small bump from passing as a season.
        if r[k] >= r[k - 1] and r[k] >= r[k + 1] and r[k] > threshold and r[k] - r[1:k].min() > threshold:
            peaks.append(k)
    return peaks


def detect_period(series: Series, max_period: int | None = None) -> int | None:
    """The seasonal period: the calendar one if the autocorrelation confirms it, else the ACF's clearest peak."""
    values = np.asarray(series.values, dtype=np.float64)
    n = len(values)
    longest = n // MIN_CYCLES  # at least two full cycles
    if max_period is not None:
        longest = min(longest, max_period)
    longest = min(longest, 400)  # daily data with a yearly season would take long and model poorly anyway
    if longest < 2 or np.ptp(values) == 0:
        return None
    r, se = _acf(values, longest + 1)
    calendar = natural_period(series)
    if calendar is not None and calendar <= longest:
        # Allow the peak one lag off: differencing and noise shift a broad peak without changing the season.
        near = range(max(2, calendar - 1), calendar + 2)
        if any(k in near for k in _significant_peaks(r, se, CONFIRM_ALPHA, longest)):
            return calendar
        logger.info("calendar period %d not confirmed by the autocorrelation", calendar)
    peaks = _significant_peaks(r, se, ACF_SEARCH_ALPHA / longest, longest)
    if not peaks:
        return None
    # A season of 12 also peaks at 24, 36, ..., and noise can move a peak by a lag (11): score each candidate by
    # the mean autocorrelation at all its multiples (a comb), and take the shortest that scores near the best.
    candidates = sorted({c for k in peaks for c in (k - 1, k, k + 1) if 2 <= c <= longest})
    # The first three multiples at most, the same number for every candidate (one lag value alone is noisy).
    teeth = min(3, max(longest // c for c in candidates))
    candidates = [c for c in candidates if longest // c >= teeth]
    comb = {c: float(np.mean(r[c:c * teeth + 1:c])) for c in candidates}
    best = max(comb.values())
    if best < MIN_PEAK:  # a lone peak that its multiples do not repeat is no season
        return None
    return next(c for c in candidates if comb[c] >= 0.9 * best)


def seasonal_strength(values: np.ndarray, period: int) -> float:
    """Strength of seasonality (0..1) from an STL decomposition: 1 - var(resid) / var(seasonal + resid)."""
    from statsmodels.tsa.seasonal import STL

    x = np.asarray(values, dtype=np.float64)
    if period is None or period < 2 or len(x) < 2 * period + 1 or np.ptp(x) == 0:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = STL(x, period=period, robust=False).fit()
    detrended = fit.seasonal + fit.resid
    variance = float(np.var(detrended))
    if variance == 0.0:
        return 0.0
    return float(np.clip(1.0 - np.var(fit.resid) / variance, 0.0, 1.0))

"""Seasonal ARIMA with automatic orders: d by KPSS, D by seasonal strength, p,q,P,Q by a bounded stepwise AIC search.

Speed matters (a chat reply waits on it), so the search does what auto.arima does with ``approximation=TRUE``:
candidates are ranked by a conditional-sum-of-squares (CSS) AIC, which takes a millisecond where a Kalman-filter
likelihood fit takes hundreds (statsmodels has no CSS estimator for SARIMA any more, hence the small one here).
Only the winner is fitted by exact maximum likelihood with statsmodels' SARIMAX, starting from its CSS estimates,
and the undifferenced SARIMAX model then forecasts the levels and their intervals.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from scipy.optimize import least_squares
from scipy.signal import lfilter

from chatbot.timeseries.seasonality import ndiffs, seasonal_strength
from chatbot.timeseries.series import Forecast, Series

logger = logging.getLogger(__name__)

MAX_FIT_POINTS = 600  # the most recent 600 points (50 years of months): older ones barely move a forecast
MIN_POINTS = 8
MAX_P = MAX_Q = 2
MAX_SEASONAL_P = MAX_SEASONAL_Q = 1
MAX_SEASONAL_ARMA_PERIOD = 24  # longer seasons (52 weeks) only get seasonal differencing: their AR/MA state is huge
MAX_MODELS = 16  # the stepwise search stops here; it usually settles after 8-12
SEASONAL_STRENGTH_FOR_D = 0.64  # Hyndman & Athanasopoulos' threshold for one seasonal difference (nsdiffs)
ML_MAXITER = 10  # from the CSS estimates most of the exact-likelihood gain comes early, and each step costs
ROOT_MARGIN = 1.01  # in the search, roots this close to the unit circle (per factor) are rejected, as auto.arima does
VALID_MARGIN = 1.0001  # a refit of a chosen model only has to stay stationary and invertible


@dataclass(frozen=True)
class ArimaSpec:
    """Orders of a SARIMA(p,d,q)(P,D,Q)[m] model, with or without a constant (mean or drift)."""

    p: int
    d: int
    q: int
    P: int = 0  # noqa: N815 (the conventional capitals for seasonal orders)
    D: int = 0  # noqa: N815
    Q: int = 0  # noqa: N815
    m: int = 0
    constant: bool = False

    @property
    def seasonal(self) -> bool:
        return self.m > 1 and (self.P + self.D + self.Q) > 0

    @property
    def name(self) -> str:
        """The usual shorthand, for example SARIMA(1,1,1)(0,1,1)[12]."""
        if self.seasonal:
            return f"SARIMA({self.p},{self.d},{self.q})({self.P},{self.D},{self.Q})[{self.m}]"
        return f"ARIMA({self.p},{self.d},{self.q})"

    def model(self, values: np.ndarray, simple: bool):
        """The statsmodels SARIMAX model of these orders; ``simple`` differences the data before fitting."""
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        seasonal_order = (self.P, self.D, self.Q, self.m) if self.seasonal else (0, 0, 0, 0)
        # The constant of the differenced series: its mean when d+D = 0, a drift when d+D = 1.
        return SARIMAX(values, order=(self.p, self.d, self.q), seasonal_order=seasonal_order,
                       trend="c" if self.constant else "n", simple_differencing=simple,
                       enforce_stationarity=True, enforce_invertibility=True, concentrate_scale=True)


def differenced(values: np.ndarray, spec: ArimaSpec) -> np.ndarray:
    """The series after d simple and D seasonal differences."""
    from statsmodels.tsa.statespace.tools import diff

    return np.asarray(diff(values, k_diff=spec.d, k_seasonal_diff=spec.D, seasonal_periods=spec.m or 1))


def choose_differencing(values: np.ndarray, period: int | None) -> tuple[int, int]:
    """(d, D) as auto.arima chooses them: D from the seasonal strength, then d by KPSS on the result, d + D <= 2."""
    seasonal_d = 0
    if period and period > 1 and len(values) >= 3 * period:
        seasonal_d = int(seasonal_strength(values, period) > SEASONAL_STRENGTH_FOR_D)
    x = values[period:] - values[:-period] if seasonal_d else values
    return min(ndiffs(x, max_d=2), 2 - seasonal_d), seasonal_d


def _split(theta: np.ndarray, spec: ArimaSpec) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(constant, AR, MA, seasonal AR, seasonal MA) from a parameter vector in SARIMAX's order."""
    k = int(spec.constant)
    at = np.cumsum([k, spec.p, spec.q, spec.P])
    return theta[0] if k else 0.0, theta[at[0]:at[1]], theta[at[1]:at[2]], theta[at[2]:at[3]], theta[at[3]:]


def _residual_function(x: np.ndarray, spec: ArimaSpec, skip: int) -> Callable[[np.ndarray], np.ndarray]:
    """CSS residuals of ``x`` as a function of the parameters (SARIMAX's order), from observation ``skip`` on.

    A(B) x_t - c = M(B) e_t with the pre-sample errors set to zero (the "conditional" in CSS); A and M are the
    products of the ordinary and seasonal polynomials. The index work is done once here: the optimiser calls the
    result hundreds of times.
    """
    k, p, q, big_p, big_q, m = int(spec.constant), spec.p, spec.q, spec.P, spec.Q, spec.m
    ar, ma = np.ones(p + 1), np.ones(q + 1)
    seasonal_ar, seasonal_ma = np.zeros(big_p * m + 1), np.zeros(big_q * m + 1)
    seasonal_ar[0] = seasonal_ma[0] = 1.0
    first = p + big_p * m  # the first observation with all its lags
    n = len(x)

    def residuals(theta: np.ndarray) -> np.ndarray:
        ar[1:] = -theta[k:k + p]
        ma[1:] = theta[k + p:k + p + q]
        if big_p:
            seasonal_ar[m::m] = -theta[k + p + q:k + p + q + big_p]
        if big_q:
            seasonal_ma[m::m] = theta[k + p + q + big_p:]
        u = np.convolve(x, np.convolve(ar, seasonal_ar))[first:n] - (theta[0] if k else 0.0)
        return lfilter([1.0], np.convolve(ma, seasonal_ma), u)[skip - first:]

    return residuals


def _roots_ok(theta: np.ndarray, spec: ArimaSpec, margin: float) -> bool:
    """Every AR and MA factor (the seasonal ones in powers of B^m) has its roots at least ``margin`` from 0."""
    _, *factors = _split(theta, spec)
    for sign, coefficients in zip((-1, 1, -1, 1), factors, strict=True):
        roots: np.ndarray | list[float] = np.roots(np.r_[1.0, sign * coefficients][::-1]) if len(coefficients) else []
        if len(roots) and np.min(np.abs(roots)) <= margin:  # zero leading coefficients leave fewer roots
            return False
    return True


def css_fit(x: np.ndarray, spec: ArimaSpec, skip: int, start: np.ndarray | None = None,
            margin: float = ROOT_MARGIN) -> tuple[np.ndarray, float]:
    """CSS estimates in SARIMAX's parameter order and their AIC (inf unless stationary and invertible by ``margin``)."""
    k = int(spec.constant) + spec.p + spec.q + spec.P + spec.Q
    theta = np.zeros(k)
    if len(x) - skip < k + 3:  # too few residuals to estimate this many parameters
        return theta, np.inf
    residual_function = _residual_function(x, spec, skip)
    if start is not None and len(start) == k:
        theta = np.asarray(start, dtype=np.float64).copy()
    elif spec.constant:
        theta[0] = x.mean()
    if k:
        # Loose tolerances: the AIC only has to rank candidates, and the winner is refined by maximum likelihood.
        theta = least_squares(residual_function, theta, method="lm", xtol=1e-4, ftol=1e-5, max_nfev=40 * (k + 1)).x
    residuals = residual_function(theta)
    n = len(residuals)
    sigma2 = float(np.mean(residuals**2))
    if not (np.isfinite(sigma2) and sigma2 > 0 and np.all(np.isfinite(theta)) and _roots_ok(theta, spec, margin)):
        return theta, np.inf
    return theta, n * np.log(sigma2) + 2 * (k + 1)


def _neighbours(spec: ArimaSpec, seasonal_arma: bool, constant_allowed: bool) -> list[ArimaSpec]:
    """Hyndman-Khandakar moves: one order up or down, p and q together, and the constant toggled."""
    moves: list[dict[str, Any]] = [dict(p=spec.p - 1), dict(p=spec.p + 1), dict(q=spec.q - 1), dict(q=spec.q + 1),
             dict(p=spec.p - 1, q=spec.q - 1), dict(p=spec.p + 1, q=spec.q + 1)]
    if seasonal_arma:
        moves += [dict(P=spec.P - 1), dict(P=spec.P + 1), dict(Q=spec.Q - 1), dict(Q=spec.Q + 1),
                  dict(P=spec.P - 1, Q=spec.Q - 1), dict(P=spec.P + 1, Q=spec.Q + 1)]
    if constant_allowed:
        moves.append(dict(constant=not spec.constant))
    candidates = [replace(spec, **move) for move in moves]
    return [c for c in candidates if 0 <= c.p <= MAX_P and 0 <= c.q <= MAX_Q
            and 0 <= c.P <= MAX_SEASONAL_P and 0 <= c.Q <= MAX_SEASONAL_Q]


def search(values: np.ndarray, period: int | None, max_models: int = MAX_MODELS) -> tuple[ArimaSpec, np.ndarray, int]:
    """Stepwise CSS-AIC search over the bounded orders: the best spec, its CSS estimates, the models tried."""
    m = period if period and period > 1 and len(values) >= 2 * period + MIN_POINTS else 0
    d, seasonal_d = choose_differencing(values, m or None)
    seasonal_arma = bool(m) and m <= MAX_SEASONAL_ARMA_PERIOD
    constant = d + seasonal_d <= 1
    base = ArimaSpec(0, d, 0, 0, seasonal_d, 0, m, constant)
    x = differenced(values, base)
    # Every candidate is scored on the same stretch of residuals, so their AICs compare like for like.
    skip = MAX_P + (MAX_SEASONAL_P * m if seasonal_arma else 0)
    start = [(2, 2, 1, 1), (0, 0, 0, 0), (1, 0, 1, 0), (0, 1, 0, 1)] if seasonal_arma else [
        (2, 2, 0, 0), (0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0)]  # the Hyndman-Khandakar starting models
    queue = [replace(base, p=p, q=q, P=P, Q=Q) for p, q, P, Q in start]
    tried: dict[ArimaSpec, float] = {}
    best: tuple[ArimaSpec, np.ndarray, float] | None = None
    while queue and len(tried) < max_models:
        spec = queue.pop(0)
        if spec in tried:
            continue
        try:
            theta, aic = css_fit(x, spec, skip)
        except (ValueError, np.linalg.LinAlgError) as exc:  # a degenerate candidate must not end the search
            logger.debug("%s failed: %s", spec.name, exc)
            theta, aic = None, np.inf
        tried[spec] = aic
        if np.isfinite(aic) and (best is None or aic < best[2]):
            best = (spec, theta, aic)
            # Move to the better model at once and look around it next: the stepwise walk.
            queue = [s for s in _neighbours(spec, seasonal_arma, constant) if s not in tried] + queue
    if best is None:
        best = (base, np.array([x.mean()]) if constant else np.zeros(0), np.inf)  # a (seasonal) random walk
    logger.debug("ARIMA search: %s", {s.name + ("+c" if s.constant else ""): round(a, 1) for s, a in tried.items()})
    return best[0], best[1], len(tried)


def fit_forecast_arima(series: Series, horizon: int, period: int | None = None, level: float = 0.95,
                       spec: ArimaSpec | None = None, method: str = "ml",
                       start_params: np.ndarray | None = None) -> Forecast:
    """Select orders (or use ``spec``), fit by ``method`` ("ml", or the cheaper "css") and forecast with an interval.

    ``start_params`` (SARIMAX's order, for ``spec``) start the CSS fit, and rescue it when it leaves the stationary
    and invertible region; the backtest passes the estimates from the whole series.
    """
    values = np.asarray(series.values, dtype=np.float64)[-MAX_FIT_POINTS:]
    if len(values) < MIN_POINTS:
        raise ValueError(f"ARIMA needs at least {MIN_POINTS} points, got {len(values)}")
    with warnings.catch_warnings():
        # Convergence and start-parameter warnings are routine in an automatic fit; the result is checked below.
        warnings.simplefilter("ignore")
        if spec is None:
            spec, params, tried = search(values, period)
            css_aic = None
        else:
            x = differenced(values, spec)
            # Refits only need a valid model, not one safely away from the boundary as the search prefers.
            params, css_aic = css_fit(x, spec, spec.p + spec.P * spec.m, start_params, margin=VALID_MARGIN)
            tried = 1
        aic = None
        if len(params) and (method == "ml" or (css_aic is not None and not np.isfinite(css_aic))):
            # Exact likelihood from the CSS estimates; also the rescue when CSS lands outside the stationary and
            # invertible region (a fixed spec on a new history can), starting then from the given parameters.
            start = params if css_aic is None or np.isfinite(css_aic) else start_params
            result = spec.model(values, simple=True).fit(start_params=start, method="lbfgs", maxiter=ML_MAXITER,
                                                         disp=False, cov_type="none")
            if np.all(np.isfinite(result.params)):
                params, aic = np.asarray(result.params), round(float(result.aic), 2)
        # No parameter covariance: by default filter() estimates one (outer product of gradients), 6x its own cost.
        prediction = spec.model(values, simple=False).filter(params, cov_type="none").get_forecast(horizon)
        mean = np.asarray(prediction.predicted_mean, dtype=np.float64)
        bounds = np.asarray(prediction.conf_int(alpha=1 - level), dtype=np.float64)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(bounds))):
        raise ValueError(f"{spec.name} produced a non-finite forecast")
    details = {"order": [spec.p, spec.d, spec.q], "seasonal_order": [spec.P, spec.D, spec.Q, spec.m],
               "constant": spec.constant, "aic": aic, "method": method, "models_tried": tried,
               "fit_points": len(values), "spec": asdict(spec), "params": np.round(params, 6).tolist()}
    return Forecast(values=mean.tolist(), model=spec.name, lower=np.minimum(bounds[:, 0], mean).tolist(),
                    upper=np.maximum(bounds[:, 1], mean).tolist(), level=level,
                    period=spec.m if spec.seasonal else None, details=details)

"""The types every forecasting module shares, and the one error they raise for bad input."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from chatbot.errors import InputError

MAX_POINTS = 100_000  # more is refused: fitting would take minutes and the chart would be noise
MAX_HORIZON = 1_000  # and never more than the series is long (see ``check_horizon``)


class ForecastInputError(InputError):
    """Input that cannot be forecast: a stable ``code``, a Korean ``message`` for the user, an HTTP ``status``."""


@dataclass
class Series:
    """A univariate series, oldest first, with its dates when it has them."""

    values: np.ndarray  # float64, shape (n,), all finite
    index: pd.DatetimeIndex | None = None  # one date per value, when known
    freq: str | None = None  # pandas offset alias of the dates ("MS", "W-SUN", "D", "QS-OCT", "YS-JAN"...)
    name: str = ""  # what the values are ("CO2 농도 (ppm)"), for the chart
    source: str = ""  # "message", "csv:FILE", "dataset:co2"

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class Forecast:
    """What a model predicts after the series: ``horizon`` values, with an interval where the model gives one."""

    values: list[float]
    model: str  # readable: "SARIMA(1,1,1)(0,1,1)[12]", "Holt-Winters (additive, 12)", "LSTM", "seasonal naive"
    lower: list[float] | None = None
    upper: list[float] | None = None
    level: float = 0.95  # of the interval
    period: int | None = None  # the seasonal period used (None: no seasonality)
    dates: list[str] | None = None  # ISO dates of the forecast, when the series has dates
    backtest: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> {"mase", "smape"} (auto)
    details: dict[str, Any] = field(default_factory=dict)  # model-specific facts (orders, AIC, ...)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_horizon(horizon: int, length: int) -> int:
    """``horizon`` if it is a sensible number of steps after ``length`` points, else ForecastInputError."""
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)):
        raise ForecastInputError("invalid_horizon", "예측 기간은 1 이상의 정수로 적어 주세요. 예: h=12")
    if horizon < 1:
        raise ForecastInputError("invalid_horizon", "예측 기간은 1 이상이어야 해요. 예: h=12")
    limit = min(MAX_HORIZON, max(1, length))
    if horizon > limit:
        raise ForecastInputError(
            "horizon_too_large",
            f"예측 기간이 너무 길어요. 데이터 {length:,}개로는 {limit:,}단계까지만 예측할 수 있어요.",
        )
    return int(horizon)


def too_many_points(count: int) -> ForecastInputError:
    """The 413 for a series longer than MAX_POINTS."""
    return ForecastInputError(
        "too_many_points", f"값이 너무 많아요 ({count:,}개 이상). 한 번에 {MAX_POINTS:,}개까지 예측할 수 있어요.", 413)


def validate_values(values: object) -> np.ndarray:
    """``values`` as a finite float64 array of 3 to MAX_POINTS numbers, not all equal; else ForecastInputError."""
    if values is None:
        values = []
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ForecastInputError("not_a_number", "숫자가 아닌 값이 섞여 있어요. 숫자만 보내 주세요.") from None
    array = array.reshape(-1) if array.ndim != 1 else array
    if len(array) > MAX_POINTS:
        raise too_many_points(len(array))
    if len(array) < 3:
        raise ForecastInputError("too_few_points",
                                 f"값이 너무 적어요: {len(array)}개. 적어도 3개는 있어야 예측할 수 있어요.")
    bad = np.flatnonzero(~np.isfinite(array))
    if len(bad):
        raise ForecastInputError("non_finite",
                                 f"{bad[0] + 1}번째 값이 NaN이나 무한대예요. 숫자로 채우거나 지워 주세요.")
    if np.all(array == array[0]):
        raise ForecastInputError(
            "constant_series", f"값이 모두 같아서 예측할 게 없어요 (모두 {array[0]:g}). 앞으로도 같은 값일 거예요.")
    return np.array(array, dtype=np.float64)  # a copy: the caller's list or array is never shared

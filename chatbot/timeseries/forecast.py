"""The one entry point for forecasting: check the request, pick the model, forecast, date it, and describe it."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from chatbot.timeseries import arima, ets
from chatbot.timeseries.seasonality import detect_period, series_freq
from chatbot.timeseries.series import Forecast, ForecastInputError, Series, check_horizon

logger = logging.getLogger(__name__)

MODELS = ("auto", "arima", "ets", "naive", "drift", "seasonal_naive", "lstm")
MODEL_LABELS = {"auto": "자동 선택", "arima": "ARIMA", "ets": "지수평활(ETS)", "naive": "naive",
                "drift": "drift(추세 연장)", "seasonal_naive": "계절 naive", "lstm": "LSTM"}
MIN_POINTS = {"naive": 2, "drift": 2, "seasonal_naive": 2, "arima": arima.MIN_POINTS, "ets": ets.MIN_POINTS, "auto": 3,
              "lstm": 3}  # without a season; the network checks its own, larger, minimum


def seasonal_min_points(model: str, period: int) -> int:
    """Points a model needs to fit a season of ``period``: two full seasons and a few more for its parameters."""
    if model == "seasonal_naive":
        return period + 1
    if model == "ets":
        return ets.seasonal_min_points(period)
    return 2 * period + arima.MIN_POINTS  # arima (auto drops the season itself when it cannot be fitted)


def _too_few(model: str, needed: int, have: int, period: int | None = None) -> ForecastInputError:
    subject = f"{MODEL_LABELS[model]} 모델로 주기 {period}의 계절성을 맞추려면" if period else (
        f"{MODEL_LABELS[model]} 모델은")
    return ForecastInputError("too_few_points", f"{subject} 데이터가 최소 {needed:,}개 필요해요 (지금 {have:,}개). "
                                                "데이터를 더 주시거나 다른 모델을 골라 주세요.")


def future_dates(series: Series, horizon: int) -> list[str] | None:
    """ISO dates of the ``horizon`` steps after the series, when its dates and their frequency are known."""
    if series.index is None or len(series.index) == 0:
        return None
    freq = series_freq(series)
    if not freq:
        return None
    try:
        dates = pd.date_range(series.index[-1], periods=horizon + 1, freq=freq)[1:]
    except (ValueError, TypeError):
        return None
    return [d.date().isoformat() if d == d.normalize() else d.isoformat() for d in dates]


def _resolve_period(series: Series, model: str, period: int | None) -> tuple[int | None, bool]:
    """The seasonal period to use and whether the user gave it (a detected one is dropped quietly if unusable)."""
    n = len(series)
    if period is not None:
        if isinstance(period, bool) or not isinstance(period, (int, np.integer)) or period < 2 or period > n:
            raise ForecastInputError("invalid_period", f"계절 주기는 2 이상 {max(n, 2):,} 이하의 정수로 적어 주세요. "
                                                       "예: period=12")
        return int(period), True
    if n < 4 or model in ("naive", "drift"):
        return None, False
    return detect_period(series), False


def _check_length(series: Series, model: str, period: int | None, given: bool) -> int | None:
    """Raise ``too_few_points`` for a series too short for ``model``; the period the model can actually use."""
    n = len(series)
    if n < MIN_POINTS[model]:
        raise _too_few(model, MIN_POINTS[model], n)
    if model == "seasonal_naive" and not period:
        raise ForecastInputError("no_season", "계절 주기를 찾지 못해 계절 naive를 쓸 수 없어요. "
                                              "주기를 알려 주시거나(예: period=12) 다른 모델을 골라 주세요.")
    if period and model in ("seasonal_naive", "ets", "arima") and n < seasonal_min_points(model, period):
        if given or model == "seasonal_naive":
            raise _too_few(model, seasonal_min_points(model, period), n, period)
        logger.info("%s: %d points are too few for a season of %d, fitting without one", model, n, period)
        return None
    return period


def _fit(series: Series, horizon: int, model: str, level: float, period: int | None) -> Forecast:
    from chatbot.timeseries import baselines

    if model == "auto":
        from chatbot.timeseries.auto import choose_and_forecast

        return choose_and_forecast(series, horizon, period, level=level)
    if model == "arima":
        return arima.fit_forecast_arima(series, horizon, period, level)
    if model == "ets":
        return ets.fit_forecast_ets(series, horizon, period, level)
    if model == "naive":
        return baselines.naive(series, horizon, level)
    if model == "drift":
        return baselines.drift(series, horizon, level)
    if model == "seasonal_naive":
        return baselines.seasonal_naive(series, horizon, period, level)
    try:
        from chatbot.timeseries.rnn import fit_forecast_rnn
    except ImportError as exc:
        logger.exception("the LSTM forecaster cannot be imported")
        raise ForecastInputError(
            "model_unavailable", "LSTM 모델을 지금은 쓸 수 없어요 (필요한 모듈을 불러오지 못했어요). "
                                 "model=auto로 다시 시도해 주세요.", status=503) from exc
    return fit_forecast_rnn(series, horizon, period, level)


def forecast(series: Series, horizon: int, model: str = "auto", level: float = 0.95,
             period: int | None = None) -> Forecast:
    """Forecast ``horizon`` steps after ``series`` with ``model`` (see MODELS); bad input is a ForecastInputError."""
    if model not in MODELS:
        raise ForecastInputError("unknown_model", f"모르는 모델이에요: {model}. 쓸 수 있는 모델: {', '.join(MODELS)}")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0.5 <= level < 1:
        raise ForecastInputError("invalid_level", "신뢰 수준은 0.5 이상 1 미만으로 적어 주세요. 예: 0.95")
    values = np.asarray(series.values, dtype=np.float64)
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise ForecastInputError("invalid_values", "값에 숫자가 아닌 것(빈칸, NaN, 무한대)이 있어요. 확인해 주세요.")
    horizon = check_horizon(horizon, len(values))
    period, given = _resolve_period(series, model, period)
    period = _check_length(series, model, period, given)
    constant = model in ("auto", "arima", "ets") and np.ptp(values) == 0
    if constant:  # nothing to model, and the likelihoods degenerate: repeat the value
        model = "naive"
    try:
        result = _fit(series, horizon, model, float(level), period)
    except ForecastInputError:
        raise
    except Exception as exc:  # statsmodels, scipy and torch raise many kinds; the user gets one clear message
        logger.exception("%s failed on %d points (horizon %d, period %s)", model, len(values), horizon, period)
        raise ForecastInputError(
            "model_failed", f"{MODEL_LABELS[model]} 모델이 이 데이터에 맞춰지지 않았어요. 데이터를 확인하시거나 "
                            "다른 모델(예: model=naive)로 다시 시도해 주세요.", status=422) from exc
    if result.dates is None:
        result.dates = future_dates(series, horizon)
    if constant:
        result.details["note"] = "constant series: the value is repeated"
    return result


def _fmt(value: float, scale: float) -> str:
    """A value rounded to about four significant digits of the series' scale, with thousands separators."""
    magnitude = math.floor(math.log10(scale)) if scale > 0 else 0
    decimals = int(min(max(3 - magnitude, 0), 6))
    return f"{value:,.{decimals}f}"


UNITS = (("MIN", "분"), ("BH", "시간"), ("H", "시간"), ("B", "영업일"), ("D", "일"), ("W", "주"), ("SM", "반월"),
         ("BQ", "분기"), ("Q", "분기"), ("BM", "개월"), ("M", "개월"), ("Y", "년"), ("A", "년"))


def _unit(series: Series) -> str:
    """The Korean word for one step of the series ("개월" for monthly data), or "단계" when unknown."""
    freq = series_freq(series)
    if not freq:
        return "단계"
    try:
        code = pd.tseries.frequencies.to_offset(freq).rule_code.split("-")[0].upper()
    except ValueError:
        return "단계"
    return next((word for prefix, word in UNITS if code.startswith(prefix)), "단계")


def _object_particle(word: str) -> str:
    """을 after a closed final syllable, else 를 (digits and Latin letters read as 를)."""
    last = word[-1] if word else ""
    return "을" if "가" <= last <= "힣" and (ord(last) - 0xAC00) % 28 else "를"


def _trend_sentence(values: np.ndarray, predicted: np.ndarray, period: int | None, unit: str,
                    horizon_words: str) -> str:
    n = len(values)
    seasonal = bool(period) and n >= period + 2
    if seasonal:
        # Against the same part of the last season, so the season itself does not read as a trend.
        k = min(len(predicted), period)
        before = values[n - period:n - period + k]
        change = float(np.mean(predicted[:k] - before))
        noise = float(np.std(values[period:] - values[:-period]))
        year = (period, unit) in ((12, "개월"), (4, "분기"), (52, "주"))
        where = "1년 전 같은 시기" if year else f"한 주기({period}{unit}) 전 같은 시기"
    else:
        before = values[-1:]
        # The model's own path, stretched over the whole horizon, rather than the noisy last observation.
        steps = len(predicted)
        change = float((predicted[-1] - predicted[0]) * steps / (steps - 1)) if steps > 1 else float(
            predicted[0] - values[-1])
        noise = float(np.std(np.diff(values))) if n > 2 else 0.0
        where = f"앞으로 {horizon_words} 동안"
    scale = float(np.max(np.abs(values)))
    if abs(change) <= 0.5 * noise or abs(change) < 1e-9 * max(scale, 1.0):
        if seasonal:
            return f"{where}와 비슷한 수준으로, 큰 변화는 없을 것으로 보여요."
        return f"{where} 큰 변화 없이 지금과 비슷한 수준이 이어질 것으로 보여요."
    base = float(np.mean(np.abs(before)))
    size = _fmt(abs(change), scale) + (f"({abs(change) / base * 100:.1f}%)" if np.all(values > 0) and base > 0 else "")
    if seasonal:
        return f"{where}보다 평균 {size} {'높아, 증가' if change > 0 else '낮아, 감소'} 추세예요."
    return f"{where} 약 {size} {'늘어나는 증가' if change > 0 else '줄어드는 감소'} 추세예요."


def describe(series: Series, fc: Forecast) -> str:
    """A short Korean summary: trend, seasonality, the next values, the model and the interval level."""
    values = np.asarray(series.values, dtype=np.float64)
    predicted = np.asarray(fc.values, dtype=np.float64)
    unit = _unit(series)
    horizon_words = f"{len(predicted)}{unit}"
    sentences = [f"앞으로 {horizon_words}{_object_particle(horizon_words)} 예측했어요."]
    sentences.append(_trend_sentence(values, predicted, fc.period, unit, horizon_words))
    if fc.period and unit in ("단계", "년"):  # a cycle of years (sunspots) is not a season of the calendar
        sentences.append(f"{fc.period}{unit}마다 반복되는 주기적인 패턴이 있어요.")
    elif fc.period:
        sentences.append(f"{fc.period}{unit} 주기의 계절성이 있어요.")
    else:
        sentences.append("뚜렷한 계절성은 보이지 않아요.")
    scale = float(max(np.max(np.abs(values)), np.max(np.abs(predicted))))
    cut = {"개월": 7, "분기": 7, "년": 4}.get(unit)
    shown = [(f"{fc.dates[i][:cut]} " if fc.dates else "") + _fmt(v, scale) for i, v in enumerate(predicted[:3])]
    sentences.append(f"다음 값은 {', '.join(shown)} 순으로 예상돼요.")
    how = " (최근 백테스트에서 오차가 가장 작아 자동으로 골랐어요)" if fc.details.get("chosen_by") == (
        "rolling-origin backtest (MASE)") else ""
    sentences.append(f"모델: {fc.model}{how}. 예측구간은 {fc.level * 100:g}% 수준이에요.")
    return " ".join(sentences)

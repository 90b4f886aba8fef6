"""The forecasting models on synthetic series of known structure: seasons, intervals, dates, errors, the summary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from chatbot.timeseries import arima
from chatbot.timeseries.auto import CHOSEN_BY, origins_for
from chatbot.timeseries.baselines import naive, seasonal_naive
from chatbot.timeseries.forecast import describe, forecast
from chatbot.timeseries.metrics import mase, smape
from chatbot.timeseries.seasonality import detect_period, seasonal_strength
from chatbot.timeseries.series import ForecastInputError, Series

N, H, PERIOD, AMPLITUDE = 120, 12, 12, 10.0


def pattern(t: np.ndarray, slope: float = 0.5) -> np.ndarray:
    """Trend plus a 12-month sinusoid: the noise-free truth the forecasts are judged against."""
    return 100 + slope * t + AMPLITUDE * np.sin(2 * np.pi * t / PERIOD)


def monthly(slope: float = 0.5, n: int = N, seed: int = 0) -> Series:
    t = np.arange(n)
    values = pattern(t, slope) + np.random.default_rng(seed).normal(0, 1.0, n)
    return Series(values=values, index=pd.date_range("2010-01-01", periods=n, freq="MS"), freq="MS", name="sales")


@pytest.fixture(scope="module")
def series() -> Series:
    return monthly()


@pytest.fixture(scope="module")
def truth() -> np.ndarray:
    return pattern(np.arange(N, N + H))


@pytest.fixture(scope="module")
def forecasts(series):
    """Each model's forecast of the synthetic series, fitted once for the whole module."""
    return {model: forecast(series, H, model) for model in ("auto", "arima", "ets", "seasonal_naive", "naive")}


@pytest.mark.parametrize("model", ["auto", "arima", "ets", "seasonal_naive"])
def test_seasonal_models_follow_the_season(forecasts, truth, model):
    fc = forecasts[model]
    values = np.asarray(fc.values)
    assert len(values) == H and fc.period == PERIOD
    assert np.corrcoef(values, truth)[0, 1] > 0.9
    limit = 0.8 if model == "seasonal_naive" else 0.25  # seasonal naive misses a year of trend (6 units)
    assert np.mean(np.abs(values - truth)) < limit * AMPLITUDE


@pytest.mark.parametrize("model", ["auto", "arima", "ets", "seasonal_naive", "naive"])
def test_intervals_contain_the_forecast_and_widen_with_the_horizon(forecasts, model):
    fc = forecasts[model]
    lower, values, upper = map(np.asarray, (fc.lower, fc.values, fc.upper))
    assert np.all(lower <= values) and np.all(values <= upper)
    width = upper - lower
    assert fc.level == 0.95 and width[0] > 0
    if model == "seasonal_naive":  # a step up after each full season, flat within one
        assert np.all(np.diff(width) >= -1e-9)
    else:
        assert width[-1] > width[0]


def test_arima_reports_its_orders_and_search(forecasts):
    fc = forecasts["arima"]
    assert fc.model.startswith("SARIMA(") and fc.model.endswith(f")[{PERIOD}]")
    assert fc.details["seasonal_order"][3] == PERIOD
    assert 1 <= fc.details["models_tried"] <= arima.MAX_MODELS
    assert fc.details["aic"] is not None


def test_ets_names_the_variant_it_chose(forecasts):
    fc = forecasts["ets"]
    assert fc.model.startswith("Holt-Winters") and f"주기 {PERIOD}" in fc.model
    assert fc.details["ets"].startswith("ETS(A,") and fc.details["aicc_by_model"]


def test_auto_beats_or_ties_seasonal_naive_and_records_the_backtest(forecasts):
    fc = forecasts["auto"]
    assert fc.details["chosen_by"] == CHOSEN_BY
    assert {"ets", "arima", "naive", "seasonal_naive"} <= set(fc.backtest)
    for scores in fc.backtest.values():
        assert scores["mase"] >= 0 and 0 <= scores["smape"] <= 200 and scores["origins"] == 3
    chosen = fc.backtest[fc.details["chosen"]]["mase"]
    assert chosen == min(s["mase"] for s in fc.backtest.values())
    assert chosen <= fc.backtest["seasonal_naive"]["mase"]


def test_forecast_dates_continue_the_monthly_dates(forecasts, series):
    dates = forecasts["auto"].dates
    expected = pd.date_range(series.index[-1], periods=H + 1, freq="MS")[1:]
    assert dates == [d.date().isoformat() for d in expected]
    assert dates[0] == "2020-01-01"


def test_detect_period_finds_the_month_and_the_week_and_no_season_in_noise(series):
    assert detect_period(series) == 12
    assert detect_period(Series(values=series.values)) == 12  # from the autocorrelation alone, without dates
    days = np.arange(140)
    weekly = 20 + 5 * np.isin(days % 7, [5, 6]) + np.random.default_rng(1).normal(0, 1, 140)
    daily = Series(values=weekly, index=pd.date_range("2024-01-01", periods=140, freq="D"), freq="D")
    assert detect_period(daily) == 7
    noise = np.random.default_rng(2).normal(0, 1, 120)
    assert detect_period(Series(values=noise, index=series.index, freq="MS")) is None
    assert detect_period(Series(values=noise)) is None


def test_detect_period_prefers_the_season_to_its_multiples():
    # Without dates, noise sometimes makes lag 24 (or 84) peak higher than lag 12, or moves the peak to 11.
    t = np.arange(200)
    found = {detect_period(Series(values=200 + 0.8 * t + 25 * np.sin(2 * np.pi * t / 12)
                                  + np.random.default_rng(seed).normal(0, 4, 200)))
             for seed in range(30)}
    assert found == {12}


def test_seasonal_strength_separates_a_season_from_noise(series):
    assert seasonal_strength(series.values, 12) > 0.9
    assert seasonal_strength(np.random.default_rng(3).normal(0, 1, 120), 12) < 0.64


def test_metrics_match_hand_computed_values():
    # MASE: MAE 1 over the mean one-step change of the history (1, 2, 3 -> 2).
    assert mase([3, 5], [4, 4], history=[1, 2, 4, 7], period=None) == pytest.approx(0.5)
    # Seasonal lag 2: |4-1|, |7-2|, |5-4|, |9-7| -> 2.75; MAE (1 + 2) / 2.
    assert mase([10, 8], [9, 10], history=[1, 2, 4, 7, 5, 9], period=2) == pytest.approx(1.5 / 2.75)
    assert smape([100, 0], [110, 0]) == pytest.approx(100 * (2 * 10 / 210) / 2)  # 0 vs 0 counts as perfect
    assert smape([1], [-1]) == pytest.approx(200.0)
    assert smape([0, 0], [0, 0]) == 0.0
    assert mase([5, 5], [5, 5], history=[5, 5, 5]) == 0.0  # a constant history: perfect is still 0
    assert math.isinf(mase([5, 6], [5, 5], history=[5, 5, 5]))


def test_naive_intervals_follow_the_standard_formulas():
    history = Series(values=np.array([1.0, 2.0, 4.0, 3.0, 5.0]))
    fc = naive(history, 4, level=0.95)
    sd = math.sqrt(np.mean(np.diff(history.values) ** 2))
    assert fc.values == [5.0] * 4
    half = (np.asarray(fc.upper) - np.asarray(fc.lower)) / 2
    assert half == pytest.approx(1.959964 * sd * np.sqrt([1, 2, 3, 4]), rel=1e-5)
    season = seasonal_naive(Series(values=np.array([1.0, 2, 3, 2, 3, 4])), 4, period=3)
    assert season.values == [2.0, 3.0, 4.0, 2.0] and season.model == "seasonal naive"


def test_too_few_points_is_a_korean_error_that_says_how_many():
    with pytest.raises(ForecastInputError) as caught:
        forecast(Series(values=np.array([1.0, 2, 3, 4, 5])), 2, "arima")
    assert caught.value.code == "too_few_points" and "최소 8개" in caught.value.message
    with pytest.raises(ForecastInputError) as caught:
        forecast(Series(values=np.arange(20.0)), 3, "ets", period=12)  # a season of 12 needs two of them
    assert caught.value.code == "too_few_points" and "주기 12" in caught.value.message
    with pytest.raises(ForecastInputError) as caught:
        forecast(Series(values=np.arange(10.0)), 3, "seasonal_naive")
    assert caught.value.code == "no_season"


def test_bad_requests_are_input_errors():
    values = Series(values=np.arange(30.0))
    for kwargs, code in (({"model": "prophet"}, "unknown_model"), ({"level": 1.5}, "invalid_level"),
                         ({"period": 1}, "invalid_period")):
        with pytest.raises(ForecastInputError) as caught:
            forecast(values, 3, **kwargs)
        assert caught.value.code == code
    with pytest.raises(ForecastInputError):
        forecast(values, 0)


def test_a_statsmodels_failure_becomes_a_korean_model_failed_error(monkeypatch, series):
    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("Schur decomposition solver error.")

    monkeypatch.setattr(arima, "fit_forecast_arima", broken)
    with pytest.raises(ForecastInputError) as caught:
        forecast(series, H, "arima")
    assert caught.value.code == "model_failed" and "ARIMA" in caught.value.message
    assert any("\uac00" <= ch <= "\ud7a3" for ch in caught.value.message)
    assert forecast(series, H, "auto").details["chosen"] != "arima"  # auto carries on without it


SHAPES = {"constant": np.full(30, 7.0), "almost constant": np.r_[np.full(29, 7.0), 7.001],
          "tiny": np.array([1.0, 2.0, 3.0])}
CASES = [(shape, model) for shape in SHAPES for model in ("auto", "arima", "ets", "naive")
         if shape != "tiny" or model in ("auto", "naive")]  # ARIMA and ETS refuse 3 points (the test above)


@pytest.mark.parametrize(("shape", "model"), CASES)
def test_constant_or_tiny_series_do_not_crash(shape, model):
    values = SHAPES[shape]
    fc = forecast(Series(values=values), 3, model)
    assert len(fc.values) == 3 and np.all(np.isfinite(fc.values))
    if shape == "tiny" and model == "auto":  # 1 2 3: the drift baseline wins the backtest and goes on climbing
        assert fc.details["chosen"] == "drift" and fc.values == pytest.approx([4.0, 5.0, 6.0])
    else:
        assert np.all(np.abs(np.asarray(fc.values) - values[-1]) < 2.0)


def test_a_short_rising_zigzag_keeps_rising():
    """Ten points that climb by about one a step: auto must not go flat (it picked naive on one lucky origin)."""
    fc = forecast(Series(values=np.array([3, 5, 4, 6, 8, 7, 9, 11, 10, 12], dtype=float)), 3, "auto")
    assert fc.details["chosen"] == "drift" and len(fc.details["backtest_origins"]) == 3
    assert fc.values == pytest.approx([13.0, 14.0, 15.0])
    assert fc.lower[0] < 13.0 < fc.upper[0] and fc.upper[2] - fc.lower[2] > fc.upper[0] - fc.lower[0]


def test_a_flat_noisy_series_stays_flat():
    fc = forecast(Series(values=np.array([10, 10, 11, 10, 10, 11, 10, 10], dtype=float)), 3, "auto")
    assert fc.details["chosen"] == "naive" and fc.values == [10.0, 10.0, 10.0]


def test_drift_can_be_asked_for_by_name():
    fc = forecast(Series(values=np.array([100, 98, 97, 95, 92, 91], dtype=float)), 2, "drift")
    assert fc.model == "drift" and fc.values == pytest.approx([89.2, 87.4])
    assert fc.details["drift_per_step"] == pytest.approx(-1.8)


def test_arima_survives_kpss_bandwidth_overflow():
    """statsmodels' automatic KPSS lag overflowed on this series and ARIMA was silently left out of auto."""
    fc = forecast(Series(values=np.array([10, 12, 11, 13, 15, 14, 16, 18, 17, 19, 21, 20, 22, 24], dtype=float)),
                  3, "auto")
    assert "arima" in fc.backtest and "ets" in fc.backtest
    assert forecast(Series(values=np.array([3, 5, 4, 6, 8, 7, 9, 11, 10, 12], dtype=float)), 3, "arima").values


def test_a_season_seen_twice_is_repeated_by_auto():
    season = [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118]
    fc = forecast(Series(values=np.array(season * 2, dtype=float)), 12, "auto")
    assert fc.period == 12 and fc.values == pytest.approx(season, abs=1.0)


def test_backtest_origins_leave_the_minimum_history():
    assert origins_for(120, 12, 26) == ([84, 96, 108], 12)
    points, steps = origins_for(30, 12, 26)  # too short for a full horizon: one origin, a shorter horizon
    assert points == [26] and steps == 4
    assert origins_for(10, 12, 26) == ([], 0)


def test_describe_mentions_the_trend_the_season_the_model_and_the_level(series, forecasts):
    text = describe(series, forecasts["auto"])
    assert "증가" in text and "12개월 주기" in text and "95%" in text
    assert forecasts["auto"].model in text
    falling = monthly(slope=-0.8, seed=4)
    assert "감소" in describe(falling, forecast(falling, H, "ets"))
    flat = Series(values=np.random.default_rng(5).normal(50, 1, 60))
    text = describe(flat, forecast(flat, 6, "naive"))
    assert "큰 변화 없이" in text and "계절성은 보이지 않아요" in text

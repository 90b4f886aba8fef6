"""The LSTM/GRU forecaster: it follows a season, its intervals, short series, saved models and ``train-forecaster``."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from chatbot.cli import main
from chatbot.models.trainer import TrainConfig
from chatbot.timeseries.rnn import (
    RNNConfig,
    fit_forecast_rnn,
    forecast_with_model,
    load_forecaster,
    resolve_config,
    save_forecaster,
    train_network,
)
from chatbot.timeseries.series import ForecastInputError, Series

HANGUL = re.compile("[가-힣]")


def seasonal(n: int, horizon: int = 12, seed: int = 0) -> tuple[Series, np.ndarray]:
    """Trend + a 12-step sinusoid + noise: the first ``n`` points, and the noise-free ``horizon`` after them.

    The noise is autocorrelated, as in most real series: the last values then tell something about
    the next few, less about later ones, and the forecast's uncertainty grows with the step."""
    t = np.arange(n + horizon)
    signal = 50 + 0.1 * t + 5 * np.sin(2 * np.pi * t / 12)
    shocks = np.random.default_rng(seed).normal(0, 0.5, n + horizon)
    noise = np.zeros(n + horizon)
    for i in range(1, n + horizon):
        noise[i] = 0.7 * noise[i - 1] + shocks[i]
    return Series(values=(signal + noise)[:n], source="test"), signal[n:]


@pytest.fixture(scope="module")
def lstm_forecast():
    series, future = seasonal(200)
    return fit_forecast_rnn(series, 12, period=12, seed=0, device="cpu"), future


def test_the_lstm_follows_the_season(lstm_forecast):
    forecast, future = lstm_forecast
    assert forecast.model == "LSTM" and forecast.period == 12 and len(forecast.values) == 12
    assert np.corrcoef(forecast.values, future)[0, 1] > 0.8
    assert np.mean(np.abs(np.asarray(forecast.values) - future)) < 2.0  # the level and trend too, not just the shape
    assert forecast.details["window"] == 24 and forecast.details["stopped_by"] in ("early_stopping", "epochs")
    assert "validation" in forecast.details["interval"]


def test_intervals_bracket_the_forecast_and_widen(lstm_forecast):
    forecast, _ = lstm_forecast
    values, lower, upper = (np.asarray(x) for x in (forecast.values, forecast.lower, forecast.upper))
    assert forecast.level == 0.95
    assert np.all(lower < values) and np.all(values < upper)
    width = upper - lower
    assert np.all(np.diff(width) >= -1e-9) and width[-1] > width[0]


def test_the_gru_works_too():
    series, future = seasonal(200, seed=1)
    forecast = fit_forecast_rnn(series, 12, period=12, config=RNNConfig(cell="gru"), seed=0, device="cpu")
    assert forecast.model == "GRU" and forecast.details["cell"] == "gru"
    assert np.corrcoef(forecast.values, future)[0, 1] > 0.8


def test_a_short_series_names_how_many_points_it_needs():
    series, _ = seasonal(40)
    with pytest.raises(ForecastInputError) as caught:
        fit_forecast_rnn(series, 12, period=12)
    error = caught.value
    assert error.code == "too_few_points" and error.status == 400
    assert HANGUL.search(error.message) and "40개" in error.message
    needed = int(re.search(r"최소 (\d+)개", error.message).group(1))
    fit_forecast_rnn(seasonal(needed)[0], 12, period=12, config=RNNConfig(epochs=1))  # that many is enough


def test_a_saved_model_forecasts_the_same_after_loading(tmp_path):
    series, _ = seasonal(150)
    config = resolve_config(RNNConfig(cell="gru", hidden_size=8, epochs=2), horizon=6, period=12)
    trained = train_network(series.values, config, TrainConfig(epochs=2, batch_size=32, warmup_steps=2,
                                                               checkpoint_every=0, progress=False, device="cpu"))
    save_forecaster(tmp_path / "m", trained.model, config, trained.scaler, {"sigma": trained.sigma, "data": "test"})
    loaded = load_forecaster(tmp_path / "m")
    assert loaded.config == config and loaded.sigma == trained.sigma
    before, after = forecast_with_model(trained, series, 15), forecast_with_model(tmp_path / "m", series, 15)
    assert after.values == before.values and after.upper == before.upper  # 15 > 6: the blocks are fed back too
    assert after.model == "GRU" and after.details["trained_on"] == "test"
    with pytest.raises(FileNotFoundError, match="train-forecaster"):
        load_forecaster(tmp_path / "nothing")


def write_csv(path, n: int = 180) -> None:
    series, _ = seasonal(n, seed=2)
    months = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(n)]
    path.write_text("month,sales\n" + "".join(f"{m},{v:.3f}\n" for m, v in zip(months, series.values, strict=True)),
                    encoding="utf-8")


def test_the_command_trains_resumes_and_writes_its_files(tmp_path, capsys):
    csv, out = tmp_path / "sales.csv", tmp_path / "model"
    write_csv(csv)
    assert main(["train-forecaster", "--data", str(csv), "--out", str(out), "--epochs", "2", "--hidden", "8",
                 "--horizon", "6", "--device", "cpu"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["model"] == "LSTM" and first["period"] == 12 and first["resumed_from"] == 0  # monthly dates: 12
    assert first["held_out"]["points"] == 18 and "seasonal_naive" in first["held_out"]
    for name in ("model.safetensors", "forecaster.json", "report.json", "loss_curve.png", "checkpoints/checkpoint.pt"):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["held_out"]["mase"] > 0 and len(report["history"]) == 2
    assert main(["train-forecaster", "--data", str(csv), "--out", str(out), "--epochs", "3", "--hidden", "8",
                 "--horizon", "6", "--device", "cpu", "--resume"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["resumed_from"] == first["steps"] > 0 and resumed["steps"] > first["steps"]
    from chatbot.timeseries.parse import read_csv

    forecast = forecast_with_model(out, read_csv(csv.read_bytes(), csv.name), 3)
    assert forecast.dates == ["2015-01-01", "2015-02-01", "2015-03-01"]
    assert main(["train-forecaster", "--data", str(csv), "--out", str(out), "--window", "13", "--hidden", "8",
                 "--horizon", "6", "--resume"]) == 2
    assert "window=24" in capsys.readouterr().err


def test_a_missing_file_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main(["train-forecaster", "--data", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nope.csv" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1

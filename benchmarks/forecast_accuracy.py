"""Issue 6 accuracy target: rolling-origin backtests of ``/forecast``'s ``auto`` on the bundled seasonal datasets.

For each dataset, the last ``--origins`` origins (``--horizon`` apart) each fit on everything before
the origin and forecast ``--horizon`` steps; MASE (scaled by the history's in-sample seasonal-naive
error) and sMAPE are averaged over the origins. Compared: our ``auto`` (and ``arima``, ``ets``),
seasonal naive, and pmdarima's ``auto_arima`` (benchmark-only: ``pip install -r
benchmarks/requirements-extra.txt``; skipped with a note when missing). Times are the total fitting
and forecasting seconds over all origins.

    python benchmarks/forecast_accuracy.py [--datasets co2 elnino gdp] [--origins 4] [--models auto arima ets]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np  # noqa: E402

from benchmarks.common import add_common_arguments, arguments_dict, emit, environment  # noqa: E402
from chatbot.timeseries.datasets import DATASETS, load_dataset  # noqa: E402
from chatbot.timeseries.forecast import forecast  # noqa: E402
from chatbot.timeseries.metrics import mase, smape  # noqa: E402
from chatbot.timeseries.series import Series  # noqa: E402

HORIZONS = {"MS": 12, "QS": 8, "YS": 10}


def period_of(name: str) -> int | None:
    return DATASETS[name].period_hint


def pmdarima_forecast(history: np.ndarray, horizon: int, period: int | None) -> np.ndarray:
    import pmdarima

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pmdarima.auto_arima(history, seasonal=bool(period), m=period or 1, suppress_warnings=True,
                                    error_action="ignore")
    return np.asarray(model.predict(n_periods=horizon), dtype=float)


def seasonal_naive(history: np.ndarray, horizon: int, period: int | None) -> np.ndarray:
    lag = period or 1
    return np.asarray([history[len(history) - lag + (i % lag)] for i in range(horizon)], dtype=float)


def evaluate(series: Series, horizon: int, origins: int, method: str, period: int | None) -> dict:
    values = series.values
    scores, seconds = [], 0.0
    for k in range(origins, 0, -1):
        origin = len(values) - k * horizon
        history, actual = values[:origin], values[origin:origin + horizon]
        started = time.perf_counter()
        if method == "seasonal_naive":
            predicted = seasonal_naive(history, horizon, period)
        elif method == "pmdarima":
            predicted = pmdarima_forecast(history, horizon, period)
        else:
            past = Series(history, series.index[:origin] if series.index is not None else None, series.freq,
                          series.name, series.source)
            predicted = np.asarray(forecast(past, horizon, method, period=period).values)
        seconds += time.perf_counter() - started
        scores.append((mase(actual, predicted, history, period), smape(actual, predicted)))
    return {"mase": round(statistics.fmean(s[0] for s in scores), 4),
            "smape": round(statistics.fmean(s[1] for s in scores), 3), "seconds": round(seconds, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["co2", "elnino", "gdp"])
    parser.add_argument("--origins", type=int, default=4)
    parser.add_argument("--models", nargs="+", default=["auto", "arima", "ets"])
    add_common_arguments(parser, data=False)
    args = parser.parse_args()
    try:
        import pmdarima  # noqa: F401
        methods = ["seasonal_naive", *args.models, "pmdarima"]
        note = None
    except ImportError:
        methods = ["seasonal_naive", *args.models]
        note = "pmdarima not installed: pip install -r benchmarks/requirements-extra.txt"
    results = {}
    for name in args.datasets:
        series = load_dataset(name)
        horizon = HORIZONS.get((series.freq or "").split("-")[0], 12)
        period = period_of(name)
        row = {"points": len(series), "horizon": horizon, "period": period}
        for method in methods:
            print(f"{name}: {method} ...", file=sys.stderr, flush=True)
            row[method] = evaluate(series, horizon, args.origins, method, period)
        ours = row["auto"]
        row["auto_beats_seasonal_naive"] = (ours["mase"] < row["seasonal_naive"]["mase"]
                                            and ours["smape"] < row["seasonal_naive"]["smape"])
        if "pmdarima" in row:
            row["auto_mase_vs_pmdarima"] = round(ours["mase"] / row["pmdarima"]["mase"] - 1, 4)
            row["speedup_vs_pmdarima"] = round(row["pmdarima"]["seconds"] / max(ours["seconds"], 1e-9), 2)
        results[name] = row
    emit({"benchmark": "forecast_accuracy", "results": results, "note": note,
          "targets": {"beats_seasonal_naive": True, "mase_within_of_pmdarima": 0.05, "speedup_vs_pmdarima": 3},
          "params": arguments_dict(args), "environment": environment(["statsmodels", "pandas", "pmdarima"])},
         args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

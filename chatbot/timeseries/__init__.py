"""Forecasting for the ``/forecast`` chat command: parse numbers, CSVs or bundled datasets, fit
ARIMA/SARIMA, Holt-Winters or a recurrent network, pick by backtest, and chart the result.

- ``series``: the shared types (``Series``, ``Forecast``) and ``ForecastInputError``;
- ``parse``: the message grammar and CSV detection; ``datasets``: statsmodels' bundled data;
- ``seasonality``, ``baselines``, ``arima``, ``ets``, ``rnn``: the models; ``auto``: backtests;
- ``forecast``: the one entry point; ``chart``: the PNG with Korean labels.
"""

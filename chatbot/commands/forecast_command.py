"""``/forecast``: numbers typed in the chat, an attached CSV or a bundled dataset, forecast and charted.

``Bot.reply`` also routes here a plain message that asks for a forecast with numbers in it
("다음 6개월 예측해줘 120 135 150 ...") and any message that carries a CSV file. Mistakes in
what was typed are answered with a helpful reply (the grammar, or what is wrong); a CSV file
that cannot be used raises its ``ForecastInputError``, which the web API returns as a 4xx error.
"""

from __future__ import annotations

import logging
from typing import Any

from chatbot.commands.registry import command
from chatbot.reply import Reply

logger = logging.getLogger(__name__)

DEFAULT_HORIZONS = {"MS": 12, "M": 12, "ME": 12, "QS": 4, "Q": 4, "QE": 4, "W": 8, "D": 14, "h": 24, "YS": 5,
                    "Y": 5, "YE": 5}


def default_horizon(series: Any) -> int:
    """Steps to forecast when the user did not say: a year of monthly data, a fortnight of daily..."""
    freq = (series.freq or "").split("-")[0]
    steps = DEFAULT_HORIZONS.get(freq, 10)
    return max(1, min(steps, len(series) // 2 or 1))


def _reply(text: str, attachments: list[dict[str, Any]] | None = None, suggestions: list[str] | None = None,
           confidence: float = 1.0) -> Reply:
    return Reply(text=text, intent="forecast", confidence=confidence, source="command",
                 attachments=attachments or [], suggestions=suggestions or [])


@command("forecast", "숫자, CSV 파일, 내장 데이터로 앞으로의 값을 예측하고 그래프로 보여 줘요",
         "/forecast 숫자들 [h=기간] | /forecast co2 | /forecast list")
def forecast_command(args: str, bot: Any, context: dict[str, Any]) -> Reply:
    """Parse, forecast, describe and chart; see ``chatbot.timeseries.parse.GRAMMAR_HELP``."""
    from chatbot.timeseries.chart import chart_png
    from chatbot.timeseries.datasets import dataset_list_text, load_dataset
    from chatbot.timeseries.forecast import describe, forecast
    from chatbot.timeseries.parse import GRAMMAR_HELP, check_request, parse_request, read_csv, series_from_values
    from chatbot.timeseries.series import ForecastInputError

    table = context.get("table")
    try:
        request = parse_request(args)
        if request.list_datasets and table is None:
            return _reply(dataset_list_text(), suggestions=["/forecast co2", "/forecast elnino h=24"])
        if table is not None:
            series = read_csv(table["data"], table.get("name") or "data.csv")  # errors propagate: a 4xx
        elif request.dataset:
            series = load_dataset(request.dataset)
        elif request.values:
            series = series_from_values(request.values)
        else:
            return _reply(GRAMMAR_HELP, suggestions=["/forecast list", "/forecast co2"])
        check_request(request, series)
        horizon = request.horizon or default_horizon(series)
        fc = forecast(series, horizon, request.model or "auto")
    except ForecastInputError as exc:
        if table is not None:
            raise
        return _reply(f"{exc.message}\n\n사용법은 '/forecast 도움말'로 볼 수 있어요.", suggestions=["/forecast 도움말"])
    chart = chart_png(series, fc)
    item = {"type": "forecast", **{k: v for k, v in fc.to_dict().items() if k != "details"},
            "horizon": len(fc.values), "source": series.source}
    return _reply(describe(series, fc), attachments=[
        item,
        {"type": "image", "role": "chart", "png": chart, "alt": f"{series.name or '데이터'} 예측 그래프"},
    ])

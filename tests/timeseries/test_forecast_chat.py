"""``/forecast`` in the chat, the web API and the command line: replies, attachments, bad input."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from chatbot.bot import Bot
from chatbot.cli import main

SEASON = [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118]


def monthly_csv(months: int = 48, header: str = "date,sales") -> bytes:
    rows = [header]
    for i in range(months):
        value = 100 + i + 15 * np.sin(2 * np.pi * i / 12)
        rows.append(f"{2020 + i // 12}-{i % 12 + 1:02d}-01,{value:.2f}")
    return ("\n".join(rows) + "\n").encode("utf-8")


@pytest.fixture(scope="module")
def chat_bot(tiny_model_dir) -> Bot:
    return Bot.load(tiny_model_dir)


def attachment(reply, kind: str) -> dict:
    return next(a for a in reply.attachments if a["type"] == kind)


def test_typed_numbers_with_a_horizon_get_a_forecast_a_summary_and_a_chart(chat_bot):
    reply = chat_bot.reply("/forecast " + " ".join(map(str, SEASON * 2)) + " 12", {})
    assert reply.intent == "forecast" and reply.source == "command"
    forecast = attachment(reply, "forecast")
    assert len(forecast["values"]) == 12 and forecast["model"]
    assert all(np.isfinite(forecast["values"]))
    chart = attachment(reply, "image")
    assert chart["role"] == "chart" and Image.open(io.BytesIO(chart["png"])).format == "PNG"
    assert any("\uac00" <= ch <= "\ud7a3" for ch in reply.text)  # a Korean summary


def test_plain_korean_request_with_numbers_is_a_forecast(chat_bot):
    reply = chat_bot.reply("다음 6개월 예측해줘 " + ", ".join(map(str, SEASON * 2)), {})
    assert reply.intent == "forecast" and len(attachment(reply, "forecast")["values"]) == 6


def test_help_list_and_dataset_forms(chat_bot):
    assert "/forecast" in chat_bot.reply("/forecast", {}).text  # the grammar, with examples
    assert "co2" in chat_bot.reply("/forecast list", {}).text
    reply = chat_bot.reply("/forecast co2 h=6", {})
    forecast = attachment(reply, "forecast")
    assert len(forecast["values"]) == 6 and forecast["dates"] and forecast["dates"][0][:4].isdigit()
    assert "/forecast" in chat_bot.reply("/help", {}).text


@pytest.mark.parametrize("text", ["/forecast 1 2 abc 4 5", "/forecast 5 5 5 5 5 5 5 5", "/forecast 1 2 3 4 5 h=0",
                                  "/forecast 1 2 nan 4 5 6", "/forecast 1 2"])
def test_bad_typed_input_gets_a_helpful_korean_reply(chat_bot, text):
    reply = chat_bot.reply(text, {})
    assert reply.intent == "forecast" and not [a for a in reply.attachments if a["type"] == "forecast"]
    assert "도움말" in reply.text and any("\uac00" <= ch <= "\ud7a3" for ch in reply.text.split("\n")[0])


def test_an_attached_csv_is_forecast_and_a_bad_one_raises(chat_bot):
    from chatbot.timeseries.series import ForecastInputError

    reply = chat_bot.reply("이거 예측해 줘", {}, table={"data": monthly_csv(), "name": "sales.csv"})
    forecast = attachment(reply, "forecast")
    assert len(forecast["values"]) == 12 and forecast["dates"][0].startswith("2024-01")
    with pytest.raises(ForecastInputError):
        chat_bot.reply("", {}, table={"data": b"name,city\na,b\nc,d\n", "name": "x.csv"})


def api_client(tmp_path, bot):
    from webui import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'f.db'}", "BOT": bot,
                      "UPLOAD_FOLDER": str(tmp_path / "uploads")})
    return app.test_client()


def test_api_round_trip_with_a_csv_file(tmp_path, chat_bot):
    client = api_client(tmp_path, chat_bot)
    response = client.post("/api/chat", data={"message": "", "file": (io.BytesIO(monthly_csv()), "매출.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    kinds = [(a["type"], a.get("role")) for a in body["attachments"]]
    assert kinds == [("file", "upload"), ("forecast", None), ("image", "chart")]
    upload, forecast, chart = body["attachments"]
    assert upload["name"] == "매출.csv" and len(forecast["values"]) == 12
    assert client.get(chart["url"]).mimetype == "image/png"
    download = client.get(upload["url"])
    assert download.status_code == 200 and download.data == monthly_csv()
    assert download.headers["Content-Disposition"].startswith("attachment")
    history = client.get(f"/api/conversations/{body['conversation_id']}").get_json()["messages"]
    assert [a["type"] for a in history[0]["attachments"]] == ["file"]
    assert [a["type"] for a in history[1]["attachments"]] == ["forecast", "image"]


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"", 400, "empty_file"),
    (b"name,city\na,b\nc,d\n", 400, "no_numeric_column"),
    (b"date,v\n2024-01-01,1\n01/02/2024,2\n2024.03.01,3\n2024-04-01,4\n", 400, "mixed_date_formats"),
])
def test_api_bad_csv_is_a_4xx_in_korean(tmp_path, chat_bot, data, status, code):
    client = api_client(tmp_path, chat_bot)
    response = client.post("/api/chat", data={"message": "예측", "file": (io.BytesIO(data), "x.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and any("\uac00" <= ch <= "\ud7a3" for ch in error["message"])
    assert not (tmp_path / "uploads").exists() or not list((tmp_path / "uploads").iterdir())


def test_api_typed_forecast_in_json(tmp_path, chat_bot):
    client = api_client(tmp_path, chat_bot)
    body = client.post("/api/chat", json={"message": "/forecast " + " ".join(map(str, SEASON * 2)) + " h=3"}).get_json()
    assert [a["type"] for a in body["attachments"]] == ["forecast", "image"]
    assert len(body["attachments"][0]["values"]) == 3


def test_command_line_forecast(tmp_path, capsys):
    (tmp_path / "s.csv").write_bytes(monthly_csv())
    assert main(["forecast", "--data", str(tmp_path / "s.csv"), "--horizon", "6", "--model", "ets",
                 "--chart", str(tmp_path / "c.png")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["type"] == "forecast" and len(result["values"]) == 6 and result["summary"]
    assert Image.open(tmp_path / "c.png").size[0] > 400
    assert main(["forecast", "--data", "dataset:nile", "--horizon", "5"]) == 0
    assert len(json.loads(capsys.readouterr().out)["values"]) == 5
    (tmp_path / "bad.csv").write_text("a,b\nx,y\n", encoding="utf-8")
    assert main(["forecast", "--data", str(tmp_path / "bad.csv")]) == 2
    assert capsys.readouterr().err.startswith("error:")

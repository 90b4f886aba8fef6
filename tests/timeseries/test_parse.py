"""The /forecast message grammar, plain-Korean detection, value checks and CSV detection."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from chatbot.timeseries.parse import (
    GRAMMAR_HELP,
    ForecastRequest,
    check_request,
    looks_like_forecast,
    parse_request,
    read_csv,
    series_from_values,
    validate_values,
)
from chatbot.timeseries.series import MAX_HORIZON, MAX_POINTS, ForecastInputError, Series

AIR = [112.0, 118.0, 132.0, 129.0, 121.0, 135.0, 148.0, 148.0, 136.0, 119.0, 104.0, 118.0]


def error_of(text: str, **kwargs) -> ForecastInputError:
    with pytest.raises(ForecastInputError) as info:
        parse_request(text, **kwargs)
    return info.value


# --- numbers and separators --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, values", [
    ("1 2 3", [1, 2, 3]),
    ("1, 2, 3", [1, 2, 3]),
    ("1,2,3", [1, 2, 3]),
    ("1、2、3", [1, 2, 3]),
    ("1\n2\n3", [1, 2, 3]),
    ("1;2;3", [1, 2, 3]),
    ("[1, 2, 3]", [1, 2, 3]),
    ("1.5 -2.25 .5 3.", [1.5, -2.25, 0.5, 3.0]),
    ("1e3 2.5E-1 -4e+2", [1000.0, 0.25, -400.0]),
    ("−5 −3 2", [-5, -3, 2]),  # U+2212, as copied from web pages
    ("１２ １３ １４", [12, 13, 14]),  # full-width digits
    ("매출:100 200 300", [100, 200, 300]),
])
def test_numbers_and_separators(text, values):
    assert parse_request(text).values == values


@pytest.mark.parametrize("text, values", [
    ("1,234 1,310 987", [1234, 1310, 987]),  # whitespace-separated: grouped commas are thousands separators
    ("1,234, 1,500, 1,620", [1234, 1500, 1620]),  # every number grouped: still thousands
    ("1,234.5 2,000.25 3", [1234.5, 2000.25, 3]),
    ("112,118,132", [112, 118, 132]),  # commas only: each comma separates
    ("112,118, 132", [112, 118, 132]),  # a ", " list where not every number is grouped: commas separate
    ("1,234", [1, 234]),  # a lone grouped number is a comma list too
    ("1,234 1,5 999", [1, 234, 1, 5, 999]),  # one comma not grouped by threes: every comma separates
    ("1,234원 1,500원 1,620원 예측", [1234, 1500, 1620]),
])
def test_comma_rule(text, values):
    assert parse_request(text).values == values


@pytest.mark.parametrize("text, values", [
    ("1월은 112, 2월은 118, 3월은 132였어요 예측해줘", [112, 118, 132]),  # month labels are not values
    ("120만원 130만원 150만원 예측", [1_200_000, 1_300_000, 1_500_000]),
    ("100달러 200달러 300달러 전망", [100, 200, 300]),
    ("3.5% 4% 4.5% 예측", [3.5, 4.0, 4.5]),
    ("2024년 매출 100 200 300 예측", [100, 200, 300]),  # a year is a label, not a 2024-step horizon
    ("2주차 10 3주차 12 4주차 15 예측", [10, 12, 15]),
])
def test_korean_units_and_labels(text, values):
    request = parse_request(text)
    assert request.values == values
    assert request.horizon is None


# --- horizon -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, horizon, source", [
    ("1 2 3 h=12", 12, "explicit"),
    ("1 2 3 h 12", 12, "explicit"),
    ("1 2 3 h = 12", 12, "explicit"),
    ("1 2 3 h:12", 12, "explicit"),
    ("1 2 3 horizon=12", 12, "explicit"),
    ("1 2 3 기간=4", 4, "explicit"),
    ("12개월 1 2 3", 12, "phrase"),
    ("다음 6개월 1 2 3", 6, "phrase"),
    ("앞으로 3주 1 2 3", 3, "phrase"),
    ("1 2 3 5일", 5, "phrase"),
    ("1 2 3 2년", 2, "phrase"),
    ("1 2 3 4분기", 4, "phrase"),
    ("1 2 3 7단계", 7, "phrase"),
    ("1 2 3 3개", 3, "phrase"),
    ("1 2 3 6개월치", 6, "phrase"),
    ("1 2 3 6 개월", 6, "phrase"),
    ("1 2 3 10steps", 10, "phrase"),
    ("다음 6개월 1 2 3 h=2", 2, "explicit"),  # h= wins over a phrase
])
def test_horizon_forms(text, horizon, source):
    request = parse_request(text)
    assert (request.horizon, request.horizon_source) == (horizon, source)
    assert request.values == [1, 2, 3]  # the number in "12개월" is not a value


def test_counted_values_next_to_a_marked_horizon():
    request = parse_request("다음 3개 예측 120개 130개 150개")
    assert (request.values, request.horizon) == ([120, 130, 150], 3)
    assert parse_request("120개 130개 150개 예측해줘").values == [120, 130, 150]


def test_two_horizons_are_ambiguous():
    assert error_of("6개월 12개월 1 2 3").code == "ambiguous_horizon"
    assert error_of("h=3 h=4 1 2 3").code == "ambiguous_horizon"


@pytest.mark.parametrize("text", ["h=abc 1 2 3", "h=1.5 1 2 3", "1 2 3 horizon="])
def test_invalid_horizon_text(text):
    error = error_of(text)
    assert error.code == "invalid_horizon" and error.status == 400 and "h=" in error.message


@pytest.mark.parametrize("horizon, code", [(0, "invalid_horizon"), (-3, "invalid_horizon"),
                                           (5, "horizon_too_large"), (10**12, "horizon_too_large")])
def test_check_request_applies_check_horizon(horizon, code):
    request = parse_request(f"1 2 3 4 h={horizon}")
    with pytest.raises(ForecastInputError) as info:
        check_request(request, series_from_values(request.values))
    assert info.value.code == code


def test_check_request_passes_a_good_horizon_and_none():
    series = series_from_values(AIR)
    assert check_request(parse_request("1 2 3 h=6"), series) == 6
    assert check_request(parse_request("1 2 3"), series) is None


# --- the last-number rule ----------------------------------------------------------------------------------------

def test_last_number_is_the_horizon_in_the_command_form():
    request = parse_request("112 118 132 129 121 135 148 148 136 119 104 118 12")
    assert request.values == AIR
    assert (request.horizon, request.horizon_source) == (12, "last_number")
    assert parse_request("/forecast 112 118 132 129 3").horizon == 3


@pytest.mark.parametrize("text, count", [
    ("112, 118, 132, 129, 2", 5),  # after a comma: part of the list
    ("112,118,132,129,2", 5),
    ("10 20 30 40 50", 5),  # not smaller than the other values
    ("112 118 132 129 12", 5),  # more steps than the other values
    ("112 118 2", 3),  # fewer than four numbers
    ("112 118 132 129 2.0", 5),  # not written as an integer
    ("112 118 132 129 -2", 5),
    ("112 118 132 129 0", 5),
    ("112 118 132 129 2 h=3", 5),  # another horizon is given
    ("다음 3개월 112 118 132 129 2", 5),
    ("예측해줘 112 118 132 129 2", 5),  # a sentence, not the command form
])
def test_last_number_rule_does_not_apply(text, count):
    request = parse_request(text)
    assert len(request.values) == count
    assert request.horizon_source != "last_number"


def test_command_flag_overrides_the_guess():
    assert parse_request("112 118 132 129 2", command=False).horizon is None
    assert parse_request("예측 112 118 132 129 2", command=True).horizon == 2


def test_a_lone_integer_is_the_horizon():
    assert (parse_request("co2 24").dataset, parse_request("co2 24").horizon) == ("co2", 24)
    request = parse_request("24")  # e.g. typed next to an attached CSV file
    assert (request.values, request.horizon, request.horizon_source) == (None, 24, "single_number")


# --- models, datasets, keywords ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, model", [
    ("1 2 3 model=arima", "arima"), ("1 2 3 모델=ets", "ets"), ("1 2 3 model = lstm", "lstm"),
    ("1 2 3 sarima", "arima"), ("1 2 3 ARIMA", "arima"), ("1 2 3 holt-winters", "ets"), ("1 2 3 홀트윈터스로", "ets"),
    ("1 2 3 gru", "lstm"), ("1 2 3 naive", "naive"), ("1 2 3 나이브", "naive"), ("1 2 3 자동으로", "auto"),
    ("1 2 3 drift", "drift"), ("1 2 3 드리프트로", "drift"),
    ("1 2 3 auto", "auto"), ("arima로 예측해줘 1 2 3", "arima"), ("1 2 3", None),
])
def test_models(text, model):
    assert parse_request(text).model == model


def test_model_errors():
    assert error_of("1 2 3 model=xyz").code == "unknown_model"
    assert error_of("1 2 3 model=").code == "unknown_model"
    assert "arima" in error_of("1 2 3 model=xyz").message
    assert error_of("1 2 3 arima ets").code == "ambiguous_model"
    assert parse_request("자동차 판매 예측 1 2 3").model is None  # 자동 inside a longer word is no model


@pytest.mark.parametrize("text, dataset, horizon", [
    ("co2", "co2", None), ("CO2 h=24", "co2", 24), ("데이터 sunspots", "sunspots", None),
    ("데이터 흑점 h=11", "sunspots", 11), ("이산화탄소", "co2", None), ("나일강 10년", "nile", 10),
    ("엘니뇨 데이터 h=24", "elnino", 24), ("data=nile", "nile", None), ("gdp 8", "gdp", 8),
])
def test_datasets(text, dataset, horizon):
    request = parse_request(text)
    assert (request.dataset, request.horizon, request.values) == (dataset, horizon, None)


def test_dataset_errors():
    error = error_of("data=unknown")
    assert error.code == "unknown_dataset" and "co2" in error.message
    assert error_of("데이터 stocks").code == "unknown_dataset"
    assert error_of("co2 nile").code == "ambiguous_dataset"
    assert error_of("co2 1 2 3").code == "values_and_dataset"
    # In a sentence the user's own numbers win over a dataset word.
    request = parse_request("이산화탄소 농도 예측해줘 400 410 420")
    assert (request.values, request.dataset) == ([400, 410, 420], None)


@pytest.mark.parametrize("text, list_datasets, help_", [
    ("", False, True), ("/forecast", False, True), ("help", False, True), ("도움말", False, True),
    ("?", False, True), ("list", True, False), ("목록", True, False), ("데이터 목록", True, False),
    ("whatever", False, True),
])
def test_keywords(text, list_datasets, help_):
    request = parse_request(text)
    assert (request.list_datasets, request.help) == (list_datasets, help_)


def test_unknown_words_outside_the_numbers_are_reported_not_refused():
    request = parse_request("sales 1 2 3 please")
    assert request.values == [1, 2, 3] and request.unknown == ["sales", "please"]


# --- bad input ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, code, named", [
    ("1 2 abc 4", "not_a_number", "'abc'"),
    ("1 2 3 4 5x", "not_a_number", "'5x'"),
    ("1 2 1.2.3 4", "not_a_number", "'1.2.3'"),
    ("1 2 2024-01-01 4", "not_a_number", "'2024-01-01'"),
    ("1 2 nan 4", "non_finite", "'nan'"),
    ("1 2 NaN 4", "non_finite", "'NaN'"),
    ("1 inf 3", "non_finite", "'inf'"),
    ("1 -Infinity 3", "non_finite", "'-Infinity'"),
    ("1 1e999 3", "non_finite", "'1e999'"),
])
def test_bad_tokens_are_named(text, code, named):
    error = error_of(text)
    assert (error.code, error.status) == (code, 400)
    assert named in error.message


def test_korean_words_around_numbers_are_fine_in_sentences():
    request = parse_request("음 그러니까 매출이 100 그리고 120 그다음 130 이었는데 다음 달 예측 부탁해")
    assert request.values == [100, 120, 130]


@pytest.mark.parametrize("values, code", [
    ([1, 2], "too_few_points"), ([], "too_few_points"), (None, "too_few_points"),
    ([5, 5, 5, 5], "constant_series"), ([1, float("nan"), 3], "non_finite"), ([1, float("inf"), 3], "non_finite"),
    (["a", "b", "c"], "not_a_number"),
])
def test_validate_values(values, code):
    with pytest.raises(ForecastInputError) as info:
        validate_values(values)
    assert (info.value.code, info.value.status) == (code, 400)
    assert re.search("[가-힣]", info.value.message)


def test_constant_series_message():
    with pytest.raises(ForecastInputError, match="값이 모두 같아서 예측할 게 없어요"):
        series_from_values([7, 7, 7])


def test_too_many_points_is_413():
    with pytest.raises(ForecastInputError) as info:
        validate_values(np.arange(MAX_POINTS + 1, dtype=float))
    assert (info.value.code, info.value.status) == ("too_many_points", 413)
    assert len(validate_values(np.arange(MAX_POINTS, dtype=float))) == MAX_POINTS


def test_series_from_values():
    values = [1, 2, 3.5]
    series = series_from_values(values, source="test")
    assert isinstance(series, Series) and series.values.dtype == np.float64
    assert series.values.tolist() == [1, 2, 3.5] and series.source == "test" and series.index is None
    series.values[0] = 99  # the caller's list is not shared
    assert values[0] == 1


@pytest.mark.parametrize("text", [
    "123 " * 260_000,  # about 1 MB of numbers: refused as too many, without reading them all
    "1," * 500_000,
    "1" * 1_000_000,
    "a" * 1_000_000,
    "abc " * 100_000 + "1 2 3",
    "1" + " " * 1_000_000 + "2 3",
    "=" * 1_000_000,
    "-" * 1_000_000 + "1",
    "1e" * 500_000,
    "12개월 " * 60_000,
])
def test_huge_messages_parse_or_fail_cleanly(text):
    # Every pattern is linear; a catastrophic one would hang here rather than fail an assertion.
    try:
        request = parse_request(text)
    except ForecastInputError as error:
        assert error.code in {"too_many_points", "non_finite", "not_a_number"}
    else:
        assert isinstance(request, ForecastRequest)
    assert looks_like_forecast(text) is False


def test_huge_message_of_numbers_is_413():
    error = error_of("1 2 " * 60_000)
    assert (error.code, error.status) == ("too_many_points", 413)


# --- plain-Korean detection --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "다음 6개월 예측해줘 112 118 132 129",
    "담달 매출 예측 ㄱㄱ 120 130 150",
    "매출 전망 좀 해줘: 100, 120, 130",
    "이거 예상해줘 10 20 30",
    "1월 100 2월 120 3월 130 다음달 예측?",
    "forecast 1 2 3 please",
    "Predict next: 3.5 4.1 4.8",
    "예측 부탁 120만원 130만원 150만원",
    "얘측해줘 1 2 3",
])
def test_looks_like_forecast_positive(text):
    assert looks_like_forecast(text)


@pytest.mark.parametrize("text", [
    "3월에 예측 못했어",
    "예측해줘",
    "100 200 300",
    "작년 예측이 100 200 300으로 틀렸어",
    "예상보다 100 200 300 높았어",
    "/forecast 1 2 3",
    "날씨 예측 어때 내일 3시",
    "2024년 3월 예측 세미나",
    "",
])
def test_looks_like_forecast_negative(text):
    assert not looks_like_forecast(text)


# --- the help text -----------------------------------------------------------------------------------------------

def test_grammar_help_examples_parse():
    examples = re.findall(r"^\s+/forecast (.+?)(?:\s+→.*)?$", GRAMMAR_HELP, flags=re.MULTILINE)
    assert len(examples) >= 10
    for example in examples:
        request = parse_request(example)  # none raises
        assert request.values or request.dataset
    for claim in ("h=12", "12개월", "마지막", "1,234", "model=arima", "/forecast co2", "/forecast list"):
        assert claim in GRAMMAR_HELP


def test_grammar_help_claims_hold():
    assert parse_request("1,234 1,310 987").values == [1234, 1310, 987]
    assert parse_request("1,234, 1,310, 1,402").values == [1234, 1310, 1402]
    assert parse_request("112,118,132").values == [112, 118, 132]
    assert len(parse_request("112, 118, 132, 129, 12").values) == 5
    assert parse_request("112 118 132 129 121 135 148 148 136 119 104 118 12").horizon == 12


# --- CSV ---------------------------------------------------------------------------------------------------------

def csv_error(data: bytes) -> ForecastInputError:
    with pytest.raises(ForecastInputError) as info:
        read_csv(data, "test.csv")
    return info.value


MONTHLY = "date,value\n2024-01-01,10\n2024-02-01,12\n2024-03-01,15\n2024-04-01,11\n"


@pytest.mark.parametrize("data, values, freq, name", [
    (MONTHLY.encode(), [10, 12, 15, 11], "MS", "value"),
    (("\ufeff" + MONTHLY).encode(), [10, 12, 15, 11], "MS", "value"),  # UTF-8 with BOM
    ("날짜,매출\n2024-01-01,\"1,234\"\n2024-02-01,\"1,500\"\n2024-03-01,\"1,620\"\n".encode("cp949"),
     [1234, 1500, 1620], "MS", "매출"),  # Korean Excel: CP949 and quoted thousands
    (b"datum;wert\n2024-01-01;1\n2024-01-02;3\n2024-01-03;2\n", [1, 3, 2], "D", "wert"),
    (b"date\tvalue\n2024.01.01\t1\n2024.01.02\t3\n2024.01.03\t2\n", [1, 3, 2], "D", "value"),
    (b"2024/01/01,5\n2024/01/08,6\n2024/01/15,8\n2024/01/22,7\n", [5, 6, 8, 7], "W-MON", ""),
    ("연월,판매량\n2024년 1월,5\n2024년 2월,7\n2024년 3월,6\n2024년 4월,9\n".encode(), [5, 7, 6, 9], "MS", "판매량"),
    (b"month,v\n2024-01,1\n2024-02,3\n2024-03,2\n", [1, 3, 2], "MS", "v"),
    (b"year,flow\n1990,100\n1991,120\n1992,90\n1993,95\n", [100, 120, 90, 95], "YS-JAN", "flow"),
    (b"1990,100\n1991,120\n1992,90\n1993,95\n", [100, 120, 90, 95], "YS-JAN", ""),
    ("일자,값\n2024. 1. 1.,3\n2024. 1. 2.,4\n2024. 1. 3.,6\n".encode(), [3, 4, 6], "D", "값"),
    (b"q,gdp\n2024-01-01,3\n2024-04-01,4\n2024-07-01,6\n2024-10-01,5\n", [3, 4, 6, 5], "QS-JAN", "gdp"),
    (b",date,sales\n0,2024-01-01,5\n1,2024-02-01,7\n2,2024-03-01,6\n", [5, 7, 6], "MS", "sales"),
    (b"date,temp,count\n2024-01-01,1.5,5\n2024-02-01,2.5,7\n2024-03-01,0.5,6\n", [5, 7, 6], "MS", "count"),
])
def test_csv_with_dates(data, values, freq, name):
    series = read_csv(data, "sales.csv")
    assert series.values.tolist() == values
    assert series.freq == freq and series.name == name and series.source == "csv:sales.csv"
    assert isinstance(series.index, pd.DatetimeIndex) and len(series.index) == len(values)
    assert series.index.is_monotonic_increasing


@pytest.mark.parametrize("data, values", [
    (b"10\n12\n15\n11\n", [10, 12, 15, 11]),
    ("매출\n10\n12\n15\n11\n".encode(), [10, 12, 15, 11]),
    (b"1500\n1600\n1700\n1800\n", [1500, 1600, 1700, 1800]),  # looks like years but is the only numeric column
    (b'value\n"1,234"\n"2,345"\n"3,456"\n', [1234, 2345, 3456]),
    ('값\n"₩1,200"\n"₩1,300"\n"₩1,250"\n'.encode(), [1200, 1300, 1250]),
])
def test_csv_single_column(data, values):
    series = read_csv(data)
    assert series.values.tolist() == values and series.index is None and series.freq is None


def test_csv_sorts_by_date_and_leaves_irregular_dates_without_freq():
    series = read_csv(b"date,value\n2024-03-01,3\n2024-01-01,1\n2024-01-05,2\n2024-02-11,4\n")
    assert series.values.tolist() == [1, 2, 4, 3]
    assert series.freq is None and series.index.is_monotonic_increasing


def test_csv_few_missing_values_are_filled_or_dropped():
    rows = [f"2020-{m:02d}-01,{'' if m == 5 else m}" for m in range(1, 13)] * 1
    rows += [f"2021-{m:02d}-01,{m + 12}" for m in range(1, 13)]
    series = read_csv(("date,value\n" + "\n".join(rows)).encode())
    assert len(series) == 24 and series.freq == "MS" and series.values[4] == pytest.approx(5.0)
    plain = read_csv(("v\n" + "\n".join(["1"] * 0 + [str(i) for i in range(1, 30)] + [""] + ["40"])).encode())
    assert len(plain) == 30 and np.isfinite(plain.values).all()


@pytest.mark.parametrize("data, code, named", [
    (b"", "empty_csv", "test.csv"),
    (b"\n \n", "empty_csv", "test.csv"),
    (b"date,value\n", "empty_csv", "test.csv"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "invalid_csv", "test.csv"),
    (b"\xff\xfe\xfa\x80\x81", "invalid_csv", "test.csv"),
    (b"a,b\n1,2\n3,4,5\n", "invalid_csv", "3번째 줄"),
    (b"name,city\na,b\nc,d\n", "no_numeric_column", "name, city"),
    (b"date,value\n2024-01-01,1\n2024-02-01,abc\n2024-03-01,3\n", "no_numeric_column", "'abc'"),
    (b"date,value\n2024-01-01,1\n01/02/2024,2\n2024.03.01,3\n2024-04-01,4\n", "mixed_date_formats", "'01/02/2024'"),
    (b"date,value\n2024-01-01,1\n2024-02-01,2\n2024-01-01,3\n", "duplicate_dates", "2024-01-01"),
    (("date,value\n" + "".join(f"2024-{m:02d}-01,{'' if m in (3, 5, 7) else m}\n" for m in range(1, 13))).encode(),
     "missing_values", "'value'"),
    (b"date,value\n2024-01-01,1\n2024-02-01,inf\n2024-03-01,3\n", "non_finite", "3번째 줄"),
    (b"v\n4\n4\n4\n", "constant_series", "4"),
    ("값;비고\n1,5;x\n2,5;y\n3,5;z\n".encode(), "no_numeric_column", "값, 비고"),  # decimal commas: not read
    (b"v\n1\n2\n", "too_few_points", "2"),
])
def test_csv_errors(data, code, named):
    error = csv_error(data)
    assert (error.code, error.status) == (code, 400)
    assert named in error.message and re.search("[가-힣]", error.message)


def test_csv_line_numbers_count_blank_lines():
    error = csv_error(b"date,value\n\n2024-01-01,1\n\n2024-01-02,2\n2024-01-01,3\n")
    assert error.code == "duplicate_dates" and "(3, 6번째 줄)" in error.message
    series = read_csv(b"v\n\n1\n\n2\n3\n")
    assert series.values.tolist() == [1, 2, 3]


def test_csv_duplicate_times_name_the_time():
    error = csv_error(b"t,v\n2024-01-01 10:00,1\n2024-01-01 11:00,2\n2024-01-01 10:00,3\n")
    assert error.code == "duplicate_dates" and "2024-01-01 10:00:00" in error.message


def test_csv_mixed_formats_found_past_the_sample():
    rows = [f"{d:%Y-%m-%d},{i}" for i, d in enumerate(pd.date_range("2000-01-01", periods=600))]
    rows[500] = "05/15/2001,3"
    error = csv_error(("date,value\n" + "\n".join(rows)).encode())
    assert error.code == "mixed_date_formats" and "502번째 줄" in error.message


def test_csv_too_many_rows_is_413():
    error = csv_error(("v\n" + "\n".join(str(i % 7) for i in range(MAX_POINTS + 1))).encode())
    assert (error.code, error.status) == ("too_many_points", 413)


def test_csv_hourly_with_times():
    index = pd.date_range("2024-01-01", periods=48, freq="h")
    body = "time,load\n" + "\n".join(f"{d:%Y-%m-%d %H:%M:%S},{i % 24}" for i, d in enumerate(index))
    series = read_csv(body.encode())
    assert series.freq == "h" and len(series) == 48 and series.index[0] == index[0]
    assert MAX_HORIZON >= 1  # the shared limits are importable where the API reads them

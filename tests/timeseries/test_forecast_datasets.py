"""The bundled statsmodels datasets: shapes, frequencies, names and aliases, caching, the list text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chatbot.timeseries.datasets import DATASETS, dataset_list_text, find_dataset, load_dataset
from chatbot.timeseries.series import ForecastInputError

EXPECTED = {  # name -> (points, freq, first date, last date)
    "co2": (526, "MS", "1958-03-01", "2001-12-01"),
    "sunspots": (309, "YS", "1700-01-01", "2008-01-01"),
    "nile": (100, "YS", "1871-01-01", "1970-01-01"),
    "elnino": (732, "MS", "1950-01-01", "2010-12-01"),
    "gdp": (203, "QS", "1959-01-01", "2009-07-01"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_dataset(name):
    series = load_dataset(name)
    points, freq, first, last = EXPECTED[name]
    assert len(series) == points and series.freq == freq == DATASETS[name].freq
    assert series.values.dtype == np.float64 and np.isfinite(series.values).all()
    assert np.ptp(series.values) > 0
    assert isinstance(series.index, pd.DatetimeIndex) and len(series.index) == points
    assert series.index.is_monotonic_increasing and series.index.is_unique
    assert (series.index[0], series.index[-1]) == (pd.Timestamp(first), pd.Timestamp(last))
    # The spacing is regular: the frequency pandas infers is the one we claim.
    assert pd.DatetimeIndex(series.index.to_numpy(), freq="infer").freqstr.split("-")[0] == freq
    assert series.source == f"dataset:{name}" and DATASETS[name].korean_name in series.name
    assert DATASETS[name].span == f"{series.index[0].year}~{series.index[-1].year}"


def test_values_are_the_real_data():
    co2 = load_dataset("co2")
    assert 310 < co2.values[0] < 320 and 365 < co2.values[-1] < 375  # ppm at Mauna Loa, 1958 and 2001
    assert co2.values[-12:].mean() > co2.values[:12].mean() + 50
    assert load_dataset("nile").values[0] == 1120.0  # the first year of the Aswan record
    assert load_dataset("sunspots").values[:3].tolist() == [5.0, 11.0, 16.0]
    elnino = load_dataset("elnino")
    assert elnino.values[:3].tolist() == [23.11, 24.20, 25.37]  # January-March 1950 from the wide table
    assert load_dataset("gdp").values[0] == pytest.approx(2710.349)


def test_seasonal_period_shows_in_the_data():
    co2 = load_dataset("co2").values
    detrended = co2[12:] - co2[:-12]  # a yearly difference removes the season and leaves the trend
    assert np.std(detrended) < np.std(np.diff(co2)) * 3
    assert DATASETS["co2"].period_hint == 12 and DATASETS["elnino"].period_hint == 12
    assert DATASETS["nile"].period_hint is None and DATASETS["sunspots"].period_hint is None
    assert "11년" in DATASETS["sunspots"].description


def test_loading_is_cached_and_copies_are_handed_out():
    first = load_dataset("nile")
    first.values[:] = 0
    second = load_dataset("nile")
    assert second.values[0] == 1120.0 and second.values is not first.values
    assert second.index is load_dataset("nile").index  # the cached series, not a reload


@pytest.mark.parametrize("word, name", [
    ("co2", "co2"), ("CO2", "co2"), ("CO₂", "co2"), ("이산화탄소", "co2"), ("이산화탄소를", "co2"),
    ("흑점", "sunspots"), ("흑점의", "sunspots"), ("sunspot", "sunspots"), ("나일강", "nile"), ("Nile", "nile"),
    ("엘니뇨", "elnino"), ("El-Nino", "elnino"), ("el nino", "elnino"), ("국내총생산", "gdp"), ("macrodata", "gdp"),
    ("주가", None), ("co", None), ("", None), ("이", None),
])
def test_find_dataset(word, name):
    assert find_dataset(word) == name


def test_every_dataset_has_korean_metadata():
    for name, info in DATASETS.items():
        assert info.name == name and find_dataset(name) == name
        assert info.korean_name and info.unit and info.description.endswith(".")
        assert any(not alias.isascii() for alias in info.aliases)
        for alias in info.aliases:
            assert find_dataset(alias) == name


def test_load_by_alias_and_unknown():
    assert load_dataset("흑점").source == "dataset:sunspots"
    with pytest.raises(ForecastInputError) as info:
        load_dataset("stocks")
    assert (info.value.code, info.value.status) == ("unknown_dataset", 400)
    assert all(name in info.value.message for name in DATASETS)


def test_dataset_list_text():
    text = dataset_list_text()
    lines = text.splitlines()
    assert len(lines) == len(DATASETS) + 1
    for name, info in DATASETS.items():
        assert any(line.startswith(f"- {name} ") and info.korean_name in line for line in lines)
    assert "월별" in text and "연도별" in text and "분기별" in text

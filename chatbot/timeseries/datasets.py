"""Real series that statsmodels ships with its package (nothing is downloaded), ready for ``/forecast co2``."""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chatbot.timeseries.series import ForecastInputError, Series

logger = logging.getLogger(__name__)

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_FREQ_WORDS = {"MS": "월별", "QS": "분기별", "YS": "연도별"}


@dataclass(frozen=True)
class DatasetInfo:
    """What the user is told about a bundled dataset, and the hints the models may use."""

    name: str
    korean_name: str
    description: str  # one sentence, in our own words
    unit: str
    freq: str  # pandas offset alias of the loaded series
    span: str  # first and last year, as the list shows them
    period_hint: int | None  # seasonal period worth trying (None: no calendar season)
    aliases: tuple[str, ...] = ()


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "co2", "이산화탄소 농도",
            "하와이 마우나로아 관측소에서 잰 대기 중 이산화탄소 농도를 월평균으로 모은 것으로, 꾸준한 증가와 해마다 "
            "반복되는 계절 변동이 함께 보여요.",
            "ppm", "MS", "1958~2001", 12, ("이산화탄소", "탄소", "마우나로아", "maunaloa", "co2농도")),
        DatasetInfo(
            "sunspots", "태양 흑점 수",
            "1700년부터 해마다 센 태양 흑점 수로, 달력 계절은 없지만 약 11년 주기의 태양 활동이 뚜렷해요.",
            "개 (연평균 흑점 수)", "YS", "1700~2008", None, ("흑점", "태양흑점", "sunspot", "태양활동")),
        DatasetInfo(
            "nile", "나일강 유량",
            "이집트 아스완에서 잰 나일강의 연간 유량으로, 1898년 무렵 수준이 한 번에 뚝 떨어지는 변화로 유명한 "
            "자료예요.",
            "억 m³/년", "YS", "1871~1970", None, ("나일강", "나일", "나일강유량", "nileriver")),
        DatasetInfo(
            "elnino", "엘니뇨 해수면 온도",
            "남미 앞바다 적도 태평양 동부(남위 0~10도, 서경 80~90도)의 월평균 해수면 온도로, "
            "해마다 반복되는 계절 변화 위에 몇 년에 한 번씩 엘니뇨·라니냐가 겹쳐요.",
            "°C", "MS", "1950~2010", 12, ("엘니뇨", "el-nino", "nino", "해수면온도", "해수온")),
        DatasetInfo(
            "gdp", "미국 실질 GDP",
            "미국의 분기별 실질 국내총생산(계절조정, 연율)으로, 경기 침체 때 잠깐씩 꺾이는 긴 성장 추세를 보여 줘요.",
            "10억 달러 (2005년 불변가격)", "QS", "1959~2009", None,
            ("realgdp", "macrodata", "국내총생산", "실질gdp", "미국gdp", "경제성장")),
    )
}

# Particles that may follow a dataset name in a sentence ("흑점의", "이산화탄소를", "co2로").
_PARTICLE = re.compile(r"(으로|로|을|를|은|는|이|가|의|도|와|과|만|데이터)$")


_IGNORED = str.maketrans("", "", " \t\n-_·.")


def _key(word: str) -> str:
    """The form names and aliases are compared in: NFKC (CO₂ -> CO2), lower case, no spaces or dashes."""
    # It runs on every word of a message, so the cheap path comes first.
    return (word if word.isascii() else unicodedata.normalize("NFKC", word)).lower().translate(_IGNORED)


_LOOKUP: dict[str, str] = {_key(alias): info.name for info in DATASETS.values() for alias in (info.name, *info.aliases)}


def find_dataset(word: str) -> str | None:
    """The dataset ``word`` names (its name or a Korean alias, a trailing particle allowed), or None."""
    key = _key(word)
    if key in _LOOKUP or key.isascii():
        return _LOOKUP.get(key)
    stripped = _PARTICLE.sub("", key)
    return _LOOKUP.get(stripped) if stripped else None


def _years(column: pd.Series) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(column.astype(int).astype(str), format="%Y"))


def _load_co2() -> pd.Series:
    from statsmodels.datasets import co2

    weekly = co2.load_pandas().data["co2"]
    # Weekly readings with a few missing weeks; monthly means are what the seasonal models expect, and the
    # handful of months that still have no reading are filled from their neighbours.
    return weekly.resample("MS").mean().interpolate(method="linear")


def _load_sunspots() -> pd.Series:
    from statsmodels.datasets import sunspots

    data = sunspots.load_pandas().data
    return pd.Series(data["SUNACTIVITY"].to_numpy(), index=_years(data["YEAR"]))


def _load_nile() -> pd.Series:
    from statsmodels.datasets import nile

    data = nile.load_pandas().data
    return pd.Series(data["volume"].to_numpy(), index=_years(data["year"]))


def _load_elnino() -> pd.Series:
    from statsmodels.datasets import elnino

    wide = elnino.load_pandas().data  # one row per year, one column per month
    long = wide.melt(id_vars="YEAR", value_vars=list(_MONTHS), var_name="month", value_name="sst")
    long["date"] = pd.to_datetime(
        long["YEAR"].astype(int).astype(str) + "-" + (long["month"].map(_MONTHS.index) + 1).astype(str),
        format="%Y-%m")
    return long.set_index("date")["sst"].sort_index()


def _load_gdp() -> pd.Series:
    from statsmodels.datasets import macrodata

    data = macrodata.load_pandas().data
    index = pd.PeriodIndex.from_fields(year=data["year"].astype(int), quarter=data["quarter"].astype(int),
                                       freq="Q").to_timestamp(how="start")
    return pd.Series(data["realgdp"].to_numpy(), index=pd.DatetimeIndex(index))


_LOADERS: dict[str, Callable[[], pd.Series]] = {
    "co2": _load_co2, "sunspots": _load_sunspots, "nile": _load_nile, "elnino": _load_elnino, "gdp": _load_gdp,
}


@functools.cache  # loading is fast after the first time; load_dataset hands out copies
def _load_cached(name: str) -> Series:
    info = DATASETS[name]
    raw = _LOADERS[name]().astype("float64")
    index = pd.DatetimeIndex(raw.index, freq=info.freq)  # raises if the loader broke the regular spacing
    values = raw.to_numpy(dtype=np.float64, copy=True)
    if not np.isfinite(values).all():
        raise RuntimeError(f"dataset {name!r} has missing values after loading")
    logger.info("loaded dataset %s: %d points, %s", name, len(values), info.freq)
    return Series(values=values, index=index, freq=info.freq, name=f"{info.korean_name} ({info.unit})",
                  source=f"dataset:{name}")


def load_dataset(name: str) -> Series:
    """The bundled series ``name`` (or a Korean alias); unknown names raise ForecastInputError listing the names."""
    key = find_dataset(name)
    if key is None:
        raise ForecastInputError(
            "unknown_dataset",
            f"'{name}' 데이터는 없어요. 쓸 수 있는 데이터: {', '.join(DATASETS)}. "
            "설명은 '/forecast list'로 볼 수 있어요.",
        )
    cached = _load_cached(key)
    # A copy, so that a caller that edits the values in place cannot change what the next caller gets.
    return dataclasses.replace(cached, values=cached.values.copy())


def dataset_list_text() -> str:
    """The Korean lines that ``/forecast list`` shows: each dataset's name, what it is, frequency, span and unit."""
    lines = ["예측해 볼 수 있는 내장 데이터예요 (예: /forecast co2 h=24):"]
    for info in DATASETS.values():
        aliases = ", ".join(a for a in info.aliases if not a.isascii())
        lines.append(f"- {info.name} ({aliases}): {info.korean_name}, {_FREQ_WORDS[info.freq]} {info.span}, "
                     f"단위 {info.unit}. {info.description}")
    return "\n".join(lines)

"""CSV files sent for ``/forecast``: encoding, delimiter, header, date and value columns detected.

Split from ``parse`` (the message grammar), which re-exports ``read_csv``."""

from __future__ import annotations

import io
import logging
import re

import numpy as np
import pandas as pd

from chatbot.timeseries.series import MAX_POINTS, ForecastInputError, Series, validate_values
from chatbot.timeseries.series import too_many_points as _too_many

logger = logging.getLogger(__name__)

_NA = ["-", "--", "—", "없음", "결측"]  # besides pandas' own ("", "NA", "N/A", "NaN", "null", ...)
# Tried in this order; a tie goes to the earlier one (month/day/year before day/month/year, as US exports write).
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y.%m.%d.", "%Y년%m월%d일", "%Y-%m-%d %H:%M:%S",
                 "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%m/%d/%Y",
                 "%d/%m/%Y", "%d.%m.%Y", "%Y-%m", "%Y/%m", "%Y.%m", "%Y.%m.", "%Y년%m월", "%Y%m%d", "%Y")
_DATE_NAMES = re.compile(r"date|time|year|month|period|ds|날짜|일자|일시|연도|년도|년|월|연월|년월|시점|기간",
                         re.IGNORECASE)
_VALUE_NAMES = ("value", "값", "count", "매출", "sales", "수량", "판매량", "금액", "amount", "close", "종가", "price",
                "가격")
_INDEX_NAMES = {"", "번호", "no", "id", "index", "순번", "#"}
_GROUPED_CELL = r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"


def _decode(data: bytes, filename: str) -> str:
    """UTF-8 (with or without BOM), then CP949, the superset of EUC-KR that Korean Excel writes."""
    if not data.strip():
        raise ForecastInputError("empty_csv", f"'{filename}' 파일이 비어 있어요.")
    if b"\x00" in data[:4096]:
        raise ForecastInputError("invalid_csv",
                                 f"'{filename}' 파일은 CSV 텍스트가 아닌 것 같아요. CSV로 저장해 주세요.")
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ForecastInputError(
        "invalid_csv", f"'{filename}'의 글자를 읽을 수 없어요. UTF-8이나 CP949(엑셀 기본) 인코딩으로 저장해 주세요.")


def _delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number of fields (quoted text left out)."""
    lines = [re.sub(r'"[^"]*"', "", line) for line in text[:20_000].splitlines()[:20] if line.strip()]
    best, best_total = ",", 0
    for delimiter in ("\t", ";", ","):  # a tab or semicolon file may still have commas inside its numbers
        counts = [line.count(delimiter) for line in lines]
        if counts and counts[0] > 0 and len(set(counts)) == 1:
            return delimiter
        if sum(counts) > best_total:
            best, best_total = delimiter, sum(counts)
    return best


def _numbers(cells: pd.Series) -> pd.Series:
    """Cells as floats (NaN where not a number); "1,234", "₩1,200", "12%" and "300원" are numbers."""
    text = cells.str.strip().str.replace(r"^[₩$€£]|(?:%|원)$", "", regex=True)
    grouped = text.str.fullmatch(_GROUPED_CELL).fillna(False).astype(bool)
    text = text.where(~grouped, text.str.replace(",", "", regex=False))
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _date_hits(cells: pd.Series, fmt: str) -> pd.Series:
    # Spaces are dropped for date-only formats so that "2024. 1. 1." and "2024년 1월" match as well.
    prepared = cells if "%H" in fmt else cells.str.replace(r"\s+", "", regex=True)
    return pd.to_datetime(prepared, format=fmt, errors="coerce")


def _example(fmt: str) -> str:
    return pd.Timestamp(2024, 1, 31, 13, 30).strftime(fmt)


def _dates(cells: pd.Series, name: str) -> tuple[pd.Series, str] | None:
    """The column parsed with its one date format, None if it is not a date column; mixed formats are an error."""
    present = cells.dropna().str.strip()
    if present.empty:
        return None
    sample = present.iloc[:200]
    candidates = [fmt for fmt in _DATE_FORMATS if _date_hits(sample, fmt).notna().any()]
    if not candidates:
        return None
    parsed = {fmt: _date_hits(present, fmt) for fmt in candidates}
    best = max(candidates, key=lambda fmt: parsed[fmt].notna().sum())  # max keeps the first of equals
    dates = parsed[best]
    missed = present[dates.isna()]
    others = [(fmt, _date_hits(missed, fmt)) for fmt in _DATE_FORMATS if fmt != best and not missed.empty]
    covered = pd.Series(False, index=missed.index)
    for _, hits in others:
        covered |= hits.notna()
    if dates.notna().sum() + covered.sum() < 0.9 * len(present):
        return None
    if covered.any():
        row = covered[covered].index[0]
        other = next(fmt for fmt, hits in others if pd.notna(hits.get(row)))
        raise ForecastInputError(
            "mixed_date_formats",
            f"'{name}' 열에 날짜 형식이 섞여 있어요: 대부분 {_example(best)} 형식인데 {row + 1}번째 줄은 "
            f"'{present[row]}' ({_example(other)} 형식)이에요. 한 가지 형식으로 맞춰 주세요.")
    if not missed.empty:
        row = missed.index[0]
        raise ForecastInputError("invalid_date", f"'{name}' 열 {row + 1}번째 줄의 날짜를 읽을 수 없어요: "
                                 f"'{missed[row]}'. {_example(best)}처럼 적어 주세요.")
    return dates.reindex(cells.index), best


def _read_table(text: str, filename: str) -> tuple[pd.DataFrame, bool]:
    """All cells as text with column names, and whether the file has a header row; row ``r`` is file line r + 1."""
    try:
        # Blank lines are kept (then dropped with their index) so that row numbers stay file line numbers.
        raw = pd.read_csv(io.StringIO(text), sep=_delimiter(text), header=None, dtype=str, skipinitialspace=True,
                          na_values=_NA, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise ForecastInputError("empty_csv", f"'{filename}'에 데이터가 없어요.") from None
    except (pd.errors.ParserError, ValueError) as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f" {line.group(1)}번째 줄의 칸 수가 다른 줄과 달라요." if line else ""
        raise ForecastInputError("invalid_csv", f"'{filename}' 파일을 CSV로 읽을 수 없어요.{where}") from None
    raw = raw.dropna(axis=1, how="all").dropna(axis=0, how="all")
    if raw.empty:
        raise ForecastInputError("empty_csv", f"'{filename}'에 데이터가 없어요.")
    if raw.shape[1] > 200:  # a series needs two columns; hundreds mean a wide table this reader does not take
        raise ForecastInputError(
            "invalid_csv", f"'{filename}'에 열이 너무 많아요 ({raw.shape[1]}개). 날짜 열과 값 열만 남겨 주세요.")
    first = raw.iloc[0].dropna().astype(str)
    # A header row has no number and no date in it; a data row always has its value.
    header = _numbers(first).isna().all() and not any(_date_hits(first, fmt).notna().any() for fmt in _DATE_FORMATS)
    names = [str(c).strip() if header and pd.notna(c) else f"열{k + 1}" for k, c in enumerate(raw.iloc[0])]
    names = [n if names.index(n) == k else f"{n}_{k + 1}" for k, n in enumerate(names)]
    table = (raw.iloc[1:] if header else raw).set_axis(names, axis=1)
    if table.empty:
        raise ForecastInputError("empty_csv", f"'{filename}'에 머리글만 있고 데이터 줄이 없어요.")
    if len(table) > MAX_POINTS:
        raise _too_many(len(table))
    return table, bool(header)


def _is_numeric(cells: pd.Series, numbers: pd.Series) -> bool:
    present = cells.notna()
    return bool(present.any()) and numbers[present].notna().mean() >= 0.9


def _find_dates(table: pd.DataFrame, numbers: dict[str, pd.Series]) -> tuple[str | None, pd.Series]:
    """The leftmost date column; a numeric one (1990, 20240101) only when named like a date or counting up."""
    numeric = [name for name in table.columns if _is_numeric(table[name], numbers[name])]
    for name in table.columns:
        found = _dates(table[name], name)
        if found is None:
            continue
        dates, fmt = found
        if name in numeric:
            steps = numbers[name].dropna().diff().dropna()
            counting = bool((steps > 0).all()) and (fmt != "%Y" or steps.nunique() == 1)
            if len(numeric) < 2 or not (_DATE_NAMES.fullmatch(name) or counting):
                continue  # its numbers may well be the values
        return name, dates
    return None, pd.Series(dtype="datetime64[ns]")


def _value_column(table: pd.DataFrame, numbers: dict[str, pd.Series], date_column: str | None) -> str | None:
    """A column named like a value (매출, value...), else the first numeric one that is not a row counter."""
    columns = [n for n in table.columns if n != date_column and _is_numeric(table[n], numbers[n])]
    for name in columns:
        low = name.lower()
        if low == "y" or any(word in low for word in _VALUE_NAMES):
            return name
    for name in columns:
        present = numbers[name].dropna().to_numpy()
        counting = np.array_equal(present, np.arange(present[0], present[0] + len(present)))
        counter = name.lower() in _INDEX_NAMES or counting
        if not counter or name == columns[-1]:
            return name
    return None


def _no_numeric_column(table: pd.DataFrame, numbers: dict[str, pd.Series], filename: str) -> ForecastInputError:
    """The error for a file without a numeric column, pointing at a text cell of the most numeric column."""
    share = {name: float(numbers[name][table[name].notna()].notna().mean()) if table[name].notna().any() else 0.0
             for name in table.columns}
    near = max(share, key=lambda name: share[name], default=None)
    hint = "값 열에는 숫자만 적어 주세요."
    if near is not None and share[near] >= 0.5:
        wrong = table[near].notna() & numbers[near].isna()
        row = wrong[wrong].index[0]
        hint = f"'{near}' 열 {row + 1}번째 줄의 '{table[near][row]}'처럼 숫자가 아닌 칸을 고쳐 주세요."
    return ForecastInputError(
        "no_numeric_column", f"'{filename}'에서 숫자로 된 열을 찾지 못했어요 (열: {', '.join(table.columns)}). {hint}")


def read_csv(data: bytes, filename: str = "data.csv") -> Series:
    """A ``Series`` from CSV bytes: encoding, delimiter, header, date and value columns found automatically."""
    table, header = _read_table(_decode(data, filename), filename)
    numbers = {name: _numbers(table[name]) for name in table.columns}
    date_column, dates = _find_dates(table, numbers)
    value_column = _value_column(table, numbers, date_column)
    if value_column is None:
        raise _no_numeric_column(table, numbers, filename)
    cells, values = table[value_column], numbers[value_column]
    wrong = cells.notna() & values.isna()
    if wrong.any():
        row = wrong[wrong].index[0]
        raise ForecastInputError("not_a_number", f"'{value_column}' 열 {row + 1}번째 줄이 숫자가 아니에요: "
                                 f"'{cells[row]}'.")
    if not np.isfinite(values.dropna()).all():
        row = values[np.isinf(values)].index[0]
        raise ForecastInputError("non_finite", f"'{value_column}' 열 {row + 1}번째 줄이 무한대예요.")
    missing = values.isna() | (dates.isna() if date_column else False)
    if missing.sum() > 0.05 * len(table):
        row = missing[missing].index[0]
        raise ForecastInputError(
            "missing_values", f"'{value_column}' 열에 빈 값이 너무 많아요: {int(missing.sum())}줄 "
            f"(예: {row + 1}번째 줄). 빈 칸을 채우거나 지운 뒤 다시 보내 주세요.")
    name = value_column if header else ""  # "열2" is our own name for a column without a header
    source = f"csv:{filename}"
    if date_column is None:
        logger.info("%s: %d rows without a value dropped", filename, int(missing.sum()))
        return Series(values=validate_values(values[~missing].to_numpy()), name=name, source=source)
    return _dated_series(dates, values, date_column, name, source)


def _dated_series(dates: pd.Series, values: pd.Series, column: str, name: str, source: str) -> Series:
    """Sort by date, refuse repeated dates, infer the frequency; with one, fill inner gaps instead of dropping rows."""
    frame = pd.DataFrame({"date": dates, "value": values}).dropna(subset=["date"]).sort_values("date", kind="stable")
    repeated = frame["date"].duplicated(keep=False)
    if repeated.any():
        rows = frame.index[repeated][:2]
        when = frame["date"][rows[0]]
        when = when.strftime("%Y-%m-%d") if when == when.normalize() else str(when)
        raise ForecastInputError(
            "duplicate_dates", f"'{column}' 열에 같은 날짜가 두 번 있어요: {when} "
            f"({', '.join(str(r + 1) for r in rows)}번째 줄). 날짜마다 한 줄만 남겨 주세요.")
    index = pd.DatetimeIndex(frame["date"].to_numpy(), freq="infer") if len(frame) >= 3 else None
    if len(frame) < len(dates):
        logger.info("%s: %d rows without a date dropped", source, len(dates) - len(frame))
    if index is not None and index.freq is not None:
        # Dropping a row would break the regular spacing the seasonal models rely on; fill it from its neighbours.
        series = pd.Series(frame["value"].to_numpy(), index=index).interpolate(limit_area="inside").dropna()
        index = pd.DatetimeIndex(series.index, freq="infer")
        values = series.to_numpy()
    else:
        kept = frame.dropna(subset=["value"])
        index, values = pd.DatetimeIndex(kept["date"].to_numpy()), kept["value"].to_numpy()
    return Series(values=validate_values(values), index=index, freq=index.freqstr if index.freq else None, name=name,
                  source=source)

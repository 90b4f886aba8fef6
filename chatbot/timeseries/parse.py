"""What the user sent, made into a ``Series``: the ``/forecast`` message grammar, and CSV detection.

Both fail with a ``ForecastInputError`` whose Korean message names the token, column or row at fault.
The grammar is documented for users in ``GRAMMAR_HELP``; keep the two in step.
"""

from __future__ import annotations

import io
import logging
import math
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chatbot.timeseries.datasets import DATASETS, find_dataset
from chatbot.timeseries.series import MAX_POINTS, ForecastInputError, Series, check_horizon

logger = logging.getLogger(__name__)

GRAMMAR_HELP = """\
📈 /forecast 사용법: 숫자, CSV 파일, 내장 데이터로 앞으로의 값을 예측해요.

• 숫자: 띄어쓰기, 쉼표, 줄바꿈, 、 로 구분해요. 소수(12.5), 음수(-3), 지수(1e3)도 돼요.
  /forecast 112 118 132 129 121 135 148 148
  /forecast 112, 118, 132, 129, 121, 135
• 천 단위 쉼표: 띄어쓰기로 구분한 목록에서 1,234 처럼 세 자리씩 끊은 쉼표는 천 단위로 읽어요.
  /forecast 1,234 1,310 987  → 1234, 1310, 987
  /forecast 1,234, 1,310, 1,402  → 모두 세 자리씩 끊었으니 1234, 1310, 1402
  그 밖에는 쉼표마다 다른 값이에요. 헷갈리면 띄어쓰기로 구분하세요.
  /forecast 112,118,132  → 112, 118, 132
• 예측 기간: h=12, h 12, horizon=12, 또는 12개월·12주·12일·12년·12분기·12단계·12개 (다음/앞으로/향후 붙여도 돼요).
  /forecast 다음 6개월 112 118 132 129 121 135
  /forecast 112 118 132 129 121 135 h=3
• 마지막 수 규칙: /forecast 명령에서 숫자가 4개 이상이고 다른 기간 표시가 없을 때, 맨 끝의 수가 쉼표 없이
  띄어 적은 양의 정수이고, 나머지 값들보다 모두 작고, 나머지 값의 개수 이하이면 예측 기간으로 봐요.
  /forecast 112 118 132 129 121 135 148 148 136 119 104 118 12  → 값 12개, 기간 12
  /forecast 112, 118, 132, 129, 12  → 쉼표 뒤라서 값 5개
  헷갈리면 h=12 처럼 적어 주세요. '예측해줘' 같은 문장으로 물을 때는 이 규칙을 쓰지 않아요.
  숫자를 하나만 적으면 예측 기간이에요 (CSV 파일과 함께 보낼 때 편해요).
• 모델: model=arima, 모델=ets, 또는 arima·sarima, ets·holt-winters·홀트윈터스, lstm·gru, naive·나이브, auto·자동
  /forecast 10 12 15 14 18 20 h=3 model=ets
• 내장 데이터 (목록과 설명: /forecast list):
  /forecast co2
  /forecast 데이터 흑점 h=22
  /forecast elnino h=24
• CSV 파일을 첨부하면 날짜 열과 값 열을 알아서 찾아요 (UTF-8 또는 엑셀의 CP949, 쉼표·세미콜론·탭).
• 문장으로도 돼요: "다음 3개월 매출 예측해줘 120 135 150 160"
"""

_FORECAST_WORD = re.compile(r"예측|전망|예상\s*(?:좀\s*)?해|예상치|예상값|얘측|예축|forecast|predict|projection",
                            re.IGNORECASE)
# "예측 못했어", "예측이 100 200 300으로 틀렸어": talk about a forecast, not a request for one. The repetitions
# are bounded so that the search stays linear on a huge message.
_NOT_A_REQUEST = re.compile(r"(?:예측|전망|예상)\S{0,4}(?:\s+\S{1,12}){0,4}?\s*"
                            r"(?:못\s?했|못\s?해|안\s?[돼되]|틀렸|틀린|빗나|실패|했었|했던)")

MODEL_WORDS = {
    "auto": "auto", "자동": "auto", "arima": "arima", "sarima": "arima", "아리마": "arima",
    "ets": "ets", "holt-winters": "ets", "holtwinters": "ets", "holt_winters": "ets", "홀트윈터스": "ets",
    "홀트-윈터스": "ets", "지수평활": "ets", "lstm": "lstm", "gru": "lstm", "rnn": "lstm", "naive": "naive",
    "나이브": "naive",
}
_PARTICLE = re.compile(r"(으로|로|을|를|은|는|이|가|의|도|와|과|만|모델|데이터)$")
_HORIZON_KEYS = {"h", "horizon", "기간", "예측기간", "steps"}
_MODEL_KEYS = {"model", "모델"}
_DATA_KEYS = {"data", "dataset", "데이터"}
_LIST_WORDS = {"list", "목록", "리스트", "datasets", "데이터목록"}
_HELP_WORDS = {"help", "도움말", "도움", "사용법", "?"}
_NON_FINITE = {"nan", "inf", "infinity"}
_KEYS = _HORIZON_KEYS | _MODEL_KEYS | _DATA_KEYS
_NUMBER_START = frozenset("0123456789+-.")
_ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")

# Every pattern below is a single pass with no nested repetition, so a 1 MB message parses in linear time.
_CHUNK = re.compile(r"[^\s、;|:]+")  # ":" too, so that "매출:100" and "h:12" split
_WRAP = "\"'()[]{}<>“”‘’「」『』!?~…"
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_HEAD = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_INT = re.compile(r"[-+]?\d+")
_STARTS_NUMBER = re.compile(r"[-+]?\.?\d")
_COMMA_NUMBER = re.compile(r"[-+]?\d+(?:,\d+)+")
_GROUPED = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+")
_EN_UNIT = re.compile(r"(\d+)(?:steps?|months?|weeks?|days?|years?|quarters?)", re.IGNORECASE)
# What follows a number glued to Korean: checked in this order ("3주차" is a label, "3주" a horizon).
_LABEL_FIRST = re.compile(r"주차|일차|회차|년도|번째")
_VALUE_UNIT = re.compile(r"(천|만|억|조)?(달러|원|불|명|건|대|회|톤|도|점|마리|배|퍼센트|프로|%|°C|°)?")
_UNIT = re.compile(r"개월|분기|단계|스텝|달|주|일|년|개")
_LABEL = re.compile(r"월|시|위|등|호|차|분|초")
_PARTICLE_TAIL = re.compile(r"이|가|은|는|을|를|와|과|로|으로|에|야|요|였|입니|정도|쯤|까지|부터|하고|랑|씩")
_SPACED_UNIT = re.compile(r"(?:개월|분기|단계|스텝|달|주|년)(?:치|간|동안|후|뒤|까지|을|를|만|의|은|는|이|가|도)?")
_SCALE = {"천": 1e3, "만": 1e4, "억": 1e8, "조": 1e12}
_MARK_BEFORE = {"다음", "앞으로", "향후", "이후", "next"}
_MARK_AFTER = ("치", "간", "동안", "후", "뒤", "까지")


@dataclass
class ForecastRequest:
    """What a ``/forecast`` message asks for; the caller turns it into a series and checks it with ``check_request``."""

    values: list[float] | None  # numbers found in the message, or None
    horizon: int | None  # steps asked for, None = default chosen by the caller
    dataset: str | None  # a bundled dataset name ("co2"), or None
    model: str | None  # "auto" | "arima" | "ets" | "lstm" | "naive" when the user names one, else None
    list_datasets: bool = False  # "/forecast list" (or 목록)
    help: bool = False  # "/forecast" with nothing, or "/forecast help"/"도움말"
    horizon_source: str | None = None  # "explicit" (h=), "phrase" (6개월), "last_number", "single_number"
    unknown: list[str] = field(default_factory=list)  # words outside the numbers that meant nothing to us


@dataclass
class _Scan:
    values: list[tuple[int, float, bool]] = field(default_factory=list)  # (piece, value, bare positive integer)
    explicit: list[tuple[int, int, str]] = field(default_factory=list)  # (piece, steps, as written)
    phrases: list[tuple[int, int, str, bool, str]] = field(default_factory=list)  # (piece, steps, unit, marked, text)
    models: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    garbage: list[tuple[int, str]] = field(default_factory=list)  # number-like tokens that are not numbers: "12abc"
    words: list[tuple[int, str]] = field(default_factory=list)  # unknown ASCII words
    errors: list[ForecastInputError] = field(default_factory=list)
    list_datasets: bool = False
    help: bool = False


def _normalize(text: str) -> str:
    # NFKC folds full-width digits and commas; U+2212 is the minus sign that copy-pasted numbers often carry.
    return unicodedata.normalize("NFKC", text).replace("\u2212", "-").strip()


def _pieces(text: str) -> tuple[list[str], list[bool]]:
    """Split on whitespace and list separators, then on commas unless they are thousands separators.

    Returns the pieces and, for each, whether a comma separated it from the one before (the last-number rule
    needs to know).
    """
    chunks = [chunk for chunk in _CHUNK.findall(text) if chunk.strip(_WRAP)]
    if "," not in text:  # the common case, kept cheap for long messages
        texts = [chunk.strip(_WRAP) for chunk in chunks]
        return texts, [False] * len(texts)
    cores: list[tuple[str, bool]] = []
    comma = False
    for chunk in chunks:
        core = chunk.strip(_WRAP)
        lead, trail = core.startswith(","), core.endswith(",")
        core = core.strip(",").strip(_WRAP)
        if core:
            cores.append((core, comma or lead))
            comma = trail
        else:
            comma = True
    # "1,234" is a thousands separator only when every comma-joined number is grouped by threes, in a list of two
    # or more numbers that whitespace separates; in a list that ", " separates, only when every number is written
    # so ("1,234, 1,500"). Otherwise commas separate: "112,118,132" and "112,118, 132" are three values.
    heads = [m.group() for core, _ in cores if (m := _COMMA_NUMBER.match(core))]
    numeric = sum(1 for core, _ in cores if _STARTS_NUMBER.match(core))
    comma_list = any(comma_before for _, comma_before in cores)
    thousands = (bool(heads) and numeric >= 2 and all(_GROUPED.fullmatch(h) for h in heads)
                 and (not comma_list or len(heads) == numeric))
    texts: list[str] = []
    commas: list[bool] = []
    for core, comma_before in cores:
        if thousands and (m := _GROUPED.match(core)) and not core[m.end():m.end() + 1].isdigit():
            core = m.group().replace(",", "") + core[m.end():]
        for k, part in enumerate(core.split(",")):
            part = part.strip(_WRAP)
            if part:
                texts.append(part)
                commas.append(comma_before or k > 0)
    return texts, commas


def _to_int(text: str) -> int:
    # int() refuses strings over 4,300 digits; anything past nine digits is absurd as a horizon anyway.
    digits = text.lstrip("+-")
    value = int(digits) if len(digits) <= 9 else 10**9
    return -value if text.startswith("-") else value


def _strip_particle(word: str) -> str:
    return _PARTICLE.sub("", word) or word


def _model(word: str) -> str | None:
    low = word.lower()
    if not low or low in MODEL_WORDS or low[-1].isascii():  # particles are Korean: "arima로"
        return MODEL_WORDS.get(low)
    return MODEL_WORDS.get(_strip_particle(low))


def _horizon_error(written: str) -> ForecastInputError:
    return ForecastInputError("invalid_horizon", f"예측 기간은 1 이상의 정수로 적어 주세요: '{written}'. 예: h=12")


def _keyed(scan: _Scan, i: int, key: str, value: str, written: str) -> None:
    """``h=12``, ``model=ets``, ``data=co2``; an unknown key is just an unknown word."""
    if key in _HORIZON_KEYS:
        if _INT.fullmatch(value):
            scan.explicit.append((i, _to_int(value), written))
        else:
            scan.errors.append(_horizon_error(written))
    elif key in _MODEL_KEYS:
        if _model(value) is None:
            scan.errors.append(ForecastInputError(
                "unknown_model", f"모르는 모델이에요: '{value}'. auto, arima, ets, lstm, naive 중에서 골라 주세요."))
        else:
            scan.models.append(_model(value))  # type: ignore[arg-type]
    elif key in _DATA_KEYS:
        _dataset_word(scan, value, explicit=True)
    else:
        scan.words.append((i, written))


def _dataset_word(scan: _Scan, word: str, explicit: bool) -> None:
    name = find_dataset(word)
    if name is not None:
        scan.datasets.append(name)
    elif explicit:
        scan.errors.append(ForecastInputError(
            "unknown_dataset", f"'{word}' 데이터는 없어요. 쓸 수 있는 데이터: {', '.join(DATASETS)}. "
            "설명은 '/forecast list'로 볼 수 있어요."))


def _glued(scan: _Scan, i: int, head: str, tail: str, pieces: list[str]) -> None:
    """A number glued to Korean: a horizon (6개월), a value with its unit (120만원, 132였어) or a label (3월)."""
    if _LABEL_FIRST.match(tail):
        return
    unit = _VALUE_UNIT.match(tail)
    if unit.group():  # type: ignore[union-attr]
        scale = _SCALE.get(unit.group(1) or "", 1.0)  # type: ignore[union-attr]
        scan.values.append((i, float(head) * scale, False))
        return
    horizon = _UNIT.match(tail)
    if horizon and _INT.fullmatch(head) and not (horizon.group() == "년" and abs(float(head)) >= 1000):
        after = tail[horizon.end():]
        before = pieces[i - 1].lower() if i else ""
        following = pieces[i + 1] if i + 1 < len(pieces) else ""
        marked = before in _MARK_BEFORE or after.startswith(_MARK_AFTER) or following.startswith(_MARK_AFTER)
        scan.phrases.append((i, _to_int(head), horizon.group(), marked, head + tail))
    elif not horizon and not _LABEL.match(tail) and _PARTICLE_TAIL.match(tail):
        scan.values.append((i, float(head), False))


def _scan(text: str) -> _Scan:
    """Classify every piece of the message; errors are collected, not raised, so that detection can reuse this."""
    scan = _Scan()
    pieces, commas = _pieces(text)
    count = len(pieces)
    i = 0
    while i < count:
        token = pieces[i]
        following = pieces[i + 1] if i + 1 < count else ""
        step = 1
        if token[0] in _NUMBER_START:
            step = _scan_number(scan, pieces, i, commas[i])
            if len(scan.values) > MAX_POINTS:
                break  # the caller refuses this anyway; no need to read the rest of a huge message
        elif len(token) > 40:  # no keyword, model or dataset name is this long: an unknown word at most
            if token.isascii():
                scan.words.append((i, token[:40]))
        else:
            step = _scan_word(scan, pieces, i, token, following)
        i += step
    return scan


def _scan_number(scan: _Scan, pieces: list[str], i: int, comma_before: bool) -> int:
    """A piece that starts like a number; returns how many pieces it used."""
    token = pieces[i]
    following = pieces[i + 1] if i + 1 < len(pieces) else ""
    if _NUMBER.fullmatch(token):
        value = float(token)
        if not math.isfinite(value):
            scan.errors.append(_non_finite(token))
        elif following and not following[0].isdigit() and _INT.fullmatch(token) and _SPACED_UNIT.fullmatch(following):
            _glued(scan, i, token, following, pieces)  # "6 개월"
            return 2
        else:
            bare = token.isdigit() and token.strip("0") != "" and not comma_before
            scan.values.append((i, value, bare))
    elif token.lower().lstrip("+-") in _NON_FINITE:
        scan.errors.append(_non_finite(token))
    elif (head := _HEAD.match(token)) is not None:
        tail = token[head.end():]
        if (m := _EN_UNIT.fullmatch(token)) is not None:
            scan.phrases.append((i, _to_int(m.group(1)), "steps", False, token))
        elif tail[0] == "%" or not tail[0].isascii():
            _glued(scan, i, head.group(), tail, pieces)
        else:
            scan.garbage.append((i, token))
    return 1


def _scan_word(scan: _Scan, pieces: list[str], i: int, token: str, following: str) -> int:
    """A piece that does not start like a number: a key, a model, a dataset, a keyword; returns pieces used."""
    low = token.lower()
    if following.startswith("=") and low in _KEYS:  # "h = 12", "h =12"
        rest = following[1:] or (pieces[i + 2] if i + 2 < len(pieces) else "")
        _keyed(scan, i, low, rest.lower(), f"{token}={rest}")
        return 2 if following != "=" else 3
    if "=" in token:
        key, _, value = low.partition("=")
        if not value and following:
            _keyed(scan, i, key, following.lower(), f"{token}{following}")
            return 2
        _keyed(scan, i, key, value, token)
    elif low in _HORIZON_KEYS and _INT.fullmatch(following):
        scan.explicit.append((i, _to_int(following), f"{token} {following}"))
        return 2
    elif low in _NON_FINITE:
        scan.errors.append(_non_finite(token))
    elif model := _model(token):
        scan.models.append(model)
    elif low in _LIST_WORDS:
        scan.list_datasets = True
    elif low in _HELP_WORDS:
        scan.help = True
    elif low in _DATA_KEYS and following:  # "데이터 흑점", "data co2"; "매출 데이터 100 ..." is no name
        if following.lower() in _LIST_WORDS:
            scan.list_datasets = True
            return 2
        if find_dataset(following) or (_ASCII_WORD.fullmatch(following) and not _model(following)
                                       and following.lower() not in _HELP_WORDS | _KEYS):
            _dataset_word(scan, following, explicit=True)
            return 2
    elif find_dataset(token):
        _dataset_word(scan, token, explicit=False)
    elif token.isascii() and low not in _KEYS and any(c.isalpha() for c in token):
        scan.words.append((i, token))
    return 1


def _non_finite(token: str) -> ForecastInputError:
    return ForecastInputError("non_finite",
                              f"NaN이나 무한대는 예측에 쓸 수 없어요: '{token}'. 빠진 값은 지우거나 채워 주세요.")


def _resolve_horizon(scan: _Scan) -> tuple[int | None, str | None, list[tuple[int, float, bool]]]:
    """The horizon and where it came from; unmarked "N개" phrases next to another horizon are values."""
    values = list(scan.values)
    phrases = scan.phrases
    if len(phrases) + len(scan.explicit) > 1:
        values += [(i, float(steps), False) for i, steps, unit, marked, _ in phrases if unit == "개" and not marked]
        phrases = [p for p in phrases if p[2] != "개" or p[3]]
    if len({steps for _, steps, _ in scan.explicit}) > 1:
        raise _ambiguous([written for _, _, written in scan.explicit])
    if scan.explicit:
        return scan.explicit[0][1], "explicit", values
    if len({p[1] for p in phrases}) > 1:
        marked = [p for p in phrases if p[3]]
        if len({p[1] for p in marked}) != 1:
            raise _ambiguous([p[4] for p in phrases])
        phrases = marked
    return (phrases[0][1], "phrase", values) if phrases else (None, None, values)


def _ambiguous(written: list[str]) -> ForecastInputError:
    return ForecastInputError("ambiguous_horizon",
                              f"예측 기간이 여러 개예요: {', '.join(written)}. 하나만 적어 주세요. 예: h=12")


def parse_request(text: str, *, command: bool | None = None) -> ForecastRequest:
    """Read the text after ``/forecast`` (or a plain Korean message); ForecastInputError names what is wrong.

    ``command`` says whether this is the terse command form, where the last-number rule applies; None decides by
    the text: a message with a forecast word in it ("예측해줘") is a sentence, not the command form.
    """
    text = _normalize(text)
    if re.match(r"/forecast(?:\s|$)", text, flags=re.IGNORECASE):
        text = text[len("/forecast"):].strip()
    if command is None:
        command = _FORECAST_WORD.search(text) is None
    if not text:
        return ForecastRequest(None, None, None, None, help=True)
    scan = _scan(text)
    if scan.errors:
        raise scan.errors[0]
    horizon, source, found = _resolve_horizon(scan)
    found.sort()
    values = [v for _, v, _ in found]
    if len(values) > MAX_POINTS:
        raise _too_many(len(values))
    first, last = (found[0][0], found[-1][0]) if found else (0, -1)
    for pos, token in scan.garbage:
        if found and (command or first <= pos <= last):
            raise _not_a_number(token)
    for pos, token in scan.words:
        if first < pos < last:
            raise _not_a_number(token)
    models, datasets = list(dict.fromkeys(scan.models)), list(dict.fromkeys(scan.datasets))
    if len(models) > 1:
        raise ForecastInputError("ambiguous_model", f"모델이 여러 개예요: {', '.join(models)}. 하나만 골라 주세요.")
    if len(datasets) > 1:
        raise ForecastInputError("ambiguous_dataset",
                                 f"데이터가 여러 개예요: {', '.join(datasets)}. 하나만 골라 주세요.")
    if horizon is None and len(found) == 1 and found[0][2]:
        # A lone integer ("/forecast co2 24", or typed next to a CSV file) can only be the horizon.
        horizon, source, values = int(values[0]), "single_number", []
    elif command and horizon is None and not datasets and len(found) >= 4 and found[-1][2]:
        steps, rest = int(values[-1]), values[:-1]
        if steps <= len(rest) and steps < min(rest):
            horizon, source, values = steps, "last_number", rest
    dataset = datasets[0] if datasets else None
    if values and dataset:
        if command:
            raise ForecastInputError(
                "values_and_dataset", f"숫자와 데이터 이름({dataset})을 함께 적었어요. 숫자로 예측하려면 데이터 "
                "이름을 빼고, 내장 데이터로 예측하려면 숫자를 빼 주세요.")
        dataset = None  # in a sentence, "이산화탄소 농도 예측해줘 400 410 420" means these numbers
    model = models[0] if models else None
    # "/forecast ?" or words we do not know, and nothing else: the user needs the grammar.
    nothing = not (values or dataset or model or scan.list_datasets) and horizon is None
    return ForecastRequest(values=values or None, horizon=horizon, dataset=dataset, model=model,
                           list_datasets=scan.list_datasets, help=scan.help or (command and nothing),
                           horizon_source=source, unknown=[token for _, token in scan.words])


def looks_like_forecast(text: str) -> bool:
    """True for a plain message that asks for a forecast and carries at least three numbers."""
    text = _normalize(text)
    if text.startswith("/") or _FORECAST_WORD.search(text) is None or _NOT_A_REQUEST.search(text):
        return False
    scan = _scan(text)
    count = len(scan.values) + sum(1 for p in scan.phrases if p[2] == "개" and not p[3] and len(scan.phrases) > 1)
    return count >= 3


def check_request(request: ForecastRequest, series: Series) -> int | None:
    """The request's horizon checked against the series length (``check_horizon``), or None when none was given."""
    return None if request.horizon is None else check_horizon(request.horizon, len(series))


def _not_a_number(token: str) -> ForecastInputError:
    return ForecastInputError("not_a_number",
                              f"숫자가 아닌 값이 있어요: '{token}'. 숫자는 띄어쓰기나 쉼표로 구분해 주세요.")


def _too_many(count: int) -> ForecastInputError:
    return ForecastInputError(
        "too_many_points", f"값이 너무 많아요 ({count:,}개 이상). 한 번에 {MAX_POINTS:,}개까지 예측할 수 있어요.", 413)


def validate_values(values: object) -> np.ndarray:
    """``values`` as a finite float64 array of 3 to MAX_POINTS numbers, not all equal; else ForecastInputError."""
    if values is None:
        values = []
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ForecastInputError("not_a_number", "숫자가 아닌 값이 섞여 있어요. 숫자만 보내 주세요.") from None
    array = array.reshape(-1) if array.ndim != 1 else array
    if len(array) > MAX_POINTS:
        raise _too_many(len(array))
    if len(array) < 3:
        raise ForecastInputError("too_few_points",
                                 f"값이 너무 적어요: {len(array)}개. 적어도 3개는 있어야 예측할 수 있어요.")
    bad = np.flatnonzero(~np.isfinite(array))
    if len(bad):
        raise ForecastInputError("non_finite",
                                 f"{bad[0] + 1}번째 값이 NaN이나 무한대예요. 숫자로 채우거나 지워 주세요.")
    if np.all(array == array[0]):
        raise ForecastInputError(
            "constant_series", f"값이 모두 같아서 예측할 게 없어요 (모두 {array[0]:g}). 앞으로도 같은 값일 거예요.")
    return np.array(array, dtype=np.float64)  # a copy: the caller's list or array is never shared


def series_from_values(values: list[float], source: str = "message") -> Series:
    """A ``Series`` of the numbers the user typed, checked by ``validate_values``."""
    return Series(values=validate_values(values), source=source)


# --- CSV files ---------------------------------------------------------------------------------------------------

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

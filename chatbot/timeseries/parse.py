"""What the user sent, made into a ``Series``: the ``/forecast`` message grammar, and CSV detection.

Both fail with a ``ForecastInputError`` whose Korean message names the token, column or row at fault.
The grammar is documented for users in ``GRAMMAR_HELP``; keep the two in step.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import dataclass, field

from chatbot.timeseries.csv_reader import read_csv  # noqa: F401  (re-exported: the chat and CLI read CSVs here)
from chatbot.timeseries.datasets import DATASETS, find_dataset
from chatbot.timeseries.series import (
    MAX_POINTS,
    ForecastInputError,
    Series,
    check_horizon,
    validate_values,
)
from chatbot.timeseries.series import too_many_points as _too_many

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
    "나이브": "naive", "drift": "drift", "드리프트": "drift",
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
    texts = []
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


def series_from_values(values: list[float], source: str = "message") -> Series:
    """A ``Series`` of the numbers the user typed, checked by ``validate_values``."""
    return Series(values=validate_values(values), source=source)

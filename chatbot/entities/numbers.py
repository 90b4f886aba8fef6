"""Numbers and quantities ("1,234", "1.5", "삼만 오천 원", "두 개", "10km", "50%"): ``number_extractor``.

Like Duckling, two types: ``number`` (value: an int when whole, else a float) when no unit follows, and
``quantity`` (value: ``{"value": number, "unit": canonical unit}``) when a counter or unit follows,
with or without a space. No installed package reads Korean numerals (korean-number, korcount and
hangeul's number reading are on PyPI, not installed), so this module has its own small reader.

Korean numerals are also syllables of everyday words (이거, 사과, 오늘, 천천히, 만나, 백화점, 육개장), so
they are read only where the context is clearly numeric:

- Sino-Korean (일 이 삼 ... 십 백 천 만 억 조): with a unit after them, when two syllables or more
  (오천 원, 이십 개) or one of 십/백/천/만/억 before 원, 달러, 명, 개, 번, 배 (만 원, 백 번); alone, when
  three syllables or more (삼만오천, 천이백, 이십오) or a tens word such as 이십. A single digit syllable
  (삼, 육, 칠) is never read: 삼겹살, 육개장, 칠판, 이분, 사원, 구분.
- Native (하나 둘 셋 ... 스물 서른 ... 아흔): the forms used before a counter (한, 두, 세, 네, 스무) only
  before one (두 개, 세 명); the full forms also alone as a word (사과 하나, 둘이 가), except 열 and 쉰
  (열이 나요, 쉰 목소리).
- Digits always, unless glued to Latin letters (S22, mp3).

After a unit, or after a numeral read alone, the word must end or go on with a particle or ending
(개요, 원이에요, 명씩); "3개국" is the number 3, and 육개장 nothing.

"킬로" alone resolves to kg: in chat it is mostly a weight (몇 킬로 빠졌어); say km or 킬로미터 for a
distance. "시" (o'clock) is not a unit here: "3시" is the time extractor's.

When a tokenizer ran before it, Kiwi's part-of-speech tags settle what the syllables alone cannot: a
numeral in Hangul counts only where Kiwi tagged a numeral (NR) or a determiner (MM: 한, 두, 세) there,
so 두통 (headache), 한도 (limit) and the ending of 먹어야 하나 stay words. A native numeral followed by
도 is the idiom "(not) at all" (하나도 없어, 둘도 없는), not a count, and 도 is degrees only after digits or
Sino-Korean numerals. In a pipeline with both, list
``time_extractor`` first: it then also wins a tie such as "3일" (the 3rd) against the quantity 3 days,
and its longer spans ("3일 뒤", "오후 3시") beat the numbers inside them (``chatbot.entities``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from chatbot.entities import EntityExtractor
from chatbot.message import Entity, Message

Number = int | float

# Units and counters, by surface form, to their canonical name (SI-like symbols where there is one).
UNITS: dict[str, str] = {
    "원": "KRW", "달러": "USD", "불": "USD", "엔": "JPY", "유로": "EUR",
    "%": "%", "퍼센트": "%", "프로": "%",
    "kg": "kg", "킬로그램": "kg", "킬로": "kg", "키로": "kg", "g": "g", "그램": "g",
    "km": "km", "킬로미터": "km", "m": "m", "미터": "m", "cm": "cm", "센티": "cm", "센티미터": "cm", "mm": "mm",
    "l": "L", "리터": "L", "ml": "ml", "밀리리터": "ml",
    "시간": "hour", "분": "minute", "초": "second", "일": "day", "주": "week", "주일": "week",
    "개월": "month", "달": "month", "년": "year",
    "도": "degree",  # 영하 3도; a particle only after a word (3개도), not right after a number
    "개": "개", "명": "명", "사람": "명", "분들": "명", "잔": "잔", "살": "살", "번": "번", "회": "회", "층": "층",
    "마리": "마리", "권": "권", "장": "장", "병": "병", "대": "대", "그릇": "그릇", "인분": "인분", "배": "배",
    "송이": "송이", "켤레": "켤레", "벌": "벌", "가지": "가지", "군데": "군데", "캔": "캔", "봉지": "봉지",
    "박스": "박스", "상자": "상자", "통": "통", "점": "점", "등": "등", "위": "위", "학년": "학년", "박": "박",
}  # fmt: skip
# A lone 십/백/천/만/억 is read before these only (만 원, 백 번), not before 점 (만점) or 일 (백일).
_LONE_SINO_UNITS = {"KRW", "USD", "명", "개", "번", "배"}
# What may follow a unit or a lone numeral in the same word: particles and endings.
_FOLLOWERS = (
    "이에요", "이예요", "입니다", "이라서", "이라", "이랑", "이면", "이나", "이요", "이야", "이고", "인데",
    "인가", "이서", "예요", "에요", "에서", "으로", "까지", "부터", "정도", "짜리", "어치", "밖에", "만큼",
    "이상", "이하", "이내", "동안", "하고", "씩", "째", "쯤", "당", "이", "가", "을", "를", "은", "는", "에",
    "의", "만", "로", "요", "야", "나", "와", "과", "랑", "고", "면", "라", "래", "며", "다", "도", "간",
)

_SINO_DIGITS = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "륙": 6, "칠": 7, "팔": 8, "구": 9}
_SMALL_UNITS = {"십": 10, "백": 100, "천": 1000}
_BIG_UNITS = {"만": 10**4, "억": 10**8, "조": 10**12}
_NATIVE_ONES = {"하나": 1, "한": 1, "둘": 2, "두": 2, "셋": 3, "세": 3, "석": 3, "넷": 4, "네": 4, "넉": 4,
                "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9}
_NATIVE_TENS = {"열": 10, "스물": 20, "스무": 20, "서른": 30, "마흔": 40, "쉰": 50, "예순": 60, "일흔": 70,
                "여든": 80, "아흔": 90}
_ADNOMINAL = {"한", "두", "세", "석", "네", "넉", "스무"}  # only before a counter
_NOT_ALONE = {"열", "쉰"}  # fever / hoarse, far more often than 10 / 50

_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SINO_CHARS = "".join(_SINO_DIGITS) + "".join(_SMALL_UNITS)
# One group: digits or Sino-Korean syllables, then maybe 만/억/조 ("3만", "오천", "만", "1.5억").
_GROUP = re.compile(
    rf"(?P<digits>{_DIGITS})(?P<mult>[십백천])?(?P<big>[만억조])?"
    rf"|(?P<sino>[{_SINO_CHARS}]+)(?P<sbig>[만억조])?"
    r"|(?P<lone>[만억조])"
)
_NATIVE = re.compile(
    "(?:{})?(?:{})?".format("|".join(_NATIVE_TENS), "|".join(sorted(_NATIVE_ONES, key=len, reverse=True)))
)
_UNIT = re.compile("|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True)), re.IGNORECASE)
_LATIN = re.compile(r"[A-Za-z]")


_FIRST = re.compile(r"첫\s*번(?:째)?")


def _is_hangul(char: str) -> bool:
    return "가" <= char <= "힣"


def _sino_small(syllables: str) -> int | None:
    """The value of 천이백삼십사-style syllables below 10,000 (None when they are not a numeral)."""
    total, digit, last_unit = 0, None, 10**5
    for char in syllables:
        if char in _SINO_DIGITS:
            if digit is not None:
                return None  # two digits in a row: 일이, 구구
            digit = _SINO_DIGITS[char]
        else:
            unit = _SMALL_UNITS[char]
            if unit >= last_unit or digit == 1:  # 천천, 십백; and 일십 is said 십
                return None
            total, digit, last_unit = total + (digit or 1) * unit, None, unit
    return total + (digit or 0)


def _as_number(value: Decimal) -> Number:
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class _Reading:
    """A numeral read at one position: where it ends, its value, its kind (digits, sino, native), how many
    Hangul syllables it has and its text."""

    end: int
    value: Decimal
    kind: str
    syllables: int
    text: str


def _read_arabic_or_sino(text: str, start: int) -> _Reading | None:
    """Groups from ``start`` with descending 만/억/조 ("삼만 오천", "3억 5천만", "1,234"), joined by at most
    one space after a 만/억/조."""
    position, total, last_big = start, Decimal(0), 10**16
    kind, syllables, end = "", 0, start
    while True:
        match = _GROUP.match(text, position)
        if not match or match.end() == position:
            break
        if match["digits"]:
            try:
                small = Decimal(match["digits"].replace(",", ""))
            except InvalidOperation:
                break
            small *= _SMALL_UNITS.get(match["mult"] or "", 1)
            big_char, group_kind = match["big"], "digits"
        elif match["sino"]:
            value = _sino_small(match["sino"])
            if value is None:
                return None
            small, big_char, group_kind = Decimal(value), match["sbig"], "sino"
            syllables += len(match["sino"]) + (1 if big_char else 0)
        else:
            small, big_char, group_kind = Decimal(1), match["lone"], "sino"
            syllables += 1
        big = _BIG_UNITS[big_char] if big_char else 1
        if big >= last_big:  # 만만, 삼만 이만
            break
        kind = "digits" if "digits" in (kind, group_kind) else "sino"
        total += small * big
        end = match.end()
        if big == 1:  # below 만 the group was the last one
            break
        last_big = big
        # Another group may follow directly or after one space (삼만오천, 삼만 오천).
        position = end + 1 if text.startswith(" ", end) and _GROUP.match(text, end + 1) else end
    if end == start:
        return None
    return _Reading(end, total, kind, syllables, text[start:end])


def _read_native(text: str, start: int) -> _Reading | None:
    match = _NATIVE.match(text, start)
    if not match or match.end() == start:
        return None
    word = match.group()
    tens = next((t for t in _NATIVE_TENS if word.startswith(t)), "")
    ones = word[len(tens):]
    if ones and ones not in _NATIVE_ONES:
        return None
    value = _NATIVE_TENS.get(tens, 0) + _NATIVE_ONES.get(ones, 0)
    if tens == "스무" and ones:
        return None  # 스무 is 20 before a counter only; 스물다섯
    return _Reading(match.end(), Decimal(value), "native", len(word), word)


def _follows_well(text: str, end: int) -> bool:
    """The word ends at ``end``, or goes on with a particle or an ending only (원이에요, 개씩)."""
    if end >= len(text) or not (_is_hangul(text[end]) or text[end].isalnum()):
        return True
    if not _is_hangul(text[end]):
        return False
    return text.startswith(_FOLLOWERS, end)


def _unit_after(text: str, end: int) -> tuple[str, int] | None:
    """The unit right after ``end`` (one space allowed) and where it ends, when the word ends well there."""
    for gap in (0, 1):
        if gap and not text.startswith(" ", end):
            break
        match = _UNIT.match(text, end + gap)
        if not match:
            continue
        unit_end = match.end()
        latin = _LATIN.match(match.group())
        if latin and unit_end < len(text) and (text[unit_end].isascii() and text[unit_end].isalnum()):
            continue  # "3min", "10kgs"
        if _follows_well(text, unit_end):
            return UNITS[match.group().lower()], unit_end
    return None


def _accept(reading: _Reading, unit: str | None) -> bool:
    """Whether a Korean numeral is numeric enough here (see the module docstring)."""
    if reading.kind == "digits":
        return True
    if reading.kind == "native":
        if unit is not None:
            return True
        return reading.text not in _ADNOMINAL and reading.text not in _NOT_ALONE and not reading.text.endswith(
            tuple(_ADNOMINAL - {"스무"}))
    if unit is not None:
        if reading.syllables >= 2:
            return True
        return reading.text in ("십", "백", "천", "만", "억") and unit in _LONE_SINO_UNITS
    return reading.syllables >= 3 or bool(re.fullmatch("[이삼사오육칠팔구]십", reading.text))


class NumberExtractor(EntityExtractor):
    """Type "number" (value a number) or "quantity" (value ``{"value", "unit"}``), see the module docstring."""

    name = "number_extractor"
    defaults: ClassVar[dict[str, Any]] = {}

    def types(self) -> list[str]:
        return ["number", "quantity"]

    def extract(self, message: Message) -> list[Entity]:
        text = message.normalized
        # Where Kiwi read a numeral or a determiner (None: no tokenizer ran, the syllables alone decide).
        numeric = {t.start for t in message.tokens if t.pos in ("NR", "MM")} if message.tokens else None
        found: list[Entity] = []
        position = 0
        while position < len(text):
            entity = self._at(text, position, numeric)
            if entity is None:
                position += 1
            else:
                found.append(entity)
                position = entity.end
        return found

    def _at(self, text: str, start: int, numeric: set[int] | None = None) -> Entity | None:
        before = text[start - 1] if start else " "
        char = text[start]
        first = _FIRST.match(text, start) if char == "첫" and not _is_hangul(before) else None
        if first:  # "첫 번째": the one ordinal that no numeral spells ("두 번째" reads as 두 번)
            return Entity("quantity", first.group(), start, first.end(), {"value": 1, "unit": "번"}, self.name)
        if char.isdigit() or char == "-":
            if before.isalnum() and not _is_hangul(before) or before in ".,":
                return None  # S22, v1.2, the tail of 1,234 read elsewhere
            if char == "-":
                if not (text[start + 1:start + 2].isdigit() and before in " ("):
                    return None
                reading = _read_arabic_or_sino(text, start + 1)
                if reading is None:
                    return None
                reading = _Reading(reading.end, -reading.value, reading.kind, 0, reading.text)
            else:
                reading = _read_arabic_or_sino(text, start)
            if reading is None:
                return None
            if reading.end < len(text) and text[reading.end].isascii() and text[reading.end].isalpha() \
                    and not _unit_after(text, reading.end):
                return None  # 3D, mp3 read from the other side
        elif _is_hangul(char) and not _is_hangul(before):
            if numeric is not None and start not in numeric:
                return None  # Kiwi read a word here (두통, 한도, 하나 as 하 + 나)
            reading = _read_native(text, start) or _read_arabic_or_sino(text, start)
            if reading is None:
                return None
        else:
            return None
        unit = _unit_after(text, reading.end)
        if reading.kind == "native" and (unit is None or unit[0] == "degree") and text.startswith("도", reading.end):
            return None  # 하나도 없어, 둘도 없는: an idiom, and 도 is no unit after a native numeral
        if not _accept(reading, unit[0] if unit else None):
            return None
        if reading.kind != "digits" and unit is None and not _follows_well(text, reading.end):
            return None
        if unit is None:
            return Entity("number", text[start:reading.end], start, reading.end, _as_number(reading.value), self.name)
        return Entity("quantity", text[start:unit[1]], start, unit[1],
                      {"value": _as_number(reading.value), "unit": unit[0]}, self.name)

"""Korean time expressions: korean-datetime and dateparser on our table, and the time extractor's speed.

    python benchmarks/time_expressions.py [--repeat 200] [--out FILE]

The table is ``tests/entities/time_table.yaml``: Korean chat sentences, each with the time expression
in it and what it means (start, end, grain) against a fixed "now". Three scores:

- ``extractor``: our ``time_extractor`` (korean-datetime plus its patches) finds the expression's exact
  text with the exact start, end and grain (the test asks for at least 95%);
- ``strict``: the same for korean-datetime alone;
- ``lenient``: the one both libraries can be scored on, as dateparser gives a moment, not an interval
  with a grain: some expression overlapping the expected text resolves to a moment inside the expected
  ``[start, end)``. dateparser (``search_dates``, languages ko, now as RELATIVE_BASE, future dates
  preferred) is a dev-only comparison: the app never imports it.

Speed: the extractor's mean time per message, on chat messages with and without a time expression
(the table's sentences and its negatives) and on one 1,000-character message, after a warm-up; the
number extractor's beside it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

if __package__ in (None, ""):  # run as a script: import from the checkout
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.common import add_common_arguments, arguments_dict, emit, environment, log
from chatbot.entities import EntityExtractor
from chatbot.entities.numbers import NumberExtractor
from chatbot.entities.time import TimeExtractor
from chatbot.message import Message

TABLE = Path(__file__).resolve().parents[1] / "tests" / "entities" / "time_table.yaml"
PACKAGES = ("korean-datetime", "dateparser")


@dataclass(frozen=True)
class Row:
    """One table entry: the expression ``text`` inside ``sentence`` means ``[start, end)`` at ``grain``."""

    sentence: str
    text: str
    start: datetime
    end: datetime
    grain: str

    @property
    def span(self) -> tuple[int, int]:
        first = self.sentence.index(self.text)
        return first, first + len(self.text)

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True)
class Table:
    now: datetime
    rows: list[Row]
    negatives: list[str]


def load_table(path: Path = TABLE) -> Table:
    """The table with its datetimes aware, in its timezone."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    zone = ZoneInfo(raw["timezone"])

    def moment(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=zone)

    rows = [Row(r["sentence"], r["text"], moment(r["start"]), moment(r["end"]), r["grain"])
            for r in raw["expressions"]]
    return Table(moment(raw["now"]), rows, list(raw.get("negatives") or []))


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def extractor_hits(table: Table, extractor: TimeExtractor | None = None) -> list[bool]:
    """Per row: did ``time_extractor`` find the exact text with the exact start, end and grain."""
    extractor = extractor or TimeExtractor()
    hits = []
    for row in table.rows:
        message = Message(text=row.sentence, normalized=row.sentence, context={"now": table.now})
        wanted = {"start": row.start.isoformat(), "end": row.end.isoformat(), "grain": row.grain}
        hits.append(any(e.text == row.text and e.value == wanted for e in extractor.extract(message)))
    return hits


def korean_datetime_hits(table: Table) -> tuple[list[bool], list[bool]]:
    """Per row, korean-datetime alone: (strict, lenient) as the module docstring defines them."""
    from korean_datetime import parse_all

    strict, lenient = [], []
    for row in table.rows:
        found = parse_all(row.sentence, now=table.now)
        strict.append(any(x.text == row.text and (x.start, x.end, x.grain.value) == (row.start, row.end, row.grain)
                          for x in found))
        lenient.append(any(_overlaps(x.span, row.span) and row.holds(x.start) for x in found))
    return strict, lenient


def dateparser_hits(table: Table) -> list[bool]:
    """Per row, dateparser's lenient score (it gives one moment per match, naive, in the table's zone)."""
    from dateparser.search import search_dates

    naive_now = table.now.replace(tzinfo=None)
    settings = {"RELATIVE_BASE": naive_now, "PREFER_DATES_FROM": "future"}
    hits = []
    for row in table.rows:
        found = search_dates(row.sentence, languages=["ko"], settings=settings) or []
        hit = False
        for substring, moment in found:
            first = row.sentence.find(substring)
            span = (first, first + len(substring))
            if first >= 0 and _overlaps(span, row.span) and row.holds(moment.replace(tzinfo=row.start.tzinfo)):
                hit = True
        hits.append(hit)
    return hits


def negatives_found(table: Table, extractor: TimeExtractor | None = None) -> list[str]:
    """The negatives in which the extractor finds a time (there should be none)."""
    extractor = extractor or TimeExtractor()
    return [s for s in table.negatives
            if extractor.extract(Message(text=s, normalized=s, context={"now": table.now}))]


def rate(hits: list[bool]) -> float:
    return round(sum(hits) / len(hits), 4) if hits else 0.0


def mean_ms(extractor: EntityExtractor, texts: list[str], now: datetime, repeat: int) -> float:
    """Mean milliseconds per ``extract`` call over ``texts``, median of ``repeat`` rounds, after a warm-up."""
    messages = [Message(text=t, normalized=t, context={"now": now}) for t in texts]
    for message in messages:
        extractor.extract(message)
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for message in messages:
            extractor.extract(message)
        rounds.append((time.perf_counter() - start) / len(messages) * 1000)
    return round(statistics.median(rounds), 4)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="timing rounds over the sentences (median)")
    add_common_arguments(parser, data=False)
    args = parser.parse_args(argv)

    table = load_table()
    extractor = TimeExtractor()
    ours = extractor_hits(table, extractor)
    strict, lenient = korean_datetime_hits(table)
    try:
        dateparser: dict[str, Any] | None = {"lenient": rate(dateparser_hits(table))}
    except ImportError:
        dateparser = None
        log("dateparser is not installed: its scores are left out")
    missed = [row.sentence for row, hit in zip(table.rows, ours, strict=True) if not hit]
    log(f"time_extractor misses: {missed}")
    with_time = [row.sentence for row in table.rows]
    result = {
        "benchmark": "time_expressions",
        "arguments": arguments_dict(args),
        "table": {"path": str(TABLE.relative_to(TABLE.parents[2])), "expressions": len(table.rows),
                  "negatives": len(table.negatives), "now": table.now.isoformat()},
        "accuracy": {
            "time_extractor": {"strict": rate(ours), "missed": missed},
            "korean_datetime": {"strict": rate(strict), "lenient": rate(lenient)},
            "dateparser": dateparser,
        },
        "false_positives_on_negatives": negatives_found(table, extractor),
        "extractor_ms_per_message": {
            "with_time": mean_ms(extractor, with_time, table.now, args.repeat),
            "without_time": mean_ms(extractor, table.negatives, table.now, args.repeat),
            "chars_1000": mean_ms(extractor, ["가나다라마 오늘 " * 111], table.now, max(args.repeat // 10, 5)),
        },
        # The number extractor beside it, on the same messages (the entity layer's budget is 2 ms a message).
        "number_extractor_ms_per_message": {
            "with_time": mean_ms(NumberExtractor(), with_time, table.now, args.repeat),
            "without_time": mean_ms(NumberExtractor(), table.negatives, table.now, args.repeat),
            "chars_1000": mean_ms(NumberExtractor(), ["가나다라마 오늘 " * 111], table.now, max(args.repeat // 10, 5)),
        },
        "environment": environment(PACKAGES),
    }
    emit(result, args.out)
    return result


if __name__ == "__main__":
    main()

"""Entity corpora in sequence-labelling formats: Kochat's tag CSV and KLUE-NER's character TSV.

- Kochat (``question,label``): the label is one BIO/BIOES tag per whitespace token of the question.
- KLUE-NER (``.tsv`` starting with ``##``): a ``## <id>\\t<sentence with <text:TAG> markup>`` line, one
  ``CHAR\\tTAG`` line per character (a space is a character too), a blank line between sentences.

Both become entity-only messages (``gold_intent`` None) whose ``gold_entities`` hold character offsets
into ``Message.text``. Every bad row is reported with its file and line through ``Problems``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from chatbot.corpus.errors import Problems
from chatbot.entities.tagging import tags_to_spans
from chatbot.message import Entity, Message, TrainingData

TAG_PATTERN = re.compile(r"^(O|[BIES]-\S+)$")
_MARKUP = re.compile(r"<([^<>]+?):([A-Za-z_]+)>")
_SENTENCE_HEADER = re.compile(r"^##\s*(\S+)\t(.*)$")  # "## <id>\t<sentence>"; other "##" lines are comments


def is_tag(token: str) -> bool:
    """``O``, or a ``B-``/``I-``/``E-``/``S-`` prefix with a type."""
    return bool(TAG_PATTERN.match(token))


def looks_like_tag_file(labels: Sequence[str]) -> bool:
    """Whether the ``label`` column holds tag sequences rather than intents.

    At least half the labels are made of tags only, and some label is more than one tag or a prefixed
    tag (an intent file never looks like that; a tag file with a few bad rows still does, so that those
    rows are reported rather than read as intents)."""
    labels = [label.strip() for label in labels if label.strip()]
    if not labels:
        return False
    tagged = [label for label in labels if all(is_tag(t) for t in label.split())]
    return 2 * len(tagged) >= len(labels) and any(len(t.split()) > 1 or t != "O" for t in tagged)


def check_tags(tags: Sequence[str]) -> str | None:
    """The first problem of a tag sequence, or None: an unknown tag shape, or an ``I-``/``E-`` tag that
    does not continue a ``B-``/``I-`` of the same type."""
    previous = "O"
    for position, tag in enumerate(tags, start=1):
        if not is_tag(tag):
            return f"tag {position} {tag!r} is not O, B-type, I-type, E-type or S-type"
        prefix, _, type_ = tag.partition("-")
        if prefix in ("I", "E"):
            before, _, before_type = previous.partition("-")
            if before not in ("B", "I") or before_type != type_:
                return f"tag {position} {tag!r} does not follow a B-{type_} or I-{type_}"
        previous = tag
    return None


def read_tag_rows(path: Path, rows: Sequence[tuple[int, str, str]], data: TrainingData,
                  problems: Problems) -> None:
    """Append ``(line, text, tags)`` rows of a Kochat-style file: one tag per whitespace token."""
    for line, raw_text, label in rows:
        text = raw_text.strip()
        if not text:
            problems.add(path, line, "empty text")
            continue
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        tags = label.split()
        if len(tags) != len(words):
            problems.add(path, line, f"{len(tags)} tag(s) for {len(words)} whitespace token(s): "
                                     "give one tag per token")
            continue
        problem = check_tags(tags)
        if problem:
            problems.add(path, line, problem)
            continue
        entities = [Entity(type_, text[start:end], start, end) for type_, start, end in tags_to_spans(words, tags)]
        data.messages.append(Message(text=text, gold_intent=None, gold_entities=entities, source=f"{path}:{line}"))


def is_klue_file(content: str) -> bool:
    """A KLUE-NER file: its first non-empty line is a ``##`` comment."""
    first = next((line for line in content.splitlines() if line.strip()), "")
    return first.startswith("##")


def _strip_markup(sentence: str) -> str:
    return _MARKUP.sub(lambda m: m.group(1), sentence)


def read_klue(path: Path, content: str, data: TrainingData, problems: Problems) -> None:
    """Append the sentences of a KLUE-NER character TSV (``## id\\tsentence``, ``CHAR\\tTAG`` lines)."""
    header: tuple[int, str] | None = None  # (line, sentence) of the sentence being read
    chars: list[str] = []
    tags: list[str] = []
    bad = False

    def finish() -> None:
        if header is not None and not bad:
            _add_klue_sentence(path, header, chars, tags, data, problems)

    for line_no, raw in enumerate(content.split("\n"), start=1):
        line = raw.rstrip("\r")
        if line.startswith("##"):
            match = _SENTENCE_HEADER.match(line)
            if match:
                finish()
                header, chars, tags, bad = (line_no, match.group(2)), [], [], False
            continue
        if not line.strip() and "\t" not in line:
            finish()
            header, chars, tags, bad = None, [], [], False
            continue
        parts = line.split("\t")
        if header is None:
            problems.add(path, line_no, "a CHAR\\tTAG line before any '## <id>\\t<sentence>' line")
        elif len(parts) != 2 or len(parts[0]) != 1 or not parts[1].strip():
            problems.add(path, line_no, f"expected CHAR<TAB>TAG (one character, one tag), got {line!r}")
            bad = True
        else:
            chars.append(parts[0])
            tags.append(parts[1].strip())
    finish()


def _add_klue_sentence(path: Path, header: tuple[int, str], chars: list[str], tags: list[str],
                       data: TrainingData, problems: Problems) -> None:
    line, sentence = header
    text = "".join(chars)
    if text != _strip_markup(sentence):
        problems.add(path, line, "the characters below this line do not spell its sentence")
        return
    problem = check_tags(tags)
    if problem:
        problems.add(path, line, f"in this sentence: {problem}")
        return
    stripped = text.strip()
    if not stripped:
        problems.add(path, line, "empty sentence")
        return
    shift = len(text) - len(text.lstrip())
    units = [(i, i + 1) for i in range(len(text))]
    entities = [Entity(type_, text[start:end], start - shift, end - shift)
                for type_, start, end in tags_to_spans(units, tags)]
    data.messages.append(Message(text=stripped, gold_intent=None, gold_entities=entities, source=f"{path}:{line}"))

"""Our own YAML corpus format (documented in data/corpus/README.md).

It is read through PyYAML's node tree rather than plain ``safe_load`` so that every problem
can name the line it is on.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from chatbot.corpus.errors import Problems, read_utf8
from chatbot.message import Message, TrainingData
from chatbot.responders.templates import FIELDS, template_fields

TOP_KEYS = {"version", "intents"}
INTENT_KEYS = {"intent", "description", "examples", "responses", "pairs"}
PAIR_KEYS = {"q", "a"}


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _mapping(node: Node, allowed: set[str], what: str, path: Path, problems: Problems) -> dict[str, Node] | None:
    if not isinstance(node, MappingNode):
        problems.add(path, _line(node), f"{what} must be a mapping of keys to values")
        return None
    items = {}
    for key, value in node.value:
        name = key.value if isinstance(key, ScalarNode) else None
        if name not in allowed:
            problems.add(path, _line(key), f"unknown key {name!r} in {what}; allowed: {', '.join(sorted(allowed))}")
        else:
            items[name] = value
    return items


def _strings(node: Node, what: str, path: Path, problems: Problems) -> list[tuple[str, int]]:
    if not isinstance(node, SequenceNode):
        problems.add(path, _line(node), f"{what} must be a list")
        return []
    out = []
    for item in node.value:
        if not isinstance(item, ScalarNode) or not str(item.value).strip():
            problems.add(path, _line(item), f"empty or non-text item in {what}")
        else:
            out.append((str(item.value).strip(), _line(item)))
    return out


def _check_template(text: str, line: int, path: Path, problems: Problems) -> None:
    try:
        unknown = template_fields(text) - set(FIELDS)
    except ValueError as exc:
        problems.add(path, line, f"malformed template braces ({exc})")
        return
    if unknown:
        problems.add(path, line, f"unknown template field(s) {sorted(unknown)}; allowed: {', '.join(FIELDS)}")


def _read_intent(node: Node, path: Path, data: TrainingData, problems: Problems) -> None:
    items = _mapping(node, INTENT_KEYS, "an intent", path, problems)
    if items is None:
        return
    name_node = items.get("intent")
    if not isinstance(name_node, ScalarNode) or not str(name_node.value).strip():
        problems.add(path, _line(node), "an intent needs an 'intent' name")
        return
    intent = str(name_node.value).strip()
    if "description" in items:
        data.descriptions.setdefault(intent, str(items["description"].value).strip())
    for text, line in _strings(items["examples"], "examples", path, problems) if "examples" in items else []:
        data.messages.append(Message(text=text, gold_intent=intent, source=f"{path}:{line}"))
    for text, line in _strings(items["responses"], "responses", path, problems) if "responses" in items else []:
        _check_template(text, line, path, problems)
        data.responses.setdefault(intent, []).append(text)
    pairs = items.get("pairs")
    if pairs is not None and not isinstance(pairs, SequenceNode):
        problems.add(path, _line(pairs), "pairs must be a list of {q, a}")
        pairs = None
    for pair in pairs.value if pairs is not None else []:
        fields = _mapping(pair, PAIR_KEYS, "a pair", path, problems)
        if fields is None:
            continue
        q, a = (fields.get(k) for k in ("q", "a"))
        filled = all(isinstance(n, ScalarNode) and str(n.value).strip() for n in (q, a))
        if not filled:
            problems.add(path, _line(pair), "a pair needs a non-empty 'q' and 'a'")
            continue
        _check_template(str(a.value), _line(a), path, problems)
        data.messages.append(Message(text=str(q.value).strip(), gold_intent=intent,
                                     gold_answer=str(a.value).strip(), source=f"{path}:{_line(q)}"))
    if not any(k in items for k in ("examples", "pairs")):
        problems.add(path, _line(node), f"intent {intent!r} has no examples or pairs")


def read_yaml(path: Path, data: TrainingData, problems: Problems) -> None:
    """Append a YAML corpus file's intents, examples, responses and pairs to ``data``."""
    content = read_utf8(path, problems)
    if content is None:
        return
    try:
        root = yaml.compose(content, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.add(path, mark.line + 1 if mark else 0, f"YAML syntax error: {getattr(exc, 'problem', exc)}")
        return
    if root is None:
        problems.add(path, 1, "empty file")
        return
    top = _mapping(root, TOP_KEYS, "the file", path, problems)
    if top is None:
        return
    version = top.get("version")
    if version is not None and str(version.value) != "1":
        problems.add(path, _line(version), f"unsupported version {version.value}; this reader knows version 1")
    intents = top.get("intents")
    if not isinstance(intents, SequenceNode):
        problems.add(path, _line(intents) if intents else 1, "the file needs an 'intents' list")
        return
    for node in intents.value:
        _read_intent(node, path, data, problems)

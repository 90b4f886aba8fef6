"""Our own YAML corpus format (documented in data/corpus/README.md).

It is read through PyYAML's node tree rather than plain ``safe_load`` so that every problem
can name the line it is on. Examples and pair questions may carry entity markup
(``chatbot.corpus.markup``); the ``entities`` key declares lookup tables with their synonyms and
entity-only examples (rows without an intent).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from chatbot.corpus.errors import Problems, read_utf8
from chatbot.corpus.markup import TYPE_NAME, MarkupError, parse_markup
from chatbot.message import Entity, Message, TrainingData
from chatbot.responders.templates import FIELDS, template_fields

TOP_KEYS = {"version", "intents", "entities"}
INTENT_KEYS = {"intent", "description", "examples", "responses", "pairs", "slots", "action"}
PAIR_KEYS = {"q", "a"}
ENTITY_KEYS = {"entity", "values", "examples"}
SLOT_KEYS = {"name", "entity", "required", "question", "default", "choices", "carry"}


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


def _marked(text: str, line: int, path: Path, problems: Problems) -> tuple[str, list[Entity]] | None:
    """A sentence without its entity markup and the entities it marks; None (a problem) when malformed."""
    try:
        plain, entities = parse_markup(text)
    except MarkupError as exc:
        problems.add(path, line, f"entity markup: {exc}")
        return None
    if not plain.strip():
        problems.add(path, line, "the sentence is empty once its markup is removed")
        return None
    return plain, entities


def _add_row(text: str, line: int, intent: str | None, answer: str | None, path: Path, data: TrainingData,
             problems: Problems) -> None:
    marked = _marked(text, line, path, problems)
    if marked is not None:
        data.messages.append(Message(text=marked[0], gold_intent=intent, gold_answer=answer,
                                     gold_entities=marked[1], source=f"{path}:{line}"))


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
        _add_row(text, line, intent, None, path, data, problems)
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
        _add_row(str(q.value).strip(), _line(q), intent, str(a.value).strip(), path, data, problems)
    if not any(k in items for k in ("examples", "pairs")):
        problems.add(path, _line(node), f"intent {intent!r} has no examples or pairs")
    _read_dialogue(intent, items, path, data, problems)


def _scalar(node: Node | None) -> str | None:
    return str(node.value).strip() if isinstance(node, ScalarNode) and not node.tag.endswith(":null") else None


def _read_dialogue(intent: str, items: dict[str, Node], path: Path, data: TrainingData, problems: Problems) -> None:
    """An intent's ``action`` name and ``slots`` (chatbot.dialogue.domain), into ``data.dialogue``."""
    if "action" not in items and "slots" not in items:
        return
    action = _scalar(items.get("action")) if "action" in items else None
    if "action" in items and not action:
        problems.add(path, _line(items["action"]), f"the action of intent {intent!r} must be a registered name")
    slots: list[dict] = []
    node = items.get("slots")
    if node is not None and not isinstance(node, SequenceNode):
        problems.add(path, _line(node), "slots must be a list of {name, entity, question, ...}")
    for item in node.value if isinstance(node, SequenceNode) else []:
        slot = _read_slot(item, path, problems)
        if slot is not None:
            if any(s["name"] == slot["name"] for s in slots):
                problems.add(path, _line(item), f"slot {slot['name']!r} is declared twice in intent {intent!r}")
            slots.append(slot)
    where = items.get("slots") or items["action"]
    data.dialogue[intent] = {"slots": slots, "action": action, "source": f"{path}:{_line(where)}"}


def _read_slot(node: Node, path: Path, problems: Problems) -> dict | None:
    fields = _mapping(node, SLOT_KEYS, "a slot", path, problems)
    if fields is None:
        return None
    name, entity = _scalar(fields.get("name")), _scalar(fields.get("entity"))
    if not name or not entity:
        problems.add(path, _line(node), "a slot needs a 'name' and the 'entity' type that fills it")
        return None
    slot: dict = {"name": name, "entity": entity, "question": _scalar(fields.get("question")) or "",
                  "default": _scalar(fields.get("default")), "choices": []}
    for key in ("required", "carry"):
        if key in fields:
            value = fields[key].value if isinstance(fields[key], ScalarNode) else None
            if value not in ("true", "false"):
                problems.add(path, _line(fields[key]), f"slot {name!r}: {key} must be true or false")
                return None
            slot[key] = value == "true"
    if "choices" in fields:
        slot["choices"] = [text for text, _ in _strings(fields["choices"], f"the choices of slot {name!r}", path,
                                                         problems)]
    return slot


def _add_lookup(type_: str, surface: str, value: str, line: int, path: Path, data: TrainingData,
                problems: Problems) -> None:
    """``surface`` stands for ``value`` in ``type_``'s table; one surface form has one value."""
    table = data.lookups.setdefault(type_, {})
    known = table.get(surface)
    if known is not None and known != value:
        what = "a value" if known == surface else f"a synonym of {known!r}"
        problems.add(path, line, f"{surface!r} is already {what} in entity {type_!r}; "
                                 "one surface form can stand for one value only")
    else:
        table[surface] = value


def _read_value(item: Node, type_: str, path: Path, data: TrainingData, problems: Problems) -> None:
    """One item of ``values``: ``- 대구`` or ``- 서울: [서울시, 서울특별시]`` (a value and its synonyms)."""
    if isinstance(item, ScalarNode):
        value, synonyms = str(item.value).strip(), None
    elif isinstance(item, MappingNode) and len(item.value) == 1 and isinstance(item.value[0][0], ScalarNode):
        value, synonyms = str(item.value[0][0].value).strip(), item.value[0][1]
    else:
        problems.add(path, _line(item), "a value is '- 대구' or '- 서울: [서울시, 서울특별시]' (one value an item)")
        return
    if not value:
        problems.add(path, _line(item), f"empty value in entity {type_!r}")
        return
    _add_lookup(type_, value, value, _line(item), path, data, problems)
    if synonyms is None or (isinstance(synonyms, ScalarNode) and synonyms.tag.endswith(":null")):
        return
    if isinstance(synonyms, ScalarNode):  # a single synonym without a list
        found = [(str(synonyms.value).strip(), _line(synonyms))] if str(synonyms.value).strip() else []
        if not found:
            problems.add(path, _line(synonyms), f"empty synonym of {value!r}")
    else:
        found = _strings(synonyms, f"the synonyms of {value!r}", path, problems)
    for synonym, line in found:
        _add_lookup(type_, synonym, value, line, path, data, problems)


def _read_entity(node: Node, path: Path, data: TrainingData, problems: Problems) -> None:
    """An item of ``entities``: a type's lookup table (``values``) and entity-only ``examples``."""
    items = _mapping(node, ENTITY_KEYS, "an entity", path, problems)
    if items is None:
        return
    name_node = items.get("entity")
    type_ = str(name_node.value).strip() if isinstance(name_node, ScalarNode) else ""
    if not type_:
        problems.add(path, _line(node), "an entity needs an 'entity' type name")
        return
    if not TYPE_NAME.fullmatch(type_):
        problems.add(path, _line(name_node), f"bad entity type name {type_!r}: use ASCII letters, digits "
                                             "and _, starting with a letter")
        return
    values = items.get("values")
    if values is not None and not isinstance(values, SequenceNode):
        problems.add(path, _line(values), f"the values of entity {type_!r} must be a list")
    elif values is not None:
        data.lookups.setdefault(type_, {})
        for item in values.value:
            _read_value(item, type_, path, data, problems)
    for text, line in _strings(items["examples"], "examples", path, problems) if "examples" in items else []:
        _add_row(text, line, None, None, path, data, problems)
    if not any(k in items for k in ("values", "examples")):
        problems.add(path, _line(node), f"entity {type_!r} has no values or examples")


def _syntax_hint(content: str, line: int) -> str:
    """A hint for the YAML error that entity markup at the start of an unquoted sentence gives."""
    lines = content.splitlines()
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    if text.startswith(("- [", "q: [")):
        return " (a sentence that starts with entity markup must be quoted: - \"[부산](region) 날씨\")"
    return ""


def read_yaml(path: Path, data: TrainingData, problems: Problems) -> None:
    """Append a YAML corpus file's intents, examples, responses and pairs to ``data``."""
    content = read_utf8(path, problems)
    if content is None:
        return
    try:
        root = yaml.compose(content, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        problems.add(path, line, f"YAML syntax error: {getattr(exc, 'problem', exc)}{_syntax_hint(content, line)}")
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
    entities = top.get("entities")
    if entities is not None and not isinstance(entities, SequenceNode):
        problems.add(path, _line(entities), "'entities' must be a list of {entity, values, examples}")
    for node in entities.value if isinstance(entities, SequenceNode) else []:
        _read_entity(node, path, data, problems)
    intents = top.get("intents")
    if intents is None and entities is not None:
        return  # a file of entity tables and entity-only examples
    if not isinstance(intents, SequenceNode):
        problems.add(path, _line(intents) if intents else 1, "the file needs an 'intents' list")
        return
    for node in intents.value:
        _read_intent(node, path, data, problems)

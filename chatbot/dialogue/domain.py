"""What the corpus declares about conversations: an intent's slots and its action.

In a YAML corpus (``data/corpus/README.md``)::

    - intent: weather_ask
      action: weather
      slots:
        - name: place
          entity: region
          question: 어느 지역 날씨를 알려 드릴까요?
          choices: [서울, 부산, 제주]
          carry: true
        - name: when
          entity: time
          default: 오늘
          required: false
          carry: true

A slot is filled by an entity of its type found in the message (``entity: text`` takes the words of the
message that are not entities, for a reminder's "what"). ``required`` slots without a value are asked
for with ``question``; ``default`` (a time expression for ``time`` slots) fills a slot nobody gave;
``choices`` are shown as suggestion chips; ``carry`` slots stay filled for follow-ups ("그럼 부산은?").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SLOT_KEYS = {"name", "entity", "required", "question", "default", "choices", "carry"}
FREE_TEXT = "text"  # the entity type of a slot filled by the message's own words


@dataclass(frozen=True)
class Slot:
    """One slot of an intent's form."""

    name: str
    entity: str
    question: str = ""
    required: bool = True
    default: str | None = None
    choices: tuple[str, ...] = ()
    carry: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "choices": list(self.choices)}


@dataclass(frozen=True)
class IntentSpec:
    """An intent's conversation side: its slots in asking order, and the action that answers it."""

    intent: str
    slots: tuple[Slot, ...] = ()
    action: str | None = None
    description: str = ""

    def slot(self, name: str) -> Slot | None:
        return next((s for s in self.slots if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"intent": self.intent, "slots": [s.to_dict() for s in self.slots], "action": self.action,
                "description": self.description}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntentSpec:
        slots = tuple(Slot(**{**{k: v for k, v in s.items() if k in SLOT_KEYS},
                                 "choices": tuple(s.get("choices") or ())}) for s in data.get("slots") or ())
        return cls(data["intent"], slots, data.get("action"), data.get("description") or "")


@dataclass
class Domain:
    """Every intent's ``IntentSpec``, by intent name (intents that declare neither slots nor action are absent)."""

    intents: dict[str, IntentSpec] = field(default_factory=dict)

    def get(self, intent: str | None) -> IntentSpec | None:
        return self.intents.get(intent) if intent else None

    def to_dict(self) -> dict[str, Any]:
        return {name: spec.to_dict() for name, spec in self.intents.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Domain:
        return cls({name: IntentSpec.from_dict(spec) for name, spec in (data or {}).items()})


def check_domain(domain: Domain, entity_types: set[str], actions: set[str]) -> list[tuple[str, str]]:
    """Problems of a declared domain as ``(intent, message)``: unknown entity types, slots without a
    question, unregistered actions, and forms that can never complete (a required slot that no
    extractor can fill and that has no default)."""
    problems: list[tuple[str, str]] = []
    for spec in domain.intents.values():
        if spec.action is not None and spec.action not in actions:
            problems.append((spec.intent, f"action {spec.action!r} is not registered; registered: "
                                          f"{', '.join(sorted(actions)) or 'none'}"))
        for slot in spec.slots:
            known = slot.entity == FREE_TEXT or slot.entity in entity_types
            if not known:
                problems.append((spec.intent, f"slot {slot.name!r} is filled by entity type {slot.entity!r}, which "
                                              f"no extractor or table provides; known: "
                                              f"{', '.join(sorted(entity_types | {FREE_TEXT}))}"))
            if slot.required and not slot.question.strip():
                problems.append((spec.intent, f"required slot {slot.name!r} has no question to ask for it"))
            if slot.required and not known and slot.default is None:
                problems.append((spec.intent, f"the form can never complete: required slot {slot.name!r} "
                                              "can be neither filled nor defaulted"))
    return problems

"""The dialogue policy: from a classified message and the conversation's state, what to do next.

``dialogue_policy`` is a pipeline stage after the intent classifier, the fallback detector and the entity
extractors, before the responder. It writes a ``Decision`` on ``message.dialogue``; ``chatbot.dialogue.turn``
carries it out (asks, runs the action, or keeps the responder's reply) and updates the state. The rules, in
order (documented in docs/architecture.md, "Conversations"):

1. **Reset**: "취소", "처음부터 다시", "됐어"... while a form is open closes it.
2. **Open form**: a message that fills one of the form's slots continues it, a bare answer ("부산",
   "모레 아침 9시") always; a message with a confident intent of its own leaves the form (and the bot says
   so); anything else gets the question again with the reason, up to ``max_tries`` times.
3. **Follow-up**: a message whose entities fill a slot of the previous intent and that has no confident
   intent of its own (the ``follow_up`` intent, a fallback, or a confidence under ``followup_confidence``)
   is the previous intent again, with the carried slots and the new values ("그럼 서울은?", "모레는?").
4. **Form**: an intent that declares slots fills them from the message, then from defaults, and asks for
   the first required slot still empty; a complete form runs the intent's action.
5. Otherwise the responder answers.

``followup_confidence`` is set from data (``tune``, on the validation split) and saved in the model directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import tossi

from chatbot.components import Component
from chatbot.dialogue.domain import FREE_TEXT, Domain, IntentSpec, Slot
from chatbot.dialogue.free_text import CORRECTION, free_text, is_verb_quote, residual
from chatbot.dialogue.state import DialogueState
from chatbot.entities.time import impossible_date
from chatbot.message import Entity, Message, TrainingData

RESET = re.compile(r"^(?:(?:아니\s*)?(?:취소|캔슬|그만)(?:\s*(?:해|할래|할게|해줘|해 줘|해요|하자|할게요|합니다))?|"
                   r"처음부터\s*다시(?:\s*(?:해|할래|하자|해줘))?|됐어(?:요)?|됐다|안\s*할래(?:요)?|필요\s*없어(?:요)?|"
                   r"없던\s*걸로\s*(?:해|해줘|하자)?)[\s.!~ㅠㅜ]*$")
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 19))


@dataclass
class Decision:
    """What the policy decided for one message.

    ``kind``: "respond" (the responder's reply), "ask" (``slot``'s question), "action" (run ``action``),
    "cancel" (a form was closed), "clarify" (a follow-up with nothing to follow). ``intent`` is the
    effective intent (the previous one for a follow-up), ``slots`` the form's values so far,
    ``notice`` a sentence to put first ("알림 설정은 그만둘게요."), ``reason`` why a question is repeated."""

    kind: str
    intent: str | None = None
    slots: dict[str, dict[str, Any]] = field(default_factory=dict)
    slot: str | None = None
    action: str | None = None
    reason: str = ""
    notice: str = ""
    followup: bool = False
    tries: int = 1


def entity_value(entity: Entity) -> dict[str, Any]:
    """A slot's stored value: the entity as JSON."""
    return {"type": entity.type, "text": entity.text, "value": entity.text if entity.value is None else entity.value}


class DialoguePolicy(Component):
    """Slots, forms, follow-ups and actions over the corpus's declared domain (``chatbot.dialogue``)."""

    name = "dialogue_policy"
    requires = ("intent",)
    provides = ("dialogue",)
    defaults: ClassVar[dict[str, Any]] = {"followup_intent": "follow_up", "followup_confidence": 0.5,
                                          "max_tries": 3, "timezone": "Asia/Seoul"}

    def fit(self, data: TrainingData) -> DialoguePolicy:
        self.domain_ = {name: {"intent": name, "slots": spec.get("slots") or [], "action": spec.get("action"),
                               "description": data.descriptions.get(name, "")}
                        for name, spec in data.dialogue.items()}
        return self

    @property
    def domain(self) -> Domain:
        if getattr(self, "_domain", None) is None:
            self._domain = Domain.from_dict(getattr(self, "domain_", {}))
        return self._domain

    def process(self, message: Message) -> Message:
        state = message.context.get("state")
        state = state if isinstance(state, DialogueState) else DialogueState.from_dict(state)
        message.dialogue = self.decide(message, state)
        if message.dialogue.followup and message.dialogue.intent:  # the responder answers the intent followed up
            message.intent, message.fallback = message.dialogue.intent, False
        return message

    # The rules, in order.
    def decide(self, message: Message, state: DialogueState) -> Decision:
        text = message.normalized or message.text
        if state.pending is not None and RESET.match(text):
            return Decision("cancel", state.pending.intent)
        if state.pending is not None and (spec := self.domain.get(state.pending.intent)) is not None:
            return self._in_form(message, state, spec)
        return self._fresh(message, state)

    def _confident(self, message: Message) -> bool:
        return (not message.fallback and message.intent not in (None, self.params["followup_intent"])
                and message.confidence >= self.params["followup_confidence"])

    def _in_form(self, message: Message, state: DialogueState, spec: IntentSpec) -> Decision:
        pending = state.pending
        assert pending is not None
        asked = spec.slot(pending.slot)
        text = message.normalized or message.text
        filled = self.fill(spec, message, answering=asked)
        bare = not residual(text, message.entities)
        # Leaving the form takes a confident intent of its own; to leave a question that any words answer
        # ("무엇을 알려 드릴까요?" - "치과 가기"), an intent with a form or an action of its own.
        own = self._confident(message) and message.intent != spec.intent and (
            asked is None or asked.entity != FREE_TEXT or self.domain.get(message.intent) is not None)
        if filled and (bare or not own):
            return self.complete(spec, {**state.slots, **filled}, message)
        if own and not bare:  # "32일" is an answer that failed, not a new subject
            decision = self._fresh(message, DialogueState(turns=state.turns))
            decision.notice = f"{tossi.postfix(spec.description or '하던 일', '은')} 그만둘게요."
            return decision
        if pending.tries >= self.params["max_tries"]:
            return Decision("cancel", spec.intent, reason="gave_up")
        reason = f"'{text[:30]}'에서 {tossi.postfix(type_label(asked), '을')} 찾지 못했어요." if asked else ""
        wrong = impossible_date(text, clock_of(message).date()) if asked and asked.entity == "time" else None
        if wrong:
            reason = f"{tossi.postfix(wrong, '은')} 없는 날짜예요."
        return Decision("ask", spec.intent, dict(state.slots), pending.slot, reason=reason, tries=pending.tries + 1)

    def _fresh(self, message: Message, state: DialogueState) -> Decision:
        text = message.normalized or message.text
        previous = self.domain.get(state.intent)
        followup_intent = self.params["followup_intent"]
        if previous is not None and any(s.carry for s in previous.slots):
            carried = {k: v for k, v in state.slots.items() if (s := previous.slot(k)) is not None and s.carry}
            if message.intent == previous.intent and not message.fallback:  # the same request again: "서울 날씨는?"
                return self.complete(previous, {**carried, **self.fill(previous, message, answering=None)}, message)
            filled = {k: v for k, v in self.fill(previous, message, answering=None, free=False).items()
                      if (s := previous.slot(k)) is not None and s.carry}
            unsure = (message.intent == followup_intent or message.fallback or bool(CORRECTION.match(text))
                      or message.confidence < self.params["followup_confidence"])
            if filled and unsure:
                decision = self.complete(previous, {**carried, **filled}, message)
                decision.followup = True
                return decision
        if message.intent == followup_intent:  # nothing to follow: the likeliest intent that can use its entities
            for intent, _ in message.ranking:
                spec = self.domain.get(intent)
                if spec is not None and intent != followup_intent and self.fill(spec, message, None, free=False):
                    return self.complete(spec, self.fill(spec, message, answering=None), message)
            return Decision("clarify", message.intent)
        spec = self.domain.get(message.intent)
        if spec is not None and not message.fallback:
            return self.complete(spec, self.fill(spec, message, answering=None), message)
        return Decision("respond", message.intent)

    def fill(self, spec: IntentSpec, message: Message, answering: Slot | None,
             free: bool = True) -> dict[str, dict[str, Any]]:
        """The slots of ``spec`` that ``message`` fills: each from the first unused entity of its type; a
        free-text slot from the message's own words (all of them when it is the slot being asked for)."""
        found: dict[str, dict[str, Any]] = {}
        used: list[Entity] = []
        text = message.normalized or message.text
        # "다음 주 말고 이번 주 금요일": what comes after 말고 is what is meant.
        cut = text.find("말고")
        entities = [e for e in message.entities if cut < 0 or e.start >= cut + 2]
        slots = sorted(spec.slots, key=lambda s: s is not answering)  # the asked slot takes first pick
        for slot in slots:
            if slot.entity == FREE_TEXT:
                continue
            for entity in entities:
                if entity not in used and entity.type == slot.entity:
                    found[slot.name] = entity_value(entity)
                    used.append(entity)
                    break
        for slot in spec.slots:
            if slot.entity == FREE_TEXT and free and (slot is answering or answering is None):
                # Only the entities that filled slots leave the words: "점심 약속" keeps its 점심.
                words = free_text(text, used, verb_quote=is_verb_quote(message.tokens))
                if words:
                    found[slot.name] = {"type": FREE_TEXT, "text": words, "value": words}
        return found

    def complete(self, spec: IntentSpec, slots: dict[str, dict[str, Any]], message: Message) -> Decision:
        """Defaults for the empty slots, then the first required one still empty is asked for, or the action runs."""
        slots = {k: v for k, v in slots.items() if spec.slot(k) is not None}
        for slot in spec.slots:
            if slot.name not in slots and slot.default is not None:
                value = self.default_value(slot, message)
                if value is not None:
                    slots[slot.name] = value
        missing = next((s for s in spec.slots if s.required and s.name not in slots), None)
        if missing is not None:
            return Decision("ask", spec.intent, slots, missing.name)
        if spec.action:
            return Decision("action", spec.intent, slots, action=spec.action)
        return Decision("respond", spec.intent, slots)

    def default_value(self, slot: Slot, message: Message) -> dict[str, Any] | None:
        """A slot's default as a value: a time expression resolved against the message's "now"."""
        if slot.entity != "time":
            return {"type": slot.entity, "text": slot.default, "value": slot.default, "default": True}
        from chatbot.entities.time import TimeExtractor

        parser = getattr(self, "_time", None) or TimeExtractor(timezone=self.params["timezone"])
        self._time = parser
        probe = Message(text=str(slot.default), normalized=str(slot.default), context=message.context)
        found = parser.extract(probe)
        return {**entity_value(found[0]), "default": True} if found else None

    def tune(self, messages: list[Message]) -> dict[str, Any]:
        """Set ``followup_confidence`` on held-out messages with entities: the threshold that best tells the
        corpus's follow-up examples (caught: a confidence under it, a fallback or the follow-up intent) from
        the other intents' examples (kept: their own intent), by balanced accuracy; the smallest of the best."""
        followup = self.params["followup_intent"]
        marked = [m for m in messages if m.entities and m.gold_intent]
        ups = [m for m in marked if m.gold_intent == followup]
        own = [m for m in marked if m.gold_intent != followup and m.intent == m.gold_intent]
        if not ups or not own:
            return {}

        def score(threshold: float) -> tuple[float, float]:
            caught = sum(m.intent == followup or m.fallback or m.confidence < threshold for m in ups) / len(ups)
            kept = sum(m.intent != followup and not m.fallback and m.confidence >= threshold for m in own) / len(own)
            return caught, kept

        best = max(THRESHOLD_GRID, key=lambda t: (sum(score(t)), -t))
        self.params["followup_confidence"] = best
        caught, kept = score(best)
        self.tuned_ = {"followup_caught": round(caught, 4), "own_intent_kept": round(kept, 4),
                       "followup_examples": len(ups), "other_examples": len(own)}
        return {"followup_confidence": best}


def clock_of(message: Message, timezone: str = "Asia/Seoul") -> datetime:
    """The message's "now" (``context["now"]``) or the current time, in ``timezone``."""
    now = message.context.get("now")
    zone = ZoneInfo(timezone)
    if isinstance(now, datetime):
        return now.replace(tzinfo=zone) if now.tzinfo is None else now.astimezone(zone)
    return datetime.now(zone)


def type_label(slot: Slot | None) -> str:
    """The Korean name of what a slot needs, for "…을(를) 찾지 못했어요"."""
    labels = {"time": "날짜나 시간", "region": "지역", "number": "숫자", "quantity": "수량", FREE_TEXT: "내용"}
    return labels.get(slot.entity, slot.name) if slot else "답"



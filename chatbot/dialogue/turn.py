"""Carry out the policy's decision for one message: ask, run the action, or keep the responder's reply;
then write the new dialogue state. ``Bot.reply`` calls ``take_turn`` after the pipeline."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import tossi

from chatbot.dialogue.domain import IntentSpec
from chatbot.dialogue.policy import Decision, clock_of
from chatbot.dialogue.state import DialogueState, Pending
from chatbot.message import Message
from chatbot.reply import Reply

CLARIFY_TEXT = "무엇에 대한 이야기인지 조금만 더 자세히 말씀해 주세요. 예를 들어 '부산 내일 날씨 어때?'처럼요."
MISSING_ACTION_TEXT = "죄송해요, 그 요청을 처리할 기능이 아직 준비되지 않았어요."


def question(spec: IntentSpec, slot_name: str) -> tuple[str, list[str]]:
    """A slot's question and its choices (suggestion chips)."""
    slot = spec.slot(slot_name)
    if slot is None:
        return "조금 더 자세히 말씀해 주세요.", []
    return slot.question or f"{tossi.postfix(slot.name, '을')} 알려 주세요.", list(slot.choices)


def take_turn(bot: Any, message: Message, state: DialogueState, text: str) -> Reply:
    """The reply to ``message`` (already through the pipeline) and, on it, the updated state."""
    decision: Decision | None = message.dialogue
    policy = bot.pipeline.find("dialogue_policy")
    responder_reply = base_reply(message)
    if decision is None or policy is None:
        reply = responder_reply
        state.intent = reply.intent
    else:
        spec = policy.domain.get(decision.intent)
        reply = carry_out(bot, message, decision, spec, state, responder_reply)
    state.add_turn("user", text)
    state.add_turn("bot", reply.text, reply.intent)
    slots = reply.slots if reply.slots is not None else {k: v.get("value") for k, v in state.slots.items()}
    return replace(reply, state=state.to_dict(), slots=slots)


def base_reply(message: Message) -> Reply:
    """The responder's reply, as ``Bot.reply`` returned it before dialogues."""
    return Reply(text=message.reply or "", intent=message.intent, confidence=round(float(message.confidence), 4),
                 fallback=message.fallback, suggestions=list(message.context.get("suggestions", [])),
                 source=message.reply_source)


def carry_out(bot: Any, message: Message, decision: Decision, spec: IntentSpec | None, state: DialogueState,
              responder_reply: Reply) -> Reply:
    """Do what ``decision`` says and update ``state`` to match."""
    confidence = round(float(message.confidence), 4)
    reply = _carry_out(bot, message, decision, spec, state, responder_reply, confidence)
    if decision.notice:
        reply = replace(reply, text=f"{decision.notice} {reply.text}")
    return reply


def _carry_out(bot: Any, message: Message, decision: Decision, spec: IntentSpec | None, state: DialogueState,
               responder_reply: Reply, confidence: float) -> Reply:
    if decision.kind == "cancel":
        what = spec.description if spec and spec.description else "하던 일"
        what = tossi.postfix(what, "은")
        text = (f"잘 알아듣지 못해서 {what} 취소할게요. 처음부터 다시 말씀해 주세요."
                if decision.reason == "gave_up" else f"알겠어요, {what} 취소했어요.")
        state.pending, state.slots, state.intent = None, {}, None
        return Reply(text, intent=decision.intent, confidence=confidence, source="dialogue")
    if decision.kind == "clarify":
        state.intent = None
        return Reply(CLARIFY_TEXT, intent=decision.intent, confidence=confidence, source="dialogue")
    if decision.kind == "ask" and spec is not None and decision.slot:
        return ask(spec, decision, state, confidence)
    if decision.kind == "action" and spec is not None and decision.action:
        return act(bot, message, decision, spec, state, confidence)
    state.intent, state.slots, state.pending = decision.intent or responder_reply.intent, dict(decision.slots), None
    return replace(responder_reply, intent=decision.intent or responder_reply.intent)


def ask(spec: IntentSpec, decision: Decision, state: DialogueState, confidence: float, reason: str = "") -> Reply:
    """Ask for ``decision.slot`` and leave the form pending."""
    assert decision.slot is not None
    text, choices = question(spec, decision.slot)
    reason = reason or decision.reason
    state.intent, state.slots = spec.intent, dict(decision.slots)
    state.pending = Pending(spec.intent, decision.slot, decision.tries)
    full = " ".join(part for part in (reason, text) if part)
    return Reply(full, intent=spec.intent, confidence=confidence, suggestions=choices, source="dialogue",
                 slots={k: v.get("value") for k, v in decision.slots.items()})


def act(bot: Any, message: Message, decision: Decision, spec: IntentSpec, state: DialogueState,
        confidence: float) -> Reply:
    """Run the intent's action with a time limit; a value it refuses is asked for again, with its reason."""
    from chatbot.actions import ActionCall, find_action, run_action

    found = find_action(str(decision.action))
    if found is None:
        state.intent, state.slots, state.pending = spec.intent, {}, None
        return Reply(MISSING_ACTION_TEXT, intent=spec.intent, confidence=confidence, source="dialogue")
    services = {**getattr(bot, "services", {}), **(message.context.get("services") or {})}
    call = ActionCall(spec.intent, dict(decision.slots), state, clock_of(message), message.normalized,
                      services, bot, message.context)
    result = run_action(found, call, float(services.get("action_timeout", 5.0)))
    if result.ask and spec.slot(result.ask) is not None:
        slots = {k: v for k, v in decision.slots.items() if k != result.ask}
        tries = state.pending.tries + 1 if state.pending and state.pending.slot == result.ask else 1
        return ask(spec, replace(decision, slots=slots, slot=result.ask, tries=tries), state, confidence,
                   result.reason)
    state.intent, state.pending = spec.intent, None
    state.slots = {**(decision.slots if result.keep_slots else {}), **result.slots}
    return replace(result.reply, intent=result.reply.intent or spec.intent,
                   confidence=result.reply.confidence or confidence,
                   source=result.reply.source or f"action:{found.name}",
                   slots={k: v.get("value") for k, v in decision.slots.items()})

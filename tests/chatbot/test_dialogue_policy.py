"""The dialogue policy's rules (chatbot.dialogue.policy) on hand-made messages: no model, no corpus."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chatbot.dialogue.policy import DialoguePolicy
from chatbot.dialogue.state import DialogueState, Pending
from chatbot.message import Entity, Message, TrainingData

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))
DOMAIN = {
    "weather_ask": {"action": "weather", "slots": [
        {"name": "place", "entity": "region", "question": "어느 지역요?", "carry": True},
        {"name": "when", "entity": "time", "default": "오늘", "required": False, "carry": True}]},
    "reminder_set": {"action": "reminder_set", "slots": [
        {"name": "what", "entity": "text", "question": "무엇을요?"},
        {"name": "when", "entity": "time", "question": "언제요?"}]},
}


@pytest.fixture
def policy() -> DialoguePolicy:
    data = TrainingData([], descriptions={"weather_ask": "날씨 알려 주기", "reminder_set": "알림 저장하기"},
                        dialogue=DOMAIN)
    return DialoguePolicy(followup_confidence=0.5).fit(data)


def message(text: str, intent: str | None, confidence: float = 0.9, entities: list[Entity] | None = None,
            fallback: bool = False, state: DialogueState | None = None) -> Message:
    return Message(text=text, normalized=text, intent=intent, confidence=confidence, fallback=fallback,
                   entities=entities or [], context={"now": NOW, "state": state or DialogueState()})


def region(text: str, start: int) -> Entity:
    return Entity("region", text, start, start + len(text), text, "lookup_extractor")


def day(text: str, start: int, iso: str) -> Entity:
    return Entity("time", text, start, start + len(text), {"start": iso, "end": iso, "grain": "day"}, "time_extractor")


def test_a_complete_form_runs_its_action_with_the_default_filled(policy: DialoguePolicy) -> None:
    decision = policy.process(message("부산 날씨 어때", "weather_ask", entities=[region("부산", 0)])).dialogue
    assert (decision.kind, decision.action) == ("action", "weather")
    assert decision.slots["place"]["value"] == "부산"
    assert decision.slots["when"]["value"]["start"].startswith("2026-12-07")  # 오늘, against the message's clock


def test_a_missing_required_slot_is_asked_for(policy: DialoguePolicy) -> None:
    decision = policy.process(message("날씨 알려줘", "weather_ask")).dialogue
    assert (decision.kind, decision.slot) == ("ask", "place")


def test_a_bare_answer_fills_the_pending_slot_whatever_its_intent(policy: DialoguePolicy) -> None:
    state = DialogueState("weather_ask", {}, Pending("weather_ask", "place"))
    decision = policy.process(message("부산", "food", 0.99, [region("부산", 0)], state=state)).dialogue
    assert (decision.kind, decision.intent, decision.slots["place"]["value"]) == ("action", "weather_ask", "부산")


def test_a_free_text_slot_takes_the_answer_unless_another_form_is_asked_for(policy: DialoguePolicy) -> None:
    state = DialogueState("reminder_set", {}, Pending("reminder_set", "what"))
    decision = policy.process(message("치과 가기", "health", 0.99, state=state)).dialogue
    assert (decision.kind, decision.slot, decision.slots["what"]["value"]) == ("ask", "when", "치과 가기")
    moved = policy.process(message("부산 날씨 어때", "weather_ask", 0.99, [region("부산", 0)], state=state)).dialogue
    assert (moved.kind, moved.intent) == ("action", "weather_ask")
    assert "알림 저장하기는 그만둘게요" in moved.notice


def test_an_unusable_answer_is_asked_again_with_a_reason_then_given_up(policy: DialoguePolicy) -> None:
    state = DialogueState("weather_ask", {}, Pending("weather_ask", "place"))
    decision = policy.process(message("음 글쎄", "OOD", 0.2, fallback=True, state=state)).dialogue
    assert (decision.kind, decision.slot, decision.tries) == ("ask", "place", 2)
    assert "지역" in decision.reason
    state.pending = Pending("weather_ask", "place", tries=3)
    assert policy.process(message("음 글쎄", "OOD", 0.2, fallback=True, state=state)).dialogue.kind == "cancel"


@pytest.mark.parametrize("text", ["취소", "처음부터 다시", "됐어", "그만할래", "됐어요"])
def test_reset_words_close_an_open_form(policy: DialoguePolicy, text: str) -> None:
    state = DialogueState("reminder_set", {}, Pending("reminder_set", "when"))
    assert policy.process(message(text, "disagree", state=state)).dialogue.kind == "cancel"


def test_a_follow_up_reuses_the_previous_intent_with_carried_slots(policy: DialoguePolicy) -> None:
    tomorrow = {"type": "time", "text": "내일", "value": {"start": "2026-12-08T00:00:00+09:00"}}
    state = DialogueState("weather_ask", {"place": {"type": "region", "text": "부산", "value": "부산"},
                                          "when": tomorrow})
    processed = policy.process(message("그럼 서울은?", "follow_up", 0.95, [region("서울", 3)], state=state))
    decision = processed.dialogue
    assert (decision.kind, decision.intent, decision.followup) == ("action", "weather_ask", True)
    assert decision.slots["place"]["value"] == "서울" and decision.slots["when"] == tomorrow
    assert processed.intent == "weather_ask"  # the responder answers the intent followed up


def test_a_confident_intent_of_its_own_is_not_a_follow_up(policy: DialoguePolicy) -> None:
    state = DialogueState("weather_ask", {"place": {"type": "region", "text": "부산", "value": "부산"}})
    decision = policy.process(message("서울 맛집 추천해줘", "food", 0.95, [region("서울", 0)], state=state)).dialogue
    assert (decision.kind, decision.intent) == ("respond", "food")
    unsure = policy.process(message("서울은 어떨까", "travel", 0.3, [region("서울", 0)], state=state)).dialogue
    assert (unsure.kind, unsure.intent, unsure.followup) == ("action", "weather_ask", True)


def test_a_follow_up_with_nothing_to_follow_asks_for_more(policy: DialoguePolicy) -> None:
    assert policy.process(message("그럼 서울은?", "follow_up", 0.9, [region("서울", 3)])).dialogue.kind == "clarify"


def test_the_threshold_is_tuned_on_held_out_messages_and_saved(policy: DialoguePolicy, tmp_path) -> None:
    rows = []
    for confidence in (0.2, 0.3, 0.35):  # follow-ups the classifier put elsewhere, unsure
        rows.append(Message("그럼 서울은?", gold_intent="follow_up", intent="travel", confidence=confidence,
                            entities=[region("서울", 3)]))
    for confidence in (0.6, 0.8, 0.9, 0.95):
        rows.append(Message("서울 맛집", gold_intent="food", intent="food", confidence=confidence,
                            entities=[region("서울", 0)]))
    tuned = policy.tune(rows)
    assert 0.35 < tuned["followup_confidence"] <= 0.6
    assert policy.tuned_["followup_caught"] == 1.0 and policy.tuned_["own_intent_kept"] == 1.0
    policy.save(tmp_path)
    loaded = DialoguePolicy.load(tmp_path, policy.params)
    assert loaded.domain.get("weather_ask").slot("place").carry is True


def test_a_damaged_state_reads_as_empty() -> None:
    for junk in (None, 3, "x", {"pending": {"intent": 1}}, {"turns": "no"}, {"slots": [1]}):
        state = DialogueState.from_dict(junk)
        assert state.pending is None and state.turns == [] and state.slots == {}
    kept = DialogueState.from_dict(DialogueState("a", {}, Pending("a", "b", 2), [{"role": "user", "text": "x"}])
                                   .to_dict())
    assert kept.pending == Pending("a", "b", 2) and kept.user_turns() == ["x"]


def test_an_action_changes_the_state_it_hands_back(policy: DialoguePolicy, monkeypatch) -> None:
    from types import SimpleNamespace

    from chatbot.actions import ActionResult, action, register_builtin_actions
    from chatbot.actions.registry import ACTIONS
    from chatbot.dialogue.turn import take_turn
    from chatbot.reply import Reply

    register_builtin_actions()  # first, so that importing them later cannot overwrite the stand-in below
    before = dict(ACTIONS)
    action("weather")(lambda call: ActionResult(Reply("맑아요"), slots={"place": {"type": "region", "text": "부산",
                                                                                  "value": "부산"}}))
    try:
        processed = policy.process(message("서울 날씨", "weather_ask", entities=[region("서울", 0)]))
        state = DialogueState()
        bot = SimpleNamespace(pipeline=SimpleNamespace(find=lambda name: policy), services={})
        reply = take_turn(bot, processed, state, "서울 날씨")
    finally:
        ACTIONS.clear()
        ACTIONS.update(before)
    assert reply.text == "맑아요" and reply.state["intent"] == "weather_ask"
    assert reply.state["slots"]["place"]["value"] == "부산"  # the action's value over the form's
    assert reply.state["slots"]["when"]["value"]["start"].startswith("2026-12-07")
    assert [t["role"] for t in reply.state["turns"]] == ["user", "bot"]

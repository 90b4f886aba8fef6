"""Questions about the conversation itself, answered from the stored turns: "방금 내가 뭐라고 했지?",
"아까 뭐라고 했어?", "너 방금 뭐라고 했어?"."""

from __future__ import annotations

import re

from chatbot.actions.registry import ActionCall, ActionResult, action
from chatbot.reply import Reply

BOT_SIDE = re.compile(r"(?:너|니가|네가|당신|챗봇|봇)\s*(?:이|가)?\s*(?:방금|아까|지금)?")


@action("recall", "방금 나눈 말을 다시 알려 줘요")
def recall(call: ActionCall) -> ActionResult:
    """The user's last line before this question (or the bot's, when asked what the bot said)."""
    turns = call.state.turns
    if BOT_SIDE.search(call.text):
        said = [t["text"] for t in turns if t["role"] == "bot"]
        text = f"제가 방금 \"{said[-1]}\"라고 말씀드렸어요." if said else "아직 제가 드린 말씀이 없어요."
        return ActionResult(Reply(text, source="action:recall"), keep_slots=False)
    said = [t["text"] for t in turns if t["role"] == "user"]
    if not said:
        text = "이 대화에서는 아직 말씀하신 게 없어요. 편하게 말씀해 주세요!"
        return ActionResult(Reply(text, source="action:recall"), keep_slots=False)
    if "아까" in call.text and len(said) >= 2:
        lines = " / ".join(f"\"{s}\"" for s in said[-3:])
        text = f"최근에 이렇게 말씀하셨어요: {lines}"
    else:
        text = f"방금 \"{said[-1]}\"라고 하셨어요."
    return ActionResult(Reply(text, source="action:recall"), keep_slots=False)

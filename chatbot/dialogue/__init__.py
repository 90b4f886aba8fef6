"""Conversations: dialogue state, slots and forms, follow-ups and actions (docs/architecture.md, "Conversations").

- ``state.DialogueState``: what the bot remembers between two messages (JSON; the web layer stores it).
- ``domain``: the slots and action an intent declares in the corpus.
- ``policy.DialoguePolicy``: the pipeline stage that decides (ask, follow up, act, respond).
- ``turn.take_turn``: carries the decision out and writes the new state, for ``Bot.reply``.
"""

from chatbot.dialogue.domain import Domain, IntentSpec, Slot
from chatbot.dialogue.state import DialogueState, Pending

__all__ = ["DialogueState", "Domain", "IntentSpec", "Pending", "Slot"]

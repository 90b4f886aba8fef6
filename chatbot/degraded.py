"""The rule-based stand-in bot that serves while no trained model can be loaded (degraded mode).

It has the same ``reply(text, context, image=None, table=None) -> Reply`` interface as
``chatbot.bot.Bot``, answers greetings, thanks, goodbyes and requests for help with a few
keyword rules, and says politely that the conversation model is being prepared. The chat
commands still run: ``/help`` and ``/forecast`` need no trained model, and ``/image`` works when
the image model could be loaded. It needs nothing that a trained model directory holds, so it
also works when the model's own packages (a tokenizer backend) are what failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chatbot.commands.routing import route_message
from chatbot.reply import Reply

logger = logging.getLogger(__name__)

SOURCE = "degraded:rules"


@dataclass(frozen=True)
class Rule:
    """Answer ``text`` when the message contains one of ``keywords`` (compared without spaces)."""

    intent: str
    keywords: tuple[str, ...]
    text: str


# Order matters: "안녕히 가세요" is a goodbye although it contains "안녕".
RULES: tuple[Rule, ...] = (
    Rule("goodbye", ("안녕히", "잘가", "잘있어", "다음에봐", "또봐", "바이바이", "bye"),
         "안녕히 가세요! 다음에 또 이야기해요."),
    Rule("thanks", ("고마워", "고맙", "감사", "땡큐", "thank"),
         "천만에요! 도움이 되었다니 기뻐요."),
    Rule("help", ("도움", "도와", "사용법", "명령어", "뭐할수있", "무엇을할수", "help"),
         "지금은 대화 모델을 준비하고 있어서 간단한 인사만 알아들을 수 있어요. "
         "그동안에도 명령어는 쓸 수 있어요. /help 를 입력하면 목록을 보여 드릴게요."),
    Rule("greet", ("안녕", "반가", "하이", "좋은아침", "hello"),
         "안녕하세요! 지금은 대화 모델을 준비하고 있어서 간단한 대화만 할 수 있어요."),
)
PREPARING = ("죄송해요, 지금은 대화 모델을 준비(업데이트)하고 있어서 이 말에는 제대로 답하기 어려워요. "
             "그동안에도 /forecast 로 숫자 예측을 하고, /help 로 명령어 목록을 볼 수 있어요.")
WITH_IMAGE = " 사진을 첨부하면 무엇인지 알려 드릴게요."
SUGGESTIONS = ["/help", "/forecast 112 118 132 129 121 135 148 148"]


class RuleBasedBot:
    """Keyword rules plus the chat commands; ``degraded`` is always True."""

    degraded = True

    def __init__(self, reason: str = "", vision: Any = None):
        self.reason = reason  # why no trained model is being served (shown to operators, not users)
        self.vision = vision  # an ImageClassifier for /image, or None
        self.model_dir: Path | None = None
        self.meta: dict[str, Any] = {"tokenizer": None, "intents": [r.intent for r in RULES],
                                     "capabilities": self.capabilities()}

    @classmethod
    def create(cls, reason: str = "", vision_model: str | Path | None = None) -> RuleBasedBot:
        """A stand-in bot with the ``/image`` model from ``vision_model`` when that one loads."""
        return cls(reason, load_vision_quietly(vision_model))

    def capabilities(self) -> list[str]:
        """What ``/help`` lists as topics while degraded."""
        return ["간단한 인사", "감사 인사", "작별 인사"]

    def reply(self, text: str, context: dict[str, Any] | None = None, image: Any = None,
              table: dict[str, Any] | None = None, state: dict[str, Any] | None = None) -> Reply:
        """Answer like ``Bot.reply``: pictures, tables and ``/commands`` go to the commands, the rest to the rules.

        ``state`` (the conversation's dialogue state) is handed back unchanged: the stand-in holds no
        conversation, and keeping the state lets the real model take an open form up again once it serves."""
        command_reply, normalized, _ = route_message(self, text, context, image, table)
        reply = command_reply if command_reply is not None else self.rule_reply(normalized)
        return replace(reply, state=state)

    def rule_reply(self, normalized: str) -> Reply:
        """The first rule whose keyword the message contains, else the polite 'being prepared' answer."""
        squeezed = normalized.replace(" ", "").lower()
        for rule in RULES:
            if any(keyword in squeezed for keyword in rule.keywords):
                return Reply(text=rule.text, intent=rule.intent, confidence=1.0, source=SOURCE,
                             suggestions=["/help"] if rule.intent == "help" else [])
        text = PREPARING + (WITH_IMAGE if self.vision is not None else "")
        return Reply(text=text, intent=None, confidence=0.0, fallback=True, suggestions=list(SUGGESTIONS),
                     source=SOURCE)


def load_vision_quietly(model_dir: str | Path | None) -> Any:
    """The image model in ``model_dir``, or None (logged) when there is none or it fails to load."""
    if model_dir is None:
        return None
    if not Path(model_dir).is_dir():  # checked first: importing the image stack costs seconds (torch)
        logger.warning("/image is unavailable: no image model in '%s'. Train one: "
                       "python -m chatbot train-vision --data digits --out %s", model_dir, model_dir)
        return None
    try:
        from chatbot.vision.classifier import ImageClassifier

        return ImageClassifier.load(model_dir)
    except Exception as exc:  # degraded mode must start whatever is wrong with the image model
        logger.warning("/image is unavailable: %s", exc)
        return None

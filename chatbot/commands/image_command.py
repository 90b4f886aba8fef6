"""``/image``: what is in the attached picture, as the image model's top labels in Korean.

The web page sends the picture with the message; ``Bot.reply(text, context, image=...)`` routes
every message that carries one here, whatever its text ("이 사진 뭐야?", ``/image`` or nothing).
"""

from __future__ import annotations

from typing import Any

from chatbot.commands.registry import command
from chatbot.reply import Reply

NO_IMAGE = ("분류할 이미지를 함께 보내 주세요. 📎 버튼으로 첨부하거나, 이미지를 끌어다 놓거나 붙여 넣을 수 있어요. "
            "'숫자 그리기'로 손글씨 숫자를 그려서 보낼 수도 있어요.")
NO_MODEL = ("이미지 모델이 아직 준비되지 않았어요. 관리자라면 "
            "`python -m chatbot train-vision --data digits --out models/vision`으로 만들어 주세요.")
CONFIDENT = 0.5  # below this the reply hedges


def percent(score: float) -> str:
    """0.934 -> '93%'; tiny but non-zero scores read '<1%' rather than a misleading '0%'."""
    value = round(score * 100)
    return "<1%" if value == 0 and score > 0 else f"{value}%"


@command("image", "첨부한 사진이나 그린 숫자가 무엇인지 알려 줘요", "/image (+ 이미지 첨부)")
def image_command(args: str, bot: Any, context: dict[str, Any]) -> Reply:
    """Classify ``context['image']`` (a decoded RGB picture) with the bot's image model."""
    image = context.get("image")
    if image is None:
        return Reply(text=NO_IMAGE, intent="image", confidence=1.0, source="command")
    classifier = getattr(bot, "vision", None)
    if classifier is None:
        return Reply(text=NO_MODEL, intent="image", confidence=1.0, source="command")
    result = classifier.classify(image, top_k=3, explain=True)
    (best, score), others = result.labels[0], result.labels[1:]
    if score >= CONFIDENT:
        text = f"'{best}' 같아요. (확률 {percent(score)})"
    else:
        text = f"잘 모르겠지만 '{best}'에 가장 가까워 보여요. (확률 {percent(score)})"
    if others:
        text += "\n다른 후보: " + ", ".join(f"{label} {percent(s)}" for label, s in others)
    attachments: list[dict[str, Any]] = [{
        "type": "classification", "model": classifier.name,
        "labels": [{"label": label, "score": round(s, 4)} for label, s in result.labels],
    }]
    if result.heatmap is not None:
        from chatbot.vision.images import to_png

        attachments.append({"type": "image", "role": "gradcam", "png": to_png(result.heatmap),
                            "width": result.heatmap.width, "height": result.heatmap.height,
                            "alt": "모델이 주목한 부분 (Grad-CAM)"})
    return Reply(text=text, intent="image", confidence=round(score, 4), source="command", attachments=attachments)

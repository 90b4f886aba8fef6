"""A stand-in entity extractor for the tests of every surface that shows entities (evaluation, the
trainer console, ``analyze``, the chat API, the fuzz suite), so they need none of the real extractors.

Pipelines name it ``entity_stubs:WordListExtractor`` (``tests/`` is on ``sys.path`` under pytest, as
the folder of the root ``conftest.py``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from chatbot.entities import EntityExtractor
from chatbot.message import Entity, Message

STUB = "entity_stubs:WordListExtractor"
# A few words and their types; "서울역" is longer than "서울", so the overlap rule keeps it whole.
WORDS = {"서울": "city", "부산": "city", "서울역": "station", "김치찌개": "food"}


class WordListExtractor(EntityExtractor):
    """Tags every occurrence of its ``words`` in the normalized text, longest words first."""

    name = "word_list_extractor"
    defaults: ClassVar[dict[str, Any]] = {"words": WORDS}

    def extract(self, message: Message) -> list[Entity]:
        text = message.normalized
        words = sorted(self.params["words"], key=len, reverse=True)
        found = []
        for word in words:
            for match in re.finditer(re.escape(word), text):
                found.append(Entity(self.params["words"][word], word, match.start(), match.end(),
                                    word, self.name))
        return found

    def types(self) -> list[str]:
        return sorted(set(self.params["words"].values()))


# Two intents written for these tests, with the stub's words in some examples.
STUB_CORPUS = """version: 1
intents:
  - intent: travel
    examples:
      - 서울에 가고 싶어요
      - 부산 여행 가자
      - 기차 타고 어디 갈까
      - 주말에 여행 떠날래
      - 서울역 가는 길 알려줘
      - 바다 보러 가고 싶다
    responses:
      - 좋은 여행 되세요!
  - intent: food
    examples:
      - 김치찌개 먹고 싶다
      - 배고파 죽겠어
      - 점심 뭐 먹지
      - 저녁 메뉴 추천해 줘
      - 떡볶이 먹으러 갈래
      - 야식 땡긴다
    responses:
      - 맛있게 드세요!
"""


def train_stub_model(base: Path, tokenizer: str = "mecab") -> Path:
    """A model of the default config (``tokenizer`` backend: mecab loads fastest) trained on ``STUB_CORPUS``
    with the stub extractor as its last stage; returns its directory ``base/model``."""
    from training.config import load_config
    from training.train import train_model

    corpus = base / "corpus.yaml"
    base.mkdir(parents=True, exist_ok=True)
    corpus.write_text(STUB_CORPUS, encoding="utf-8")
    config = load_config("default")
    config["pipeline"][1]["params"] = {"backend": tokenizer}
    config["pipeline"].append({"name": STUB})
    train_model([corpus], base / "model", config)
    return base / "model"

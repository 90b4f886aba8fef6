"""kiwipiepy backend: pure pip, fast, with offsets and lemmas (the default)."""

from __future__ import annotations

from collections.abc import Iterable

from chatbot.message import Token
from chatbot.nlp.tokenizers.base import Tokenizer, TokenizerUnavailable


class KiwiTokenizer(Tokenizer):
    """Kiwi morphological analyser (kiwipiepy)."""

    name = "kiwi"

    def __init__(self) -> None:
        try:
            from kiwipiepy import Kiwi
        except ImportError as exc:  # pragma: no cover - it is in requirements.txt
            raise TokenizerUnavailable("kiwi needs kiwipiepy: pip install kiwipiepy") from exc
        self._kiwi = Kiwi()

    @staticmethod
    def _convert(result) -> list[Token]:
        return [Token(form=t.form, pos=t.tag, start=t.start, end=t.end) for t in result]

    def tokenize(self, text: str) -> list[Token]:
        return self._convert(self._kiwi.tokenize(text)) if text else []

    def tokenize_batch(self, texts: Iterable[str]) -> list[list[Token]]:
        texts = list(texts)
        return [self._convert(r) for r in self._kiwi.tokenize(texts)]

"""mecab-ko backend (python-mecab-ko, which bundles mecab-ko-dic): pure pip and very fast."""

from __future__ import annotations

from chatbot.message import Token
from chatbot.nlp.tokenizers.base import Tokenizer, TokenizerUnavailable


class MecabTokenizer(Tokenizer):
    """MeCab with the Korean dictionary."""

    name = "mecab"

    def __init__(self) -> None:
        try:
            import mecab
        except ImportError as exc:
            raise TokenizerUnavailable(
                "mecab needs python-mecab-ko: pip install python-mecab-ko (wheels exist for Python 3.11 "
                "and 3.12 only; on a newer Python use the default kiwi backend)") from exc
        self._mecab = mecab.MeCab()

    def tokenize(self, text: str) -> list[Token]:
        tokens = []
        for m in self._mecab.parse(text) if text else []:
            start, end = m.span.start, m.span.end
            expression = m.feature.expression
            if "+" in m.feature.pos and expression:
                # A fused eojeol piece (도와 = 돕/VV + 아/EC): split it into its morphemes.
                for part in expression.split("+"):
                    form, tag = part.split("/")[:2]
                    tokens.append(Token(form=form, pos=tag, start=start, end=end))
            else:
                tokens.append(Token(form=m.surface, pos=m.feature.pos, start=start, end=end))
        return tokens

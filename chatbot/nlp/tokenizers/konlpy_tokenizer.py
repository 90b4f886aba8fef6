"""KoNLPy's Okt and Komoran: the reference analysers, which need a Java runtime."""

from __future__ import annotations

import os
import shutil

from chatbot.message import Token
from chatbot.nlp.tokenizers.base import Tokenizer, TokenizerUnavailable, align

_JVM_HELP = (
    "KoNLPy's {name} needs a Java runtime (JDK 8 or newer), and none was found. Install one "
    "(for example `apt-get install default-jre-headless`) and make sure `java` is on PATH or "
    "JAVA_HOME points to it, or choose the kiwi or mecab tokenizer, which need no Java."
)


def _check_java(name: str) -> None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.path.isdir(java_home):
        return
    if not shutil.which("java"):
        raise TokenizerUnavailable(_JVM_HELP.format(name=name))


class _KonlpyTokenizer(Tokenizer):
    tagger_class = ""

    def __init__(self) -> None:
        _check_java(self.name)
        try:
            import konlpy.tag
        except ImportError as exc:
            raise TokenizerUnavailable(f"{self.name} needs konlpy: pip install konlpy") from exc
        try:
            self._tagger = getattr(konlpy.tag, self.tagger_class)()
        except Exception as exc:  # JPype raises several types when the JVM cannot start
            raise TokenizerUnavailable(_JVM_HELP.format(name=self.name) + f" ({exc})") from exc


class OktTokenizer(_KonlpyTokenizer):
    """Open Korean Text: word-level tokens; its own stemmer gives the lemmas."""

    name = "okt"
    tagger_class = "Okt"

    def tokenize(self, text: str) -> list[Token]:
        if not text.strip():
            return []
        surface = self._tagger.pos(text, norm=False, stem=False)
        stems = self._tagger.pos(text, norm=False, stem=True)
        tokens = align(text, surface)
        if len(stems) == len(tokens):
            for token, (stem, _) in zip(tokens, stems, strict=True):
                token.lemma = stem
        return tokens


class KomoranTokenizer(_KonlpyTokenizer):
    """KOMORAN: Sejong tags, morpheme-level."""

    name = "komoran"
    tagger_class = "Komoran"

    def tokenize(self, text: str) -> list[Token]:
        if not text.strip():
            return []
        return align(text, self._tagger.pos(text))

"""One tokenizer interface that mirrors KoNLPy's (``morphs``, ``nouns``, ``pos``), plus offsets."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from chatbot.message import Token
from chatbot.nlp.pos import coarse_pos

# Morphemes that cannot start a word: they belong to the word before them.
_BOUND = {"ENDING", "PARTICLE", "SUFFIX"}


class TokenizerUnavailable(RuntimeError):
    """A backend cannot run here (missing package or Java runtime); the message says how to fix it."""


class Tokenizer(ABC):
    """A morphological analyser. Offsets in returned tokens index the text given to ``tokenize``."""

    name: str = ""

    @abstractmethod
    def tokenize(self, text: str) -> list[Token]:
        """Morphemes (or words) with POS tags and character offsets."""

    def tokenize_batch(self, texts: Iterable[str]) -> list[list[Token]]:
        """Tokenize many texts; backends with a faster batch path override this."""
        return [self.tokenize(t) for t in texts]

    def pos(self, text: str) -> list[tuple[str, str]]:
        """``[(form, tag), ...]`` as KoNLPy returns it."""
        return [(t.form, t.pos) for t in self.tokenize(text)]

    def morphs(self, text: str) -> list[str]:
        """The morpheme forms."""
        return [t.form for t in self.tokenize(text)]

    def nouns(self, text: str) -> list[str]:
        """The nouns."""
        return [t.form for t in self.tokenize(text) if coarse_pos(t.pos) == "NOUN"]


def align(text: str, pieces: list[tuple[str, str]]) -> list[Token]:
    """Give offsets to ``(form, tag)`` pieces from a backend that reports none.

    A form is searched from where the previous one ended, across spaces only. Some forms are
    not in the text (an irregular stem such as 도와주 in 도와줬): such a piece spans its word up
    to where the next piece starts, and a piece left over after its word is used up shares the
    span of the piece before it.
    """
    tokens: list[Token] = []
    cursor = 0
    for i, (form, tag) in enumerate(pieces):
        found = text.find(form, cursor)
        if found >= 0 and not text[cursor:found].strip():
            start, end = found, found + len(form)
        else:
            at_word_end = cursor >= len(text) or text[cursor] == " "
            if at_word_end and tokens and coarse_pos(tag) in _BOUND:
                start, end = tokens[-1].start, tokens[-1].end
            else:
                while cursor < len(text) and text[cursor] == " ":
                    cursor += 1
                word_end = text.find(" ", cursor)
                word_end = len(text) if word_end < 0 else word_end
                nxt = text.find(pieces[i + 1][0], cursor + 1, word_end) if i + 1 < len(pieces) else -1
                start, end = cursor, (nxt if nxt > cursor else word_end)
        cursor = max(cursor, end)
        tokens.append(Token(form=form, pos=tag, start=start, end=end))
    return tokens

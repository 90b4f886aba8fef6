"""Dictionary forms: Korean predicates get ``-다``; English words get NLTK's Porter stem."""

from __future__ import annotations

from functools import lru_cache

from nltk.stem import PorterStemmer

from chatbot.message import Token
from chatbot.nlp.pos import PREDICATES, coarse_pos

_porter = PorterStemmer()


@lru_cache(maxsize=50_000)
def english_stem(word: str) -> str:
    """Porter stem of a lower-cased English word (``running`` -> ``run``)."""
    return _porter.stem(word.lower())


def lemma_of(form: str, tag: str) -> str:
    """The dictionary form of one morpheme.

    Morphological analysers already restore irregular stems (추웠 -> 춥/VA-I), so a predicate's
    dictionary form is its stem plus ``다``; words from word-level backends may already end in 다.
    """
    coarse = coarse_pos(tag)
    if coarse in PREDICATES:
        return form if form.endswith("다") and tag in ("Verb", "Adjective") else form + "다"
    if coarse == "LATIN":
        return english_stem(form)
    return form


def lemmatize(tokens: list[Token]) -> list[Token]:
    """Fill ``lemma`` on tokens that do not have one yet (Okt supplies its own)."""
    for token in tokens:
        if not token.lemma:
            token.lemma = lemma_of(token.form, token.pos)
        elif coarse_pos(token.pos) == "LATIN":
            token.lemma = english_stem(token.lemma)
    return tokens

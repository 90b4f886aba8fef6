"""A coarse, backend-independent view of part-of-speech tags.

Kiwi, mecab-ko and Komoran use Sejong-style tags (NNG, VV, JKB, EF, SF...); Okt uses its own
(Noun, Verb, Josa, Eomi, Punctuation...). Stopwords and lemmas are decided on this coarse view.
"""

from __future__ import annotations

from functools import lru_cache

_OKT = {
    "Noun": "NOUN", "ProperNoun": "NOUN", "Pronoun": "NOUN", "Number": "NUM",
    "Verb": "VERB", "Adjective": "ADJ", "Adverb": "ADV", "Determiner": "DET",
    "Exclamation": "INTJ", "Josa": "PARTICLE", "PreEomi": "ENDING", "Eomi": "ENDING",
    "Suffix": "SUFFIX", "Punctuation": "PUNCT", "Foreign": "FOREIGN", "Alpha": "LATIN",
    "Hashtag": "SYMBOL", "ScreenName": "SYMBOL", "Email": "SYMBOL", "URL": "SYMBOL",
    "KoreanParticle": "SYMBOL", "Conjunction": "CONJ", "Modifier": "DET", "VerbPrefix": "PREFIX",
}
_SEJONG_PREFIX = [
    ("NN", "NOUN"), ("NP", "NOUN"), ("NR", "NUM"), ("VV", "VERB"), ("VA", "ADJ"), ("VX", "AUX"),
    ("VC", "COPULA"), ("MM", "DET"), ("MA", "ADV"), ("IC", "INTJ"), ("J", "PARTICLE"),
    ("EP", "ENDING"), ("EF", "ENDING"), ("EC", "ENDING"), ("ET", "ENDING"), ("XP", "PREFIX"),
    ("XS", "SUFFIX"), ("XR", "ROOT"), ("SL", "LATIN"), ("SH", "FOREIGN"), ("SN", "NUM"),
    ("SF", "PUNCT"), ("SP", "PUNCT"), ("SS", "PUNCT"), ("SE", "PUNCT"), ("SO", "PUNCT"),
    ("SW", "SYMBOL"), ("SY", "SYMBOL"), ("W_", "SYMBOL"),
]
PREDICATES = {"VERB", "ADJ", "AUX", "COPULA"}
FUNCTION_WORDS = {"PARTICLE", "ENDING", "PUNCT"}


@lru_cache(maxsize=4096)  # a few dozen tags, asked for every morpheme of every message
def coarse_pos(tag: str) -> str:
    """Map a backend tag (``VV-I``, ``JKB``, ``Josa``...) to a coarse class such as ``VERB``."""
    if tag in _OKT:
        return _OKT[tag]
    base = tag.split("-")[0].split("+")[0]
    for prefix, coarse in _SEJONG_PREFIX:
        if base.startswith(prefix):
            return coarse
    return "OTHER"

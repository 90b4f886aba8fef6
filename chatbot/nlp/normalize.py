"""Normalise user text once, at the input boundary."""

from __future__ import annotations

import re
import unicodedata

# Characters that render as nothing but break matching (zero-width space/joiners, BOM).
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
# Full-width ASCII (U+FF01..U+FF5E) maps to ASCII by a fixed offset; U+3000 is the ideographic space.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Three or more of the same non-digit character become two (ㅋㅋㅋㅋ -> ㅋㅋ, !!!!! -> !!).
# Digits are left alone: 10000원 must stay 10000원.
_REPEATS = re.compile(r"([^\d\s])\1{2,}")
# A repeated pair of initial consonants is one 초성 word said twice (ㄱㅅㄱㅅ = ㄱㅅ 감사, ㅇㅋㅇㅋ = ㅇㅋ):
# folded to one, so it matches the corpus's ㄱㅅ instead of being an unknown word that trips the fallback.
_CONSONANT_PAIRS = re.compile(r"([ㄱ-ㅎ]{2})\1+")
_SPACES = re.compile(r"\s+")


def normalize(text: str, max_repeat: int = 2) -> str:
    """Return ``text`` in NFC with full-width forms folded, whitespace collapsed and long repeats squashed
    (a character repeated 3+ times to ``max_repeat``; a 초성 pair said twice or more, ㄱㅅㄱㅅ, to one).

    NFKC is deliberately not used: it would turn compatibility jamo such as ``ㅋ`` into
    conjoining jamo, which tokenizers do not recognise.
    """
    text = unicodedata.normalize("NFC", text.translate(_INVISIBLE).translate(_FULLWIDTH))
    text = _REPEATS.sub(lambda m: m.group(1) * max_repeat, text)
    text = _CONSONANT_PAIRS.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def _fold(char: str) -> str:
    """One character as ``normalize`` leaves it when it keeps it (full-width folded, any space a space)."""
    char = char.translate(_FULLWIDTH)
    return " " if char.isspace() else char


def align(original: str, normalized: str) -> list[int]:
    """Where each character of ``normalized`` (``normalize(original)``) sits in ``original``.

    ``normalize`` only drops characters (invisible ones, repeats, spaces) and folds others one for one
    (full-width forms, whitespace), so each kept character is found by walking both strings once; a
    character that NFC composed from pieces not in ``original`` as such maps to where the walk stands.
    Returns one index per character of ``normalized``, plus ``len(original)`` for the end."""
    positions: list[int] = []
    j, n = 0, len(original)
    for char in normalized:
        k = j
        while k < n and _fold(original[k]) != char:
            k += 1
        if k < n:
            positions.append(k)
            j = k + 1
        else:  # not in ``original`` as one character: keep the walk where it is
            positions.append(min(j, max(n - 1, 0)))
    positions.append(n)
    return positions

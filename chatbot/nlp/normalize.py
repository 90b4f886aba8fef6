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
_SPACES = re.compile(r"\s+")


def normalize(text: str, max_repeat: int = 2) -> str:
    """Return ``text`` in NFC with full-width forms folded, whitespace collapsed and long repeats squashed.

    NFKC is deliberately not used: it would turn compatibility jamo such as ``ㅋ`` into
    conjoining jamo, which tokenizers do not recognise.
    """
    text = unicodedata.normalize("NFC", text.translate(_INVISIBLE).translate(_FULLWIDTH))
    text = _REPEATS.sub(lambda m: m.group(1) * max_repeat, text)
    return _SPACES.sub(" ", text).strip()

"""Normalisation at the input boundary: NFC, full-width forms, whitespace, repeats."""

from __future__ import annotations

import unicodedata

import pytest

from chatbot.nlp.normalize import normalize


def test_decomposed_hangul_equals_composed_after_normalize():
    composed = "안녕하세요 한결이에요"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed  # macOS-style input really is different code points
    assert normalize(decomposed) == composed
    assert unicodedata.is_normalized("NFC", normalize(decomposed))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ！", "ABC!"),
        ("ｈｅｌｌｏ１２３", "hello123"),
        ("안녕\u3000하세요", "안녕 하세요"),
    ],
    ids=["letters-and-bang", "lower-and-digits", "ideographic-space"],
)
def test_full_width_forms_are_folded(raw, expected):
    assert normalize(raw) == expected


def test_whitespace_is_collapsed_and_stripped():
    assert normalize("  안녕   하세요 \n\t 반가워요  ") == "안녕 하세요 반가워요"


def test_invisible_characters_are_removed():
    assert normalize("안\u200b녕\ufeff") == "안녕"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ㅋㅋㅋㅋㅋㅋ", "ㅋㅋ"),
        ("!!!!!", "!!"),
        ("ㅠㅠㅠㅠ 슬퍼", "ㅠㅠ 슬퍼"),
        ("ㅎㅎ", "ㅎㅎ"),
        ("진짜??? 대박!!!!!", "진짜?? 대박!!"),
        ("ㄱㅅㄱㅅ", "ㄱㅅ"),
        ("ㅇㅋㅇㅋㅇㅋ 알겠어", "ㅇㅋ 알겠어"),
        ("ㅋㅋㅎㅎㅋㅋㅎㅎ", "ㅋㅋㅎㅎㅋㅋㅎㅎ"),
        ("ㅋㅋㅋㅋ ㄱㅅ", "ㅋㅋ ㄱㅅ"),
    ],
    ids=["kk", "bang", "tt", "two-kept", "mixed", "pair-twice", "pair-thrice", "alternating-kept", "kk-then-pair"],
)
def test_long_repeats_are_squashed_to_two(raw, expected):
    assert normalize(raw) == expected


def test_digits_are_kept():
    assert normalize("10000원") == "10000원"
    assert normalize("1111년 2222") == "1111년 2222"


def test_compatibility_jamo_are_kept_not_nfkc():
    out = normalize("ㅋㅋ ㅠㅠ")
    assert out == "ㅋㅋ ㅠㅠ"
    assert ord(out[0]) == 0x314B  # HANGUL LETTER KHIEUKH (compatibility jamo), not U+110F
    assert unicodedata.normalize("NFKC", "ㅋ") != "ㅋ"  # what NFKC would have done


def test_empty_and_blank_text_normalize_to_empty():
    assert normalize("") == ""
    assert normalize(" \t\n\u3000") == ""

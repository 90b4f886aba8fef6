"""Tokenizer backends behind one KoNLPy-like interface (``morphs``, ``nouns``, ``pos``) with offsets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from chatbot.message import Token
from chatbot.nlp.components import MorphTokenizer
from chatbot.nlp.pos import coarse_pos
from chatbot.nlp.tokenizers import BACKENDS, TokenizerUnavailable, get_tokenizer

ALL_BACKENDS = ["kiwi", "mecab", "okt", "komoran"]
MORPHEME_BACKENDS = ["kiwi", "mecab"]  # report real offsets for each morpheme
SENTENCES = [
    "서울에 가고 싶어요",
    "오늘 점심은 김치찌개를 먹었어요",
    "주말에 친구랑 영화를 보고 싶다 ㅋㅋ",
    "I was running 어제 공원에서",
]


def test_every_backend_is_registered():
    assert set(ALL_BACKENDS) <= set(BACKENDS)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_konlpy_style_interface(backend):
    tokenizer = get_tokenizer(backend)
    text = "서울에 가고 싶어요"
    morphs = tokenizer.morphs(text)
    assert morphs and all(isinstance(m, str) and m for m in morphs)
    assert "서울" in morphs
    assert "서울" in tokenizer.nouns(text)
    assert "싶어요" not in tokenizer.nouns(text)
    pos = tokenizer.pos(text)
    assert all(isinstance(p, tuple) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pos)
    assert [form for form, _ in pos] == morphs
    assert coarse_pos(dict(pos)["서울"]) == "NOUN"


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("text", SENTENCES, ids=["seoul", "lunch", "movie", "mixed"])
def test_offsets_lie_within_the_text(backend, text):
    tokens = get_tokenizer(backend).tokenize(text)
    assert tokens
    for token in tokens:
        assert isinstance(token, Token)
        assert 0 <= token.start <= token.end <= len(text), token
    assert [t.start for t in tokens] == sorted(t.start for t in tokens)


@pytest.mark.parametrize("backend", MORPHEME_BACKENDS)
@pytest.mark.parametrize("text", SENTENCES, ids=["seoul", "lunch", "movie", "mixed"])
def test_regular_morphemes_are_found_at_their_offsets(backend, text):
    # These sentences have no irregular or contracted morphemes, so every form is in the text.
    for token in get_tokenizer(backend).tokenize(text):
        assert token.form in text[token.start:token.end], token


@pytest.mark.parametrize("backend", MORPHEME_BACKENDS)
def test_particle_attached_to_a_word_is_split_off(backend):
    tokens = get_tokenizer(backend).tokenize("서울에 가고 싶어요")
    seoul, particle = tokens[0], tokens[1]
    assert (seoul.form, seoul.start, seoul.end) == ("서울", 0, 2)
    assert (particle.form, particle.start, particle.end) == ("에", 2, 3)
    assert coarse_pos(particle.pos) == "PARTICLE"


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_empty_text_gives_no_tokens(backend):
    assert get_tokenizer(backend).tokenize("") == []


def test_batch_matches_one_by_one():
    tokenizer = get_tokenizer("kiwi")
    assert tokenizer.tokenize_batch(SENTENCES) == [tokenizer.tokenize(s) for s in SENTENCES]


def test_tokenizers_are_cached():
    assert get_tokenizer("kiwi") is get_tokenizer("kiwi")


def test_unknown_backend_raises_value_error():
    with pytest.raises(ValueError, match="nope"):
        get_tokenizer("nope")
    with pytest.raises(ValueError, match="nope"):
        MorphTokenizer(backend="nope")


@pytest.mark.parametrize("backend", ["okt", "komoran"])
def test_jvm_backend_without_java_fails_with_a_clear_message(tmp_path, backend):
    # In a subprocess, so that the JVM of this test process is not touched.
    code = (
        "from chatbot.nlp.tokenizers import get_tokenizer, TokenizerUnavailable\n"
        "try:\n"
        f"    get_tokenizer({backend!r})\n"
        "except TokenizerUnavailable as exc:\n"
        "    print('UNAVAILABLE:', exc)\n"
        "    raise SystemExit(3)\n"
        "print('LOADED')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "JDK_HOME", "JRE_HOME")}
    env["PATH"] = str(tmp_path)  # a directory with no `java` in it
    env["JAVA_HOME"] = str(tmp_path / "no-such-jdk")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "UNAVAILABLE:" in result.stdout
    assert "Java" in result.stdout
    assert "Traceback" not in result.stderr


def test_tokenizer_unavailable_is_a_runtime_error():
    assert issubclass(TokenizerUnavailable, RuntimeError)

"""Tokenizer backends by name. Instances are cached: loading a dictionary takes seconds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from chatbot.message import Token
from chatbot.nlp.tokenizers.base import Tokenizer, TokenizerUnavailable

BACKENDS = {
    "kiwi": "chatbot.nlp.tokenizers.kiwi_tokenizer:KiwiTokenizer",
    "mecab": "chatbot.nlp.tokenizers.mecab_tokenizer:MecabTokenizer",
    "okt": "chatbot.nlp.tokenizers.konlpy_tokenizer:OktTokenizer",
    "komoran": "chatbot.nlp.tokenizers.konlpy_tokenizer:KomoranTokenizer",
}
DEFAULT = "kiwi"
_cache: dict[str, Tokenizer] = {}
_lock = threading.Lock()


def get_tokenizer(name: str = DEFAULT) -> Tokenizer:
    """Return the (shared) tokenizer for a backend name; raise ValueError for an unknown one."""
    if name not in BACKENDS:
        raise ValueError(f"unknown tokenizer {name!r}; choose one of: {', '.join(BACKENDS)}")
    with _lock:
        if name not in _cache:
            module_name, class_name = BACKENDS[name].split(":")
            module = __import__(module_name, fromlist=[class_name])
            _cache[name] = getattr(module, class_name)()
        return _cache[name]


# Tokens per (backend, text) while ``analysis_cache()`` is open; None: no caching (serving).
_analyses: dict[tuple[str, str], list[Token]] | None = None


@contextmanager
def analysis_cache() -> Iterator[None]:
    """Remember each distinct text's morphemes for the block's duration (one training run).

    Training analyses the same sentences several times (the featurisation search, the validation fit,
    tuning, the refit); with the cache Kiwi sees each distinct sentence once. Serving never opens it:
    user text is new text, and a process-wide cache would only grow."""
    global _analyses
    outer, _analyses = _analyses, ({} if _analyses is None else _analyses)
    try:
        yield
    finally:
        _analyses = outer


def tokenize_batch(backend: str, texts: list[str]) -> list[list[Token]]:
    """``get_tokenizer(backend).tokenize_batch(texts)``, through the analysis cache when one is open.

    The cache hands out copies: later stages write lemmas and stopword marks into the tokens."""
    cache = _analyses
    if cache is None:
        return get_tokenizer(backend).tokenize_batch(texts)
    missing = list(dict.fromkeys(t for t in texts if (backend, t) not in cache))
    if missing:
        for text, tokens in zip(missing, get_tokenizer(backend).tokenize_batch(missing), strict=True):
            cache[backend, text] = tokens
    return [[Token(t.form, t.pos, t.start, t.end) for t in cache[backend, text]] for text in texts]


__all__ = ["BACKENDS", "DEFAULT", "Tokenizer", "TokenizerUnavailable", "analysis_cache", "get_tokenizer",
           "tokenize_batch"]

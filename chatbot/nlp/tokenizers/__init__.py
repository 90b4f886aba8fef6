"""Tokenizer backends by name. Instances are cached: loading a dictionary takes seconds."""

from __future__ import annotations

import threading

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


__all__ = ["BACKENDS", "DEFAULT", "Tokenizer", "TokenizerUnavailable", "get_tokenizer"]

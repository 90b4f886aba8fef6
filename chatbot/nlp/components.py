"""Pipeline stages for Korean text: normalise, tokenize, lemmatize, mark stopwords."""

from __future__ import annotations

from pathlib import Path

from chatbot.components import Component
from chatbot.message import Message
from chatbot.nlp.lemmas import lemmatize
from chatbot.nlp.normalize import normalize
from chatbot.nlp.pos import FUNCTION_WORDS, coarse_pos
from chatbot.nlp.tokenizers import BACKENDS, DEFAULT, get_tokenizer, tokenize_batch

DEFAULT_STOPWORDS = Path(__file__).parent / "data" / "stopwords.txt"


class Normalizer(Component):
    """Unicode NFC, full-width forms, whitespace and long repeats (see ``normalize``).

    A message that arrives normalised (``Bot.reply`` normalises once, at the input boundary, with this
    stage's parameters) is kept as it is."""

    name = "normalizer"
    provides = ("normalized",)
    defaults = {"max_repeat": 2}

    def process(self, message: Message) -> Message:
        if not message.normalized:
            message.normalized = normalize(message.text, self.params["max_repeat"])
        return message


class MorphTokenizer(Component):
    """Morphological tokenization with a chosen backend, recorded in the saved pipeline."""

    name = "tokenizer"
    provides = ("tokens",)  # it normalises the text itself when no normalizer ran before it
    defaults = {"backend": DEFAULT}

    def __init__(self, **params) -> None:
        super().__init__(**params)
        if self.params["backend"] not in BACKENDS:
            raise ValueError(f"unknown tokenizer backend {self.params['backend']!r}; choose from {list(BACKENDS)}")

    @property
    def tokenizer(self):
        return get_tokenizer(self.params["backend"])

    def process(self, message: Message) -> Message:
        message.tokens = self.tokenizer.tokenize(message.normalized or normalize(message.text))
        return message

    def process_batch(self, messages: list[Message]) -> list[Message]:
        texts = [m.normalized or normalize(m.text) for m in messages]
        for message, tokens in zip(messages, tokenize_batch(self.params["backend"], texts), strict=True):
            message.tokens = tokens
        return messages


class Lemmatizer(Component):
    """Dictionary forms: 먹었어요 -> 먹다, 좋네요 -> 좋다; English words by Porter stemming."""

    name = "lemmatizer"
    requires = ("tokens",)
    provides = ("lemmas",)

    def process(self, message: Message) -> Message:
        lemmatize(message.tokens)
        return message


def read_word_list(path: str | Path) -> set[str]:
    """Read a stopword file: one word per line, ``#`` starts a comment."""
    words = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words.add(line)
    return words


class StopwordFilter(Component):
    """Marks particles, endings and punctuation (by POS) and listed words as stopwords."""

    name = "stopwords"
    requires = ("tokens",)  # lemmas help (listed words match them) but forms do
    provides = ("stopwords",)
    defaults = {"words_file": None, "pos_classes": sorted(FUNCTION_WORDS)}

    def fit(self, data) -> StopwordFilter:
        # The list is copied into the model so that serving does not depend on the source file.
        self.words_ = read_word_list(self.params["words_file"] or DEFAULT_STOPWORDS)
        return self

    def is_stopword(self, form: str, lemma: str, pos: str) -> bool:
        words = getattr(self, "words_", None)
        if words is None:
            words = self.words_ = read_word_list(self.params["words_file"] or DEFAULT_STOPWORDS)
        return coarse_pos(pos) in self.params["pos_classes"] or lemma in words or form in words

    def process(self, message: Message) -> Message:
        for token in message.tokens:
            token.stopword = self.is_stopword(token.form, token.lemma or token.form, token.pos)
        return message

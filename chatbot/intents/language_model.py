"""The fallback detector's lemma bigram language model (NLTK's add-gamma ``Lidstone``): fitting it in one
pass, scoring a message, and scoring a training message leave-one-out (``chatbot.intents.fallback``)."""

from __future__ import annotations

import itertools
import math
from collections import Counter

from nltk.lm import Lidstone, Vocabulary
from nltk.lm.preprocessing import pad_both_ends
from nltk.util import bigrams

from chatbot.message import Message

LM_CACHE_SIZE = 200_000  # bigram log-probabilities kept (a few tens of MB at most)


def lemma_sequence(message: Message) -> list[str]:
    return [(t.lemma or t.form).lower() for t in message.tokens]


def fit_language_model(messages: list[Message], gamma: float) -> Lidstone:
    """An add-``gamma`` lemma bigram model; sentence edges are padded, unseen words map to <UNK>.

    The model NLTK's ``padded_everygram_pipeline`` and ``fit`` build, counted here in one pass: NLTK's
    ``fit`` looks every training word up in the vocabulary one call at a time (most of the detector's
    fitting time on a large corpus), and with ``unk_cutoff=1`` that lookup maps each word to itself."""
    sentences = [list(pad_both_ends(lemma_sequence(m), 2)) for m in messages]
    unigrams = Counter(itertools.chain.from_iterable(sentences))
    pairs = Counter(itertools.chain.from_iterable(zip(s, s[1:], strict=False) for s in sentences))
    model = Lidstone(gamma, 2, vocabulary=Vocabulary(unigrams, unk_cutoff=1))
    model.counts.unigrams.update(unigrams)
    by_context: dict[tuple[str], dict[str, int]] = {}
    for (a, b), count in pairs.items():
        by_context.setdefault((a,), {})[b] = count
    for context, following in by_context.items():
        model.counts[2][context].update(following)
    return model


def lm_score(model: Lidstone | None, message: Message, cache: dict | None = None) -> float:
    """Mean natural-log probability per bigram (higher: reads more like the training data).

    ``cache`` maps bigrams to their log-probability: NLTK's ``score`` is slow Python and chat
    messages share most of their bigrams; the values are the same."""
    if model is None:  # a model directory saved before this signal existed
        return math.inf
    pairs = list(bigrams(pad_both_ends(lemma_sequence(message), 2)))
    if cache is None:
        return sum(math.log(model.score(b, [a])) for a, b in pairs) / len(pairs)
    if len(cache) > LM_CACHE_SIZE:  # user text brings new bigrams forever: start over rather than grow
        cache.clear()
    values = []
    for pair in pairs:
        value = cache.get(pair)
        if value is None:
            value = cache[pair] = math.log(model.score(pair[1], [pair[0]]))
        values.append(value)
    return sum(values) / len(pairs)  # sum() as above: the same rounding


def loo_lm_score(model: Lidstone, message: Message) -> float:
    """``lm_score`` of a training message under the model fitted without it (leave-one-out), exactly.

    The score of text a model has not seen depends on how much it has seen: add-gamma smoothing spreads
    ``gamma`` over the vocabulary, which grows with the corpus. Thresholds tuned on the validation
    split's (or smaller folds') models therefore reject more of new text under the refitted model than
    they did there (3i4K: 2.7% for a 0.5% budget). Leave-one-out scores of the final model's own training
    messages are what its new messages will look like. NLTK can only refit, once per message, so this
    subtracts the message's counts from the model's: a word seen only in this message becomes <UNK>."""
    sentence = list(pad_both_ends(lemma_sequence(message), 2))
    own_words = Counter(sentence)
    own_pairs = Counter(zip(sentence, sentence[1:], strict=False))
    own_contexts = Counter(a for a, _ in own_pairs.elements())
    gone = {w for w, n in own_words.items() if model.counts.unigrams[w] <= n}  # below the cutoff without it
    size = len(model.vocab) - len(gone)
    gamma = model.gamma
    total = 0.0
    for a, b in own_pairs.elements():
        if a in gone:  # an unknown context: nothing left was counted after it
            probability = 1.0 / size
        else:
            context = model.counts[2][(a,)]
            seen = 0 if b in gone else context[b] - own_pairs[a, b]
            probability = (seen + gamma) / (context.N() - own_contexts[a] + gamma * size)
        total += math.log(probability)
    return total / sum(own_pairs.values())

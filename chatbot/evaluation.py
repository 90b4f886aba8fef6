"""Quality metrics: intent accuracy/F1, fallback catch rates, response BLEU-4 and distinct-n."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nltk.translate.bleu_score import corpus_bleu
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from chatbot.message import Message
from chatbot.nlp.tokenizers import get_tokenizer

BLEU_TOKENIZER = "kiwi"


def intent_metrics(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support."""
    labels = sorted(set(gold))
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    return {
        "accuracy": round(float(accuracy_score(gold, pred)), 4),
        "macro_f1": round(float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)), 4),
        "per_class": {
            label: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                    "f1": round(float(f[i]), 4), "support": int(s[i])}
            for i, label in enumerate(labels)
        },
    }


def fallback_metrics(messages: Sequence[Message], ood_label: str = "OOD") -> dict[str, Any]:
    """How much out-of-domain text is caught and in-domain text kept.

    ``accuracy_with_fallback`` counts an in-domain message as right only if it was kept and
    classified correctly, which is what a user experiences.
    """
    ood = [m for m in messages if m.gold_intent == ood_label]
    ind = [m for m in messages if m.gold_intent != ood_label]
    result: dict[str, Any] = {"fallback_rate": round(sum(m.fallback for m in messages) / max(1, len(messages)), 4)}
    if ind:
        result["in_domain_kept"] = round(sum(not m.fallback for m in ind) / len(ind), 4)
        result["accuracy_with_fallback"] = round(
            sum((not m.fallback) and m.intent == m.gold_intent for m in ind) / len(ind), 4)
    if ood:
        result["ood_recall"] = round(sum(m.fallback for m in ood) / len(ood), 4)
    return result


def morphemes(texts: Sequence[str]) -> list[list[str]]:
    """Morpheme forms of each text, with the fixed BLEU tokenizer."""
    return [[t.form for t in tokens] for tokens in get_tokenizer(BLEU_TOKENIZER).tokenize_batch(list(texts))]


def bleu4(references: Sequence[Sequence[Sequence[str]]], hypotheses: Sequence[Sequence[str]]) -> float:
    """NLTK corpus BLEU-4 (x100): each hypothesis's token list against its list of references.

    NLTK warns when a corpus has no matching n-gram of some order; 0 is then the answer."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return 100 * corpus_bleu(references, hypotheses)


def distinct_n(token_lists: Sequence[Sequence[str]], n: int) -> float:
    """Unique n-grams over all n-grams in the replies (Li et al.'s distinct-n)."""
    grams = [tuple(t[i:i + n]) for t in token_lists for i in range(len(t) - n + 1)]
    return round(len(set(grams)) / len(grams), 4) if grams else 0.0


def response_metrics(replies: Sequence[str], golds: Sequence[str]) -> dict[str, Any]:
    """NLTK corpus BLEU-4 over morphemes (x100), and distinct-1/2 of the replies."""
    hyp, ref = morphemes(replies), morphemes(golds)
    return {
        "bleu4": round(bleu4([[r] for r in ref], hyp), 2),
        "distinct1": distinct_n(hyp, 1),
        "distinct2": distinct_n(hyp, 2),
        "tokenizer": BLEU_TOKENIZER,
        "pairs": len(hyp),
    }


def evaluate_messages(messages: Sequence[Message], ood_label: str = "OOD") -> dict[str, Any]:
    """The full report for processed messages that carry gold labels."""
    ind = [m for m in messages if m.gold_intent != ood_label]
    report: dict[str, Any] = {"rows": len(messages)}
    if ind:
        report["intent"] = intent_metrics([m.gold_intent for m in ind], [m.intent or "" for m in ind])
    report["fallback"] = fallback_metrics(messages, ood_label)
    answered = [m for m in ind if m.gold_answer]
    if answered:
        report["response"] = response_metrics([m.reply or "" for m in answered], [m.gold_answer for m in answered])
    return report

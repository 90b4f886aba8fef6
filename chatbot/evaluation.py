"""Quality metrics: intent accuracy/F1, fallback catch rates, response BLEU-4 and distinct-n, entity F1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nltk.translate.bleu_score import corpus_bleu
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from chatbot.entities import entity_annotated, to_original
from chatbot.entities.tagging import spans_to_tags
from chatbot.message import Entity, Message
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
    classified correctly, which is what a user experiences; ``macro_f1_with_fallback`` is the intents'
    macro-F1 read the same way (a fallback is a wrong answer, never a class of its own).
    """
    ood = [m for m in messages if m.gold_intent == ood_label]
    ind = [m for m in messages if m.gold_intent != ood_label]
    result: dict[str, Any] = {"fallback_rate": round(sum(m.fallback for m in messages) / max(1, len(messages)), 4)}
    if ind:
        result["in_domain_kept"] = round(sum(not m.fallback for m in ind) / len(ind), 4)
        result["accuracy_with_fallback"] = round(
            sum((not m.fallback) and m.intent == m.gold_intent for m in ind) / len(ind), 4)
        gold = [m.gold_intent or "" for m in ind]
        answered = [None if m.fallback else (m.intent or "") for m in ind]
        result["macro_f1_with_fallback"] = round(float(f1_score(
            gold, [a if a is not None else "\0fallback" for a in answered], labels=sorted(set(gold)),
            average="macro", zero_division=0)), 4)
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


def entity_metrics(examples: Sequence[tuple[str, Sequence[Entity], Sequence[Entity]]]) -> dict[str, Any]:
    """Exact span-and-type scores over ``(text, gold, predicted)`` examples, offsets into ``text``.

    Each example's spans become character-level BIO tags (``spans_to_tags`` over one unit per
    character) and seqeval scores them in strict IOB2 mode, so an entity counts only when both its
    boundaries and its type match. ``per_type`` covers gold and predicted types; ``macro_f1`` averages
    over them (a type only ever predicted scores 0), ``micro`` pools every span."""
    from seqeval.metrics import classification_report  # type: ignore[import-untyped]
    from seqeval.scheme import IOB2  # type: ignore[import-untyped]

    gold_tags, pred_tags = [], []
    for text, gold, pred in examples:
        units = [(i, i + 1) for i in range(len(text))]
        gold_tags.append(spans_to_tags(units, gold))
        pred_tags.append(spans_to_tags(units, pred))
    types = {t[2:] for tags in gold_tags + pred_tags for t in tags if t != "O"}
    result: dict[str, Any] = {"examples": len(examples), "per_type": {},
                              "micro": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0},
                              "micro_f1": 0.0, "macro_f1": 0.0}
    if not types:
        return result
    table = classification_report(gold_tags, pred_tags, mode="strict", scheme=IOB2, output_dict=True,
                                  zero_division=0)

    def scores(row: dict[str, Any]) -> dict[str, Any]:
        return {"precision": round(float(row["precision"]), 4), "recall": round(float(row["recall"]), 4),
                "f1": round(float(row["f1-score"]), 4), "support": int(row["support"])}

    result["per_type"] = {name: scores(table[name]) for name in sorted(types)}
    result["micro"] = scores(table["micro avg"])
    result["micro_f1"] = result["micro"]["f1"]
    result["macro_f1"] = round(float(table["macro avg"]["f1-score"]), 4)
    return result


def predicted_entities(message: Message) -> list[Entity]:
    """A processed message's entities with offsets into ``message.text`` (as its gold entities have)."""
    if not message.entities:
        return []
    return to_original(message.entities, message.text, message.normalized or message.text)


def entity_dicts(entities: Sequence[Entity]) -> list[dict[str, Any]]:
    """``{type, start, end, text, value}`` per entity, for predictions.jsonl and reports."""
    return [{"type": e.type, "start": e.start, "end": e.end, "text": e.text,
             "value": e.text if e.value is None else e.value} for e in entities]


def evaluate_messages(messages: Sequence[Message], ood_label: str = "OOD") -> dict[str, Any]:
    """The full report for processed messages that carry gold labels.

    Intent, fallback and response figures cover the rows with a gold intent; ``entities`` the rows
    ``entity_annotated`` picks. A corpus of entity annotations alone gets the entity figures alone."""
    labelled = [m for m in messages if m.gold_intent]
    ind = [m for m in labelled if m.gold_intent != ood_label]
    report: dict[str, Any] = {"rows": len(messages)}
    if ind:
        report["intent"] = intent_metrics([m.gold_intent or "" for m in ind], [m.intent or "" for m in ind])
    if labelled:
        report["fallback"] = fallback_metrics(labelled, ood_label)
    answered = [m for m in ind if m.gold_answer]
    if answered:
        report["response"] = response_metrics([m.reply or "" for m in answered],
                                              [m.gold_answer or "" for m in answered])
    annotated = entity_annotated(messages)
    if annotated:
        report["entities"] = entity_metrics([(m.text, m.gold_entities, predicted_entities(m)) for m in annotated])
    return report


FAILING_TURNS_KEPT = 50  # in report.json; the command line prints them all


def _share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def dialogue_metrics(results: Sequence[Any]) -> dict[str, Any]:
    """Per-turn accuracy over run conversations (``chatbot.dialogue.testing.ConversationResult``).

    ``intent_accuracy``/``slot_accuracy``/``entity_accuracy``/``reply_accuracy`` cover the turns that state
    that expectation; ``intent_and_slots`` the turns that state either (both right where both are stated);
    ``turn_accuracy`` every turn (all its expectations met); ``failing_turns`` the first wrong turns."""
    turns = [t for r in results for t in r.turns]

    def stated(check: str) -> list[bool]:
        return [bool(t.checks.get(check)) for t in turns if t.checks.get(check) is not None]

    both = [all(t.checks.get(c) is not False for c in ("intent", "slots")) for t in turns
            if t.checks.get("intent") is not None or t.checks.get("slots") is not None]
    failing = [{"conversation": r.conversation.id, "where": t.where, "turn": t.index, "person": t.person,
                "user": t.user, "reply": t.reply, "intent": t.intent, "problems": t.problems}
               for r in results for t in r.turns if not t.passed]
    return {
        "conversations": len(results), "conversations_passed": sum(r.passed for r in results),
        "turns": len(turns), "turns_passed": sum(t.passed for t in turns),
        "turn_accuracy": _share([t.passed for t in turns]),
        "intent_turns": len(stated("intent")), "intent_accuracy": _share(stated("intent")),
        "slot_turns": len(stated("slots")), "slot_accuracy": _share(stated("slots")),
        "entity_accuracy": _share(stated("entities")), "reply_accuracy": _share(stated("reply")),
        "intent_and_slots_turns": len(both), "intent_and_slots": _share(both),
        "failing_turns": failing[:FAILING_TURNS_KEPT], "failing_turn_count": len(failing),
    }

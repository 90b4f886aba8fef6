"""Answer selection with a BERT bi-encoder (the "KoBERT responder").

Questions and answers are embedded by one sentence encoder (``chatbot.models.sentence_encoder``,
mean-pooled, unit length) fine-tuned from ``pretrained`` contrastively: in a batch of
(question, answer) pairs, each question must pick its own answer among the batch's answers
(in-batch negatives; cross-entropy over cosine similarities / ``temperature``). Pairs in the
batch that share the same answer text are not counted as negatives of each other.

The index is every distinct training answer's vector, saved in the model directory
(``index.npy`` and ``answers.json``, with the fine-tuned encoder in ``encoder/``). A reply is the
answer nearest the message by cosine. When the best similarity is below ``min_similarity`` and
the predicted intent has responses, one of those answers instead, as the retrieval responder does.

With ``rerank_top_k`` > 0 a cross-encoder (a one-logit sequence-classification head over
``[CLS] question [SEP] answer [SEP]``, from the same checkpoint) re-ranks the bi-encoder's top k.
It is trained after the bi-encoder, listwise: each question against its gold answer and the
``rerank_negatives`` answers the trained bi-encoder ranks highest among the wrong ones (hard
negatives), cross-entropy with the gold answer as the target. It is saved in ``reranker/``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from chatbot.message import Message, TrainingData
from chatbot.models.bert import FINE_TUNING, TRAIN_CONFIG_KEYS, save_checkpoint
from chatbot.responders.base import Responder

log = logging.getLogger(__name__)

ENCODER_DIR = "encoder"
RERANKER_DIR = "reranker"
INDEX = "index.npy"
ANSWERS = "answers.json"
LOG = "training.json"


class BertSelector(Responder):
    """Picks the training answer whose vector is nearest the message's."""

    name = "bert_selector"
    requires = ()  # the normalised text, or the raw one; the intent helps, when there is one
    defaults = {
        **Responder.defaults,
        "pretrained": None,  # checkpoint folder or cached id; train --pretrained sets it
        "max_length": 64,
        "temperature": 0.05,  # of the contrastive softmax over cosine similarities
        "min_similarity": 0.0,  # below it, an intent-level response (when the intent has some)
        "rerank_top_k": 0,  # > 0: a cross-encoder re-ranks the bi-encoder's top k
        "rerank_negatives": 3,  # hard negatives per question when training the cross-encoder
        "ood_label": "OOD",
        **FINE_TUNING,
        "batch_size": 64,  # also the number of in-batch candidates per question
    }

    def fit(self, data: TrainingData) -> BertSelector:
        import torch

        from chatbot.models.sentence_encoder import SentenceEncoder
        from chatbot.models.trainer import TrainConfig, train

        super().fit(data)
        p = self.params
        if not p["pretrained"]:
            raise ValueError(f"{self.name} needs a pretrained checkpoint: pass --pretrained PATH_OR_ID to train")
        pairs = [m for m in data.messages if m.gold_answer and m.gold_intent != p["ood_label"]]
        if len(pairs) < 2:
            raise ValueError(f"{self.name} learns from question/answer pairs; the corpus has {len(pairs)} "
                             "rows with an answer (at least 2 needed)")
        seed = p["seed"] or 0
        torch.manual_seed(seed)
        self.encoder_ = SentenceEncoder.from_pretrained(p["pretrained"], p["max_length"])
        answers = sorted({m.gold_answer for m in pairs})
        answer_id = {a: i for i, a in enumerate(answers)}
        answer_ids = [self.encoder_.ids(a) for a in answers]
        train_pairs, validation_pairs = split_rows(pairs, p["validation_split"], seed)
        training, validation = ([(self.encoder_.ids(m.normalized or m.text), answer_id[m.gold_answer]) for m in part]
                                for part in (train_pairs, validation_pairs))
        encoder = self.encoder_

        def collate(batch):
            questions, answer_index = zip(*batch, strict=True)
            return (*encoder.pad(list(questions)), *encoder.pad([answer_ids[i] for i in answer_index]),
                    torch.tensor(answer_index))

        def loss_fn(model, batch, step):
            q_ids, q_mask, a_ids, a_mask, answer_index = batch
            q = encoder.forward(q_ids, q_mask, model)
            a = encoder.forward(a_ids, a_mask, model)
            scores = q @ a.T / p["temperature"]  # [B, B]: question i against every answer in the batch
            same = answer_index[:, None] == answer_index[None, :]
            scores = scores.masked_fill(same & ~torch.eye(len(answer_index), dtype=torch.bool,
                                                          device=scores.device), float("-inf"))
            return torch.nn.functional.cross_entropy(scores, torch.arange(len(answer_index), device=scores.device))

        config = TrainConfig(**{k: p[k] for k in TRAIN_CONFIG_KEYS}, seed=seed)
        if p["rerank_top_k"] and config.time_budget_minutes:
            config.time_budget_minutes /= 2  # the other half trains the cross-encoder
        result = train(encoder.model, training, validation, collate, loss_fn, config,
                       out_dir=p["checkpoint_dir"], resume=bool(p["resume"]))
        encoder.model.to("cpu").eval()
        self.answers_ = answers
        self.answer_intents_ = {m.gold_answer: m.gold_intent for m in pairs}
        self.index_ = encoder.encode(answers)
        self.training_log_ = {**asdict(result), "pretrained": str(p["pretrained"]), "pairs": len(pairs),
                              "answers": len(answers), "validation_pairs": len(validation)}
        self.reranker_ = None
        if p["rerank_top_k"]:
            self.reranker_, reranker_result = self._fit_reranker(train_pairs, validation_pairs, config)
            self.training_log_["reranker"] = {k: v for k, v in asdict(reranker_result).items() if k != "history"}
        log.info("%s: %s", self.name, {k: self.training_log_[k] for k in ("pairs", "answers", "steps", "stopped_by")})
        return self

    def _fit_reranker(self, train_pairs: list[Message], validation_pairs: list[Message], config):
        """Train the cross-encoder listwise on each question's gold answer and its hard negatives."""
        import torch

        from chatbot.models.bert import load_model
        from chatbot.models.trainer import train

        p = self.params
        group = min(int(p["rerank_negatives"]) + 1, len(self.answers_))
        model = load_model(str(p["pretrained"]), "sequence_classification", num_labels=1)

        def groups(messages: list[Message]) -> list[list[dict]]:
            texts = [m.normalized or m.text for m in messages]
            top, _ = self.rank(texts, group)
            out = []
            for text, message, row in zip(texts, messages, top, strict=True):
                negatives = [self.answers_[i] for i in row if self.answers_[i] != message.gold_answer][:group - 1]
                out.append([self.pair(text, a) for a in (message.gold_answer, *negatives)])
            return out

        def collate(batch):  # [B * G] pairs, gold first in each group
            return self.pair_batch([pair for candidates in batch for pair in candidates])

        def loss_fn(net, batch, step):
            ids, mask, types = batch
            scores = net(input_ids=ids, attention_mask=mask, token_type_ids=types).logits.float().view(-1, group)
            return torch.nn.functional.cross_entropy(scores, torch.zeros(len(scores), dtype=torch.long,
                                                                          device=scores.device))

        out_dir = Path(p["checkpoint_dir"]) / RERANKER_DIR if p["checkpoint_dir"] else None
        result = train(model, groups(train_pairs), groups(validation_pairs), collate, loss_fn, config,
                       out_dir=out_dir, resume=bool(p["resume"]))
        return model.to("cpu").eval(), result

    def pair(self, question: str, answer: str) -> dict:
        """The cross-encoder's input for one (question, answer) pair."""
        return self.encoder_.tokenizer(question, answer, truncation=True, max_length=2 * int(self.params["max_length"]))

    def pair_batch(self, encoded: list[dict]):
        """Tokenized pairs -> ids, attention mask and token type ids [N, L], padded to the longest."""
        from chatbot.models.bert import pad_encodings

        return pad_encodings(encoded, self.encoder_.tokenizer.pad_token_id)

    def rerank(self, text: str, candidates: np.ndarray) -> tuple[int, float]:
        """The candidate (an index of ``answers_``) the cross-encoder scores highest, and its score."""
        import torch

        ids, mask, types = self.pair_batch([self.pair(text, self.answers_[i]) for i in candidates])
        with torch.inference_mode():
            scores = self.reranker_(input_ids=ids, attention_mask=mask, token_type_ids=types).logits.float().view(-1)
        best = int(scores.argmax())
        return int(candidates[best]), float(scores[best])

    def absorb(self, messages: list[Message]) -> int:
        """Add the held-out pairs' new answers to the index without retraining; returns how many were added."""
        new = sorted({m.gold_answer for m in messages if m.gold_answer and m.gold_intent != self.params["ood_label"]}
                     - set(self.answers_))
        if new:
            self.index_ = np.vstack([self.index_, self.encoder_.encode(new)])
            self.answers_ = [*self.answers_, *new]
            self.answer_intents_.update({m.gold_answer: m.gold_intent for m in messages if m.gold_answer in new})
        return len(new)

    def rank(self, texts: list[str], k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Indices [N, k] of the nearest answers and their cosine similarities [N, k]."""
        scores = self.encoder_.encode(texts) @ self.index_.T
        top = np.argsort(-scores, axis=1)[:, :k]
        return top, np.take_along_axis(scores, top, axis=1)

    def respond(self, message: Message, context: dict[str, Any]) -> str:
        text = message.normalized or message.text
        top, similarity = self.rank([text], max(1, int(self.params["rerank_top_k"])))
        best, score = int(top[0, 0]), float(similarity[0, 0])
        context["selector_similarity"] = round(score, 4)
        if getattr(self, "reranker_", None) is not None and top.shape[1] > 1:
            best, context["reranker_score"] = self.rerank(text, top[0])
            context["reranker_score"] = round(context["reranker_score"], 4)
        if score < self.params["min_similarity"] and self.responses_.get(message.intent):
            message.reply_source = "selector:intent"
            return self.intent_response(message)
        message.reply_source = "selector:answer"
        return self.render(self.answers_[best], message)

    def learned_state(self) -> dict[str, Any]:
        skip = ("encoder_", "index_", "answers_", "training_log_", "reranker_")
        return {k: v for k, v in super().learned_state().items() if k not in skip}

    def save(self, directory: Path) -> None:
        super().save(directory)
        self.encoder_.save(directory / ENCODER_DIR)
        if getattr(self, "reranker_", None) is not None:
            save_checkpoint(directory / RERANKER_DIR, self.reranker_)
        np.save(directory / INDEX, self.index_)
        (directory / ANSWERS).write_text(json.dumps(self.answers_, ensure_ascii=False), encoding="utf-8")
        (directory / LOG).write_text(json.dumps(self.training_log_, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, params: dict[str, Any]) -> BertSelector:
        from chatbot.models.sentence_encoder import SentenceEncoder

        component = super().load(directory, params)
        from chatbot.models.bert import for_serving, load_model

        int8 = bool(component.params["int8"])
        component.encoder_ = SentenceEncoder.from_pretrained(directory / ENCODER_DIR, component.params["max_length"])
        component.encoder_.model = for_serving(component.encoder_.model, int8)
        component.index_ = np.load(directory / INDEX)
        component.reranker_ = None
        if (directory / RERANKER_DIR).exists():
            component.reranker_ = for_serving(load_model(str(directory / RERANKER_DIR), "sequence_classification"),
                                              int8)
        component.answers_ = json.loads((directory / ANSWERS).read_text(encoding="utf-8"))
        log_file = directory / LOG
        component.training_log_ = json.loads(log_file.read_text(encoding="utf-8")) if log_file.exists() else {}
        return component


def split_rows(rows: list, fraction: float, seed: int) -> tuple[list, list]:
    """A random train/validation split that never leaves either side empty (tiny corpora validate on training)."""
    from sklearn.model_selection import train_test_split

    n_val = round(len(rows) * fraction)
    if n_val < 1 or len(rows) - n_val < 1:
        return rows, rows
    return tuple(train_test_split(rows, test_size=n_val, random_state=seed))

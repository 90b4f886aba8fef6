"""Generative responder: a seq2seq-with-attention network over a SentencePiece vocabulary.

Trained on the corpus's question/answer pairs (for rows without an answer, each of its intent's
responses pairs with the question). The network, its vocabulary and the training log live in
the component's directory: ``seq2seq.safetensors`` (weights, with the network's config in its header;
older models have ``seq2seq.pt``, which still loads), ``spm.model``, ``training.json``.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

from chatbot.message import Message, TrainingData
from chatbot.responders.base import Responder

WEIGHTS = "seq2seq"  # seq2seq.safetensors (chatbot.models.weights)
LOG = "training.json"
GENERATE_BATCH = 256  # questions per decoding batch
EMPTY_REPLY = "음, 뭐라고 답해야 할지 모르겠어요. 조금 더 이야기해 주실래요?"


class Seq2SeqResponder(Responder):
    name = "seq2seq_responder"
    # The normalised text, or the raw one; the intent only when it generates nothing.
    requires: ClassVar[tuple[str, ...]] = ()
    defaults = {
        **Responder.defaults,
        "ood_label": "OOD",
        # Defaults chosen on ChatbotData for a 2-core CPU (docs/benchmarks.md, the seq2seq section): a one-layer
        # network without input feeding and with Luong attention trains 2.5x faster per step than
        # two layers with Bahdanau and input feeding, and full teacher forcing without label
        # smoothing lets it memorise the answers that held-out questions share. On a GPU, raise
        # the sizes and epochs in the config.
        # vocabulary
        "vocab_size": 3000,
        "vocab_model": "unigram",
        # network (chatbot.models.seq2seq.Seq2SeqConfig)
        "embedding_size": 128,
        "hidden_size": 256,
        "layers": 1,
        "dropout": 0.1,
        "cell": "gru",
        "attention": "luong_general",  # or "bahdanau", "luong_dot"
        "shared_embeddings": True,
        "input_feeding": False,  # on: the attentional vector is fed back, and training steps through time
        "max_source_length": 48,
        "max_target_length": 48,
        # training (chatbot.models.trainer.TrainConfig)
        # 18 epochs: the learning rate anneals to zero as the network memorises (BLEU 8.25 on
        # ChatbotData, 1 CPU thread, 13 minutes); a longer schedule early-stops while it is high.
        "epochs": 18,
        "batch_size": 64,
        "learning_rate": 3e-3,
        "warmup_steps": 200,
        "patience": 8,  # validation BLEU of greedy replies swings by about 1 from epoch to epoch
        "checkpoint_every": 500,
        "time_budget_minutes": None,
        "device": "auto",
        "validation_split": 0.05,
        # scheduled sampling: the share of gold tokens fed back, from start to end of training
        # (below 1.0 the decoder steps through time)
        "teacher_forcing_start": 1.0,
        "teacher_forcing_end": 1.0,
        "label_smoothing": 0.0,
        # which validation figure picks the best weights and stops training: "bleu" (BLEU-4 of
        # greedy replies to the validation questions) or "loss" (teacher-forced cross-entropy)
        "select_by": "bleu",
        "progress": True,
        "checkpoint_dir": None,  # where checkpoints go (train sets it inside the output directory)
        "resume": False,
        # decoding (chatbot.models.decoding.DecodeOptions)
        "decode": {"method": "beam", "beam_width": 4, "length_penalty": 1.0, "no_repeat_ngram": 3,
                   "max_length": 40},
    }

    def fit(self, data: TrainingData) -> Seq2SeqResponder:
        import torch

        from chatbot.models.seq2seq import Seq2Seq, Seq2SeqConfig
        from chatbot.models.trainer import TrainConfig, train
        from chatbot.models.vocab import SubwordVocab

        super().fit(data)
        p = self.params
        pairs = self.pairs(data)
        if len(pairs) < 2:
            raise ValueError("the seq2seq responder needs at least two question/answer pairs (or intent responses)")
        rng = random.Random(p["seed"] or 0)
        rng.shuffle(pairs)
        n_val = max(1, int(len(pairs) * p["validation_split"]))
        validation, training = pairs[:n_val], pairs[n_val:] or pairs
        self.vocab_ = SubwordVocab.train([t for pair in training for t in pair], p["vocab_size"], p["vocab_model"])
        config = Seq2SeqConfig(vocab_size=len(self.vocab_), **{k: p[k] for k in (
            "embedding_size", "hidden_size", "layers", "dropout", "cell", "attention", "shared_embeddings",
            "input_feeding")})
        self.model_ = Seq2Seq(config)
        train_config = TrainConfig(**{k: p[k] for k in (
            "epochs", "batch_size", "learning_rate", "warmup_steps", "patience", "checkpoint_every",
            "time_budget_minutes", "device", "progress")}, seed=p["seed"] or 0)
        total_steps = max(1, train_config.epochs * -(-len(training) // train_config.batch_size))
        criterion = torch.nn.CrossEntropyLoss(ignore_index=0, label_smoothing=p["label_smoothing"])

        def loss_fn(model, batch, step):
            source, lengths, target_in, target_out = batch
            forcing = 1.0
            if step >= 0:  # a linear teacher-forcing schedule; validation always teacher-forces
                fraction = min(1.0, step / total_steps)
                start, end = p["teacher_forcing_start"], p["teacher_forcing_end"]
                forcing = start + fraction * (end - start)
            logits = model(source, lengths, target_in, teacher_forcing=forcing)
            return criterion(logits.reshape(-1, logits.size(-1)).float(), target_out.reshape(-1))

        encoded = [self._encode_pair(q, a) for q, a in training]
        encoded_val = [self._encode_pair(q, a) for q, a in validation]
        if p["select_by"] not in ("bleu", "loss"):
            raise ValueError(f"select_by must be bleu or loss, got {p['select_by']!r}")
        score_fn = self._bleu_scorer(validation) if p["select_by"] == "bleu" else None
        result = train(self.model_, encoded, encoded_val, collate, loss_fn, train_config,
                       out_dir=p["checkpoint_dir"], resume=bool(p["resume"]), score_fn=score_fn)
        self.model_.to("cpu").eval()
        mean_target = sum(len(out) for _, _, out in encoded) / max(1, len(encoded))  # pieces + end token
        self.training_log_ = {**asdict(result), "pairs": len(pairs), "validation_pairs": len(validation),
                              "vocab_size": len(self.vocab_),
                              "target_tokens_per_second": round(result.examples_per_second * mean_target, 1)}
        return self

    def _bleu_scorer(self, validation: list[tuple[str, str]]):
        """score_fn for the trainer: BLEU-4 over morphemes of greedy replies to the validation pairs.

        Validation loss keeps falling while replies stay generic and starts rising as the network
        memorises answers that held-out questions share; the replies' BLEU is what matters."""
        from chatbot.evaluation import bleu4, morphemes
        from chatbot.models.decoding import DecodeOptions

        questions = [q for q, _ in validation]
        references = [[r] for r in morphemes([a for _, a in validation])]
        options = DecodeOptions(method="greedy", max_length=self.params["decode"].get("max_length", 40),
                                no_repeat_ngram=self.params["decode"].get("no_repeat_ngram", 3))
        return lambda model: bleu4(references, morphemes(self.generate(questions, options, model)))

    def pairs(self, data: TrainingData) -> list[tuple[str, str]]:
        """(question, answer) training pairs from answers, else from intent responses."""
        pairs = []
        for m in data.messages:
            if m.gold_intent == self.params["ood_label"]:
                continue
            question = m.normalized or m.text
            if m.gold_answer:
                pairs.append((question, m.gold_answer))
            else:
                pairs += [(question, r) for r in self.responses_.get(m.gold_intent, []) if "{" not in r]
        return pairs

    def _encode_pair(self, question: str, answer: str):
        from chatbot.models.seq2seq import BOS, EOS, UNK  # torch loads only when a seq2seq is used

        source = self.vocab_.encode(question, self.params["max_source_length"]) or [UNK]
        target = self.vocab_.encode(answer, self.params["max_target_length"] - 1)
        return source, [BOS, *target], [*target, EOS]

    def generate(self, texts: list[str], options=None, model=None) -> list[str]:
        """Replies for many questions at once (batched encoding; beam search per row).

        ``options`` (a DecodeOptions) default to the ``decode`` parameter, ``model`` to the fitted
        network; replies come in batches of GENERATE_BATCH on the model's device."""
        import torch

        from chatbot.models.decoding import DecodeOptions, decode
        from chatbot.models.seq2seq import UNK

        options = options or DecodeOptions(**self.params["decode"])
        model = model or self.model_
        device = next(model.parameters()).device
        sources = [self.vocab_.encode(t, self.params["max_source_length"]) or [UNK] for t in texts]
        replies = []
        for start in range(0, len(sources), GENERATE_BATCH):
            chunk = sources[start:start + GENERATE_BATCH]
            source, lengths = pad(chunk).to(device), torch.tensor([len(x) for x in chunk])
            replies += [self.vocab_.decode(ids) for ids in decode(model, source, lengths, options)]
        return replies

    def perplexity(self, questions: list[str], answers: list[str], batch_size: int = 128) -> float:
        """exp(mean negative log-likelihood per target token) of the gold answers, teacher-forced.

        Computed over SentencePiece tokens plus the end-of-answer token, without label smoothing,
        so figures compare across runs with the same vocabulary (not across vocabularies)."""
        import math

        import torch

        self.model_.eval()
        total, count = 0.0, 0
        rows = [self._encode_pair(q, a) for q, a in zip(questions, answers, strict=True)]
        with torch.no_grad():
            for start in range(0, len(rows), batch_size):
                source, lengths, target_in, target_out = collate(rows[start:start + batch_size])
                logits = self.model_(source, lengths, target_in, teacher_forcing=1.0)
                nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)).float(),
                                                        target_out.reshape(-1), ignore_index=0, reduction="sum")
                total, count = total + float(nll), count + int((target_out != 0).sum())
        return round(math.exp(total / max(1, count)), 3)

    def respond(self, message: Message, context: dict[str, Any]) -> str:
        return self._generated_reply(message, self.generate([message.normalized or message.text])[0])

    def _generated_reply(self, message: Message, reply: str) -> str:
        """The generated text, or an intent response when the network produced nothing."""
        if reply:
            message.reply_source = "seq2seq"
            return reply
        if self.responses_.get(message.intent):
            message.reply_source = "seq2seq:intent"
            return self.intent_response(message)
        message.reply_source = "seq2seq:empty"
        return EMPTY_REPLY

    def learned_state(self) -> dict[str, Any]:
        """What joblib stores; the network, vocabulary and log have their own files."""
        own_files = {"model_", "vocab_", "training_log_"}
        return {k: v for k, v in super().learned_state().items() if k not in own_files}

    def save(self, directory: Path) -> None:
        from chatbot.models.weights import SUFFIX, save_weights

        super().save(directory)  # responses, descriptions, examples
        header = {"config": self.model_.config.to_dict()}
        save_weights(directory / f"{WEIGHTS}{SUFFIX}", self.model_.state_dict(), header)
        self.vocab_.save(directory)
        (directory / LOG).write_text(json.dumps(self.training_log_, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, params: dict[str, Any]) -> Seq2SeqResponder:
        from chatbot.models.seq2seq import Seq2Seq, Seq2SeqConfig
        from chatbot.models.vocab import SubwordVocab
        from chatbot.models.weights import load_network

        component = super().load(directory, params)
        state_dict, header = load_network(directory, WEIGHTS)
        component.model_ = Seq2Seq(Seq2SeqConfig(**header["config"]))
        component.model_.load_state_dict(state_dict)
        component.model_.eval()
        component.vocab_ = SubwordVocab.load(directory)
        component.training_log_ = json.loads((directory / LOG).read_text(encoding="utf-8"))
        return component


def pad(sequences: list[list[int]]):
    """Id lists -> a [B, L] tensor padded with 0, the padding id."""
    import torch

    return torch.nn.utils.rnn.pad_sequence([torch.tensor(x) for x in sequences], batch_first=True)


def collate(rows):
    """(source, target_in, target_out) id lists -> source, lengths, target_in, target_out tensors."""
    import torch

    sources, targets_in, targets_out = zip(*rows, strict=True)
    return pad(sources), torch.tensor([len(x) for x in sources]), pad(targets_in), pad(targets_out)

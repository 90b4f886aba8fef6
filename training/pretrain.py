"""``chatbot pretrain``: our own small Korean BERT, pretrained with masked-language modelling on plain text.

    python -m chatbot pretrain --data corpus.txt more/ --out models/pretrained/our-bert --time-budget 60

Steps: read the lines (UTF-8, one sentence or utterance a line, NFC), hold some out for validation,
train a SentencePiece vocabulary with KoBERT's id layout ([UNK] 0, [PAD] 1, [CLS] 2, [SEP] 3,
[MASK] 4), group the pieces by Kiwi morphemes for whole-word masking, and train a
``BertForMaskedLM`` with the project's trainer (``chatbot.models.trainer``: bf16 on CUDA,
checkpoints, ``--resume``, ``--time-budget``) on length-bucketed, dynamically padded batches.

OUT becomes a Hugging Face checkpoint folder that ``chatbot.models.bert.load_tokenizer`` and
``load_model`` (``AutoTokenizer``/``AutoModel``) read: config.json, model.safetensors, tokenizer.json,
tokenizer_config.json and spiece.model, with pretraining.json (the figures) and loss_curve.png.
Everything is written into OUT/.partial and moved in with config.json last, and a run first removes
an old config.json: a folder with a config.json is complete. OUT/checkpoints holds what ``--resume``
needs: the trainer's checkpoint, the SentencePiece model and the model's configuration, so a
resumed run keeps its vocabulary and shape whatever the flags say. One process: no ``torchrun``.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
import shutil
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatbot.corpus.errors import Problems, read_utf8
from chatbot.models.bert import SPECIAL_TOKENS, SPM_FILE, save_checkpoint
from chatbot.nlp.tokenizers import BACKENDS
from training.cli_support import distributed_session, minutes

log = logging.getLogger(__name__)
CHECKPOINTS = "checkpoints"
MODEL_CONFIG = "bert_config.json"  # in OUT/checkpoints: not config.json, which marks a finished folder
SPM_SENTENCES = 2_000_000  # SentencePiece trains on at most this many lines (sampled), as its memory grows with them


@dataclass
class PretrainOptions:
    """Everything ``pretrain`` can be told; the defaults are the command's."""

    vocab_size: int = 8000
    spm_model_type: str = "unigram"
    shape: Any = None  # a chatbot.models.bert_pretraining.BertShape; None: the default shape
    whole_word: str = "morpheme"  # or "none": mask single pieces
    morpheme_tokenizer: str = "kiwi"
    mask_prob: float = 0.15
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 5e-4
    warmup_steps: int | None = None  # None: 5% of the planned steps, at most 1000
    eval_every: int = 500
    checkpoint_every: int = 500
    patience: int = 5
    validation_lines: int | None = None  # None: 2% of the lines, at least 1, at most 2000
    max_lines: int | None = None
    device: str = "auto"
    time_budget_minutes: float | None = None
    seed: int = 0
    progress: bool = True


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pretrain`` sub-command."""
    p = subparsers.add_parser("pretrain", help="pretrain a small Korean BERT (masked LM) on plain text")
    p.add_argument("--data", nargs="+", action="extend", required=True, metavar="TEXT",
                   help="UTF-8 text files, one sentence a line, or directories of *.txt")
    p.add_argument("--out", required=True, help="checkpoint folder to write (Hugging Face layout)")
    p.add_argument("--max-lines", type=int, default=None, help="use at most this many lines")
    p.add_argument("--validation-lines", type=int, default=None,
                   help="lines held out for validation loss and MLM accuracy (default 2%%, at most 2000)")
    p.add_argument("--vocab-size", type=int, default=8000, help="SentencePiece vocabulary size (a soft limit)")
    p.add_argument("--spm-model-type", choices=("unigram", "bpe"), default="unigram")
    p.add_argument("--whole-word", choices=("morpheme", "none"), default="morpheme",
                   help="mask whole morphemes (default) or single pieces")
    p.add_argument("--morpheme-tokenizer", choices=sorted(BACKENDS), default="kiwi",
                   help="morphological analyser for whole-word masking")
    p.add_argument("--mask-prob", type=float, default=0.15, help="share of morphemes (or pieces) masked")
    p.add_argument("--hidden-size", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--intermediate-size", type=int, default=1024)
    p.add_argument("--max-length", type=int, default=128, help="pieces per line with [CLS]/[SEP]; longer lines are cut")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=5e-4)
    p.add_argument("--warmup-steps", type=int, default=None, help="default: 5%% of the planned steps, at most 1000")
    p.add_argument("--eval-every", type=int, default=500, help="steps between validations (and at each epoch end)")
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints")
    p.add_argument("--patience", type=int, default=5, help="validations without improvement before stopping")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--time-budget", type=minutes, default=None, metavar="MINUTES",
                   help="stop training after this long, with the best model so far")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_pretrain)


def run_pretrain(args: argparse.Namespace) -> int:
    from chatbot.models.bert_pretraining import BertShape

    shape = BertShape(hidden_size=args.hidden_size, layers=args.layers, heads=args.heads,
                      intermediate_size=args.intermediate_size, max_length=args.max_length)
    options = PretrainOptions(
        vocab_size=args.vocab_size, spm_model_type=args.spm_model_type, shape=shape, whole_word=args.whole_word,
        morpheme_tokenizer=args.morpheme_tokenizer, mask_prob=args.mask_prob, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, warmup_steps=args.warmup_steps,
        eval_every=args.eval_every, checkpoint_every=args.checkpoint_every, patience=args.patience,
        validation_lines=args.validation_lines, max_lines=args.max_lines, device=args.device,
        time_budget_minutes=args.time_budget, seed=args.seed)
    with distributed_session(args.device) as rank:
        meta = pretrain(args.data, args.out, options, resume=args.resume)
    if rank != 0:  # under torchrun, rank 0 alone reports
        return 0
    summary = {k: meta[k] for k in ("out", "lines", "steps", "stopped_by", "best_validation_loss", "mlm_accuracy",
                                    "examples_per_second", "device", "precision", "seconds")}
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    print(f"wrote {args.out}: load it with chatbot.models.bert.load_model({str(args.out)!r}, head='masked_lm')",
          file=sys.stderr)
    return 0


def text_files(paths: Iterable[str | Path], problems: Problems) -> list[Path]:
    """Files as given, and the *.txt files under directories, in a stable order."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.txt") if p.is_file())
            if not found:
                problems.add(path, 0, "no *.txt files in this directory")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            problems.add(path, 0, "no such file or directory")
    return files


def read_lines(paths: Iterable[str | Path], max_lines: int | None = None) -> list[str]:
    """The non-blank lines, NFC-normalised and stripped; a ``CorpusError`` (a ValueError) names
    every file that is missing, empty or not UTF-8 (with the line of the first bad byte)."""
    if max_lines is not None and max_lines < 1:
        raise ValueError(f"--max-lines must be at least 1, got {max_lines}")
    problems = Problems()
    lines: list[str] = []
    for path in text_files(paths, problems):
        text = read_utf8(path, problems)
        if text is None:
            continue
        found = [line for line in (unicodedata.normalize("NFC", raw).strip() for raw in text.splitlines()) if line]
        if not found:
            problems.add(path, 0, "no text: every line is blank")
        lines += found
        if max_lines and len(lines) >= max_lines:
            break
    problems.raise_if_any()
    return lines[:max_lines] if max_lines else lines


def split_validation(lines: Sequence[str], count: int | None, seed: int) -> tuple[list[str], list[str]]:
    """(training, validation) lines, the validation ones drawn at random with ``seed``."""
    if len(lines) < 2:
        raise ValueError(f"pretraining needs at least 2 lines (training and validation), got {len(lines)}")
    count = min(2000, max(1, round(len(lines) * 0.02))) if count is None else count
    if not 1 <= count < len(lines):
        raise ValueError(f"--validation-lines must be between 1 and {len(lines) - 1} for {len(lines)} lines, "
                         f"got {count}")
    order = list(range(len(lines)))
    random.Random(seed).shuffle(order)
    held = set(order[:count])
    return ([line for i, line in enumerate(lines) if i not in held], [lines[i] for i in sorted(held)])


def train_sentencepiece(lines: Sequence[str], path: Path, vocab_size: int, model_type: str = "unigram",
                        threads: int | None = None) -> Path:
    """A SentencePiece model of raw lines with KoBERT's id layout, written atomically to ``path``.

    ``threads=1`` gives the same vocabulary on every run (tests, benchmarks); by default
    SentencePiece uses its own thread count."""
    import sentencepiece as spm

    model = io.BytesIO()
    extra = {} if threads is None else {"num_threads": int(threads)}
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=model, vocab_size=vocab_size, model_type=model_type,
            unk_id=0, pad_id=1, bos_id=-1, eos_id=-1, unk_piece=SPECIAL_TOKENS["unk_token"],
            pad_piece=SPECIAL_TOKENS["pad_token"],
            user_defined_symbols=[SPECIAL_TOKENS[k] for k in ("cls_token", "sep_token", "mask_token")],
            hard_vocab_limit=False, input_sentence_size=SPM_SENTENCES, shuffle_input_sentence=True, minloglevel=2,
            **extra)
    except RuntimeError as exc:  # sentencepiece reports bad settings (a vocabulary too small) this way
        raise ValueError(f"SentencePiece could not train a vocabulary of {vocab_size}: {exc}") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(model.getvalue())
    tmp.replace(path)
    return path


def pretrain(data: Iterable[str | Path], out: str | Path, options: PretrainOptions | None = None,
             resume: bool = False) -> dict:
    """Pretrain a BERT masked LM on the lines of ``data`` into the checkpoint folder ``out``; return
    the figures written to pretraining.json."""
    from transformers import BertConfig, BertForMaskedLM

    from chatbot.models import bert_pretraining as mlm
    from chatbot.models.bert import spm_tokenizer
    from chatbot.models.trainer import TrainConfig, distributed, seed_everything, train
    from chatbot.nlp.tokenizers import get_tokenizer

    options = options or PretrainOptions()
    shape = options.shape or mlm.BertShape()
    if options.whole_word not in ("morpheme", "none"):
        raise ValueError(f"--whole-word must be morpheme or none, got {options.whole_word!r}")
    out = Path(out)
    checkpoints = out / CHECKPOINTS
    data = [str(p) for p in data]
    lines = read_lines(data, options.max_lines)
    training, validation = split_validation(lines, options.validation_lines, options.seed)
    spm_file = checkpoints / SPM_FILE
    # Under torchrun every rank reads the lines; rank 0 alone writes files (the vocabulary, the
    # model shape, the final folder) and the others wait for them at a barrier.
    rank, world = distributed()
    if resume:
        if not spm_file.is_file() or not (checkpoints / MODEL_CONFIG).is_file():
            raise FileNotFoundError(f"--resume: no {SPM_FILE} and {MODEL_CONFIG} in {checkpoints}; "
                                    "start without --resume")
    elif rank == 0:
        (out / "config.json").unlink(missing_ok=True)  # the folder is not a finished checkpoint until we end
        log.info("training a SentencePiece vocabulary on %d lines", len(training))
        train_sentencepiece(training, spm_file, options.vocab_size, options.spm_model_type)
    tokenizer = None
    if rank == 0:
        tokenizer = spm_tokenizer(spm_file)
        if not resume:
            mlm.mlm_config(len(tokenizer), tokenizer.pad_token_id, shape).to_json_file(checkpoints / MODEL_CONFIG)
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
    tokenizer = tokenizer or spm_tokenizer(spm_file)
    seed_everything(options.seed)
    # Built from the saved shape by every rank alike (a resumed run keeps its vocabulary and shape,
    # whatever the flags say now); with one seed the ranks start from the same weights.
    model = BertForMaskedLM(BertConfig.from_json_file(checkpoints / MODEL_CONFIG))
    max_length = model.config.max_position_embeddings

    morphemes = get_tokenizer(options.morpheme_tokenizer) if options.whole_word == "morpheme" else None
    log.info("encoding %d lines", len(lines))
    train_rows = mlm.encode_lines(training, tokenizer, max_length, morphemes)
    collate = mlm.MaskingCollator(tokenizer, options.mask_prob)
    validation_rows = collate.fixed_masks(mlm.encode_lines(validation, tokenizer, max_length, morphemes), options.seed)
    buckets = mlm.LengthBuckets([len(r["input_ids"]) for r in train_rows], options.batch_size, options.seed,
                            rank=rank, world=world)
    planned = max(1, len(buckets)) * options.epochs
    warmup = options.warmup_steps if options.warmup_steps is not None else min(1000, planned // 20)
    config = TrainConfig(epochs=options.epochs, batch_size=options.batch_size, learning_rate=options.learning_rate,
                         warmup_steps=warmup, patience=options.patience, eval_every=options.eval_every,
                         checkpoint_every=options.checkpoint_every, time_budget_minutes=options.time_budget_minutes,
                         seed=options.seed, device=options.device, progress=options.progress)
    result = train(model, train_rows, validation_rows, collate, mlm.mlm_loss, config, out_dir=checkpoints,
                   resume=resume, batch_sampler=buckets)
    accuracy = mlm.masked_accuracy(model, validation_rows, collate, options.batch_size)
    mean_pieces = sum(len(r["input_ids"]) for r in train_rows) / len(train_rows)
    meta = {
        "out": str(out), "data": data, "lines": {"train": len(training), "validation": len(validation)},
        "sentencepiece_vocab_size": len(tokenizer), "sentencepiece_model_type": options.spm_model_type,
        "parameters": sum(p.numel() for p in model.parameters()),
        "shape": model_shape(model.config),
        "whole_word": options.whole_word, "morpheme_tokenizer": options.morpheme_tokenizer if morphemes else None,
        "mask_prob": options.mask_prob, "steps": result.steps, "resumed_from": result.resumed_from,
        "epochs": round(result.steps / max(1, len(buckets)), 2), "epochs_planned": options.epochs,
        "batch_size": options.batch_size, "learning_rate": options.learning_rate, "warmup_steps": warmup,
        "seconds": result.seconds, "seconds_to_best": result.seconds_to_best, "best_step": result.best_step,
        "examples_per_second": result.examples_per_second,
        "tokens_per_second": round(result.examples_per_second * mean_pieces, 1),
        "device": result.device, "precision": result.precision, "best_validation_loss": result.best_validation_loss,
        "mlm_accuracy": round(accuracy, 4), "stopped_by": result.stopped_by,
        "peak_gpu_memory_mib": result.peak_gpu_memory_mib, "history": result.history,
    }
    if rank == 0:
        write_checkpoint(out, model.to("cpu"), tokenizer, spm_file, meta)
    return meta


def model_shape(config: Any) -> dict:
    """The ``BertShape`` fields of a ``BertConfig``."""
    return {"hidden_size": config.hidden_size, "layers": config.num_hidden_layers,
            "heads": config.num_attention_heads, "intermediate_size": config.intermediate_size,
            "max_length": config.max_position_embeddings, "dropout": config.hidden_dropout_prob}


def write_checkpoint(out: Path, model: Any, tokenizer: Any, spm_file: Path, meta: dict) -> None:
    """Write the folder's files into OUT/.partial, then move them into OUT with config.json last."""
    from training.plots import loss_curve_png

    partial = out / ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    save_checkpoint(partial, model, tokenizer)
    shutil.copy(spm_file, partial / SPM_FILE)
    (partial / "pretraining.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    loss_curve_png(meta["history"], partial / "loss_curve.png", title="BERT masked-LM pretraining")
    for name in sorted(os.listdir(partial), key=lambda n: n == "config.json"):
        os.replace(partial / name, out / name)
    partial.rmdir()

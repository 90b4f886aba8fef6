"""Fine-tuning throughput (examples/s): the project's trainer against Hugging Face ``Trainer``.

    python benchmarks/bert_finetune_throughput.py --pretrained DIR [--device cuda] [--steps 200]

Both fine-tune the same checkpoint (``AutoModelForSequenceClassification``) on the same rows, the
``--rows`` utterances drawn from the 3i4K training file, with the same batch size, learning rate, warm-up
and number of optimiser steps, padding each batch to its longest row, with no evaluation or
saving during the timed run. Precision follows the device: bf16 autocast on a GPU that supports
it in both (``bf16=True`` for ``Trainer``), fp32 on the CPU. The figure is optimiser steps ×
batch size / wall seconds of the training loop, after one warm-up run of each. Target (issue 4):
ours at least as fast as ``Trainer`` on the same GPU. ``Trainer`` needs the ``accelerate``
package, which the chatbot itself does not: ``pip install -r benchmarks/requirements-extra.txt``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.common import add_common_arguments, arguments_dict, data_file, emit, environment, log  # noqa: E402


def read_rows(path: Path, limit: int) -> list[tuple[str, int]]:
    """``limit`` (text, label) rows drawn at random (seed 0) from the 3i4K file (label TAB text)."""
    import random

    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip().isdigit():
            rows.append((parts[1].strip(), int(parts[0])))
    return random.Random(0).sample(rows, min(limit, len(rows)))


def ours(args, tokenizer, rows, device: str) -> float:
    import torch

    from chatbot.models.bert import load_model, pad_ids
    from chatbot.models.trainer import TrainConfig, train

    model = load_model(args.pretrained, "sequence_classification", num_labels=7)
    encoded = [(tokenizer(t, truncation=True, max_length=args.max_length)["input_ids"], y) for t, y in rows]

    def collate(batch):
        ids, mask = pad_ids([ids for ids, _ in batch], tokenizer.pad_token_id)
        return ids, mask, torch.tensor([y for _, y in batch])

    def loss_fn(net, batch, step):
        ids, mask, labels = batch
        return torch.nn.functional.cross_entropy(net(input_ids=ids, attention_mask=mask).logits.float(), labels)

    epochs = -(-args.steps * args.batch_size // len(encoded))
    config = TrainConfig(epochs=epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                         warmup_steps=args.warmup, patience=10**6, checkpoint_every=0, device=device, progress=False,
                         eval_every=10**9, seed=0)
    started = time.perf_counter()
    result = train(model, encoded, encoded[:args.batch_size], collate, loss_fn, config)
    seconds = time.perf_counter() - started
    return result.steps * args.batch_size / seconds


def hf_trainer(args, tokenizer, rows, device: str) -> float:
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from chatbot.models.bert import load_model

    model = load_model(args.pretrained, "sequence_classification", num_labels=7)
    dataset = [{**tokenizer(t, truncation=True, max_length=args.max_length), "labels": y} for t, y in rows]
    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    with tempfile.TemporaryDirectory(prefix="hf-trainer-") as tmp:
        training_args = TrainingArguments(
            output_dir=tmp, per_device_train_batch_size=args.batch_size, learning_rate=args.learning_rate,
            warmup_steps=args.warmup, max_steps=args.steps, weight_decay=0.01, max_grad_norm=1.0,
            lr_scheduler_type="linear", save_strategy="no", eval_strategy="no", logging_strategy="no",
            report_to=[], bf16=bf16, use_cpu=device == "cpu", dataloader_num_workers=0, seed=0,
            disable_tqdm=True)
        trainer = Trainer(model=model, args=training_args, train_dataset=dataset,
                          data_collator=DataCollatorWithPadding(tokenizer))
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
    return args.steps * args.batch_size / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--pretrained", required=True)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()
    from chatbot.models.bert import load_tokenizer

    rows = read_rows(data_file(args.data_dir, "3i4k/fci_train_val.txt"), args.rows)
    tokenizer = load_tokenizer(args.pretrained)
    figures = {}
    for name, run in (("ours", ours), ("hf_trainer", hf_trainer)):
        run(argparse.Namespace(**{**vars(args), "steps": max(5, args.steps // 10)}), tokenizer, rows, args.device)
        figures[name] = round(run(args, tokenizer, rows, args.device), 1)
        log(f"{name}: {figures[name]} examples/s")
    emit({"benchmark": "bert_finetune_throughput", "examples_per_second": figures,
          "ratio_ours_to_trainer": round(figures["ours"] / figures["hf_trainer"], 3),
          "rows": len(rows), "params": arguments_dict(args),
          "environment": environment(["torch", "transformers", "accelerate"])}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

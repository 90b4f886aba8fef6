"""``python -m chatbot train-vision``'s arguments, kept apart from the training code so that building
the command line does not import torch and torchvision (seconds) for every other sub-command."""

from __future__ import annotations

import argparse
import json
import sys

from training.cli_support import minutes

ARCHITECTURE_NAMES = ("lenet", "resnet", "resnet18")  # chatbot.vision.classifier.ARCHITECTURES (tested)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-vision`` to the chatbot CLI."""
    parser = subparsers.add_parser(
        "train-vision", help="train an image classifier for the /image chat command",
        description="Train an image classifier: digits, mnist:DIR, fashion-mnist:DIR, cifar10:DIR or an image "
                    "folder (one subfolder per class). Writes weights, labels.json (Korean labels, editable), "
                    "report.json and confusion_matrix.png.")
    parser.add_argument("--data", required=True, metavar="SPEC",
                        help="digits | mnist:DIR | fashion-mnist:DIR | cifar10:DIR | an image folder")
    parser.add_argument("--out", required=True, help="model directory to write")
    parser.add_argument("--model", dest="arch", choices=ARCHITECTURE_NAMES, default=None,
                        help="lenet, resnet (small, from scratch) or resnet18 (default: by data; resnet18 with "
                             "--pretrained)")
    parser.add_argument("--pretrained", default=None, metavar="PATH",
                        help="torchvision ResNet-18 ImageNet weights (.pth) for transfer learning")
    parser.add_argument("--finetune", choices=("all", "head"), default="all",
                        help="with --pretrained: fine-tune every layer (all) or train the new head only (head)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", dest="learning_rate", type=float, default=2e-3)
    parser.add_argument("--image-size", type=int, default=None, help="model input side in pixels")
    parser.add_argument("--no-flip", dest="flip", action="store_false", default=None,
                        help="no horizontal flips in augmentation (for pictures whose mirror image is another class)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--time-budget", type=minutes, default=None, metavar="MINUTES")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-fraction", type=float, default=0.2,
                        help="held-out share when the data has no test split of its own (default 0.2)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints")
    parser.add_argument("--workers", dest="num_workers", type=int, default=0,
                        help="DataLoader worker processes for decoding and augmenting images")
    parser.set_defaults(func=run_train_vision)


def run_train_vision(args: argparse.Namespace) -> int:
    from training.vision import train_vision

    options = {k: getattr(args, k) for k in ("arch", "pretrained", "finetune", "epochs", "batch_size",
                                              "learning_rate", "image_size", "flip", "device", "time_budget",
                                              "seed", "test_fraction", "resume", "num_workers")}
    report = train_vision(args.data, args.out, **options)
    brief = {**report, "held_out": {k: v for k, v in report["held_out"].items() if k != "per_class"}}
    print(json.dumps(brief, ensure_ascii=False, indent=2))
    print(f"wrote {args.out}: model.safetensors, vision.json, labels.json, report.json, confusion_matrix.png",
          file=sys.stderr)
    return 0

"""``python -m chatbot promote``: put a trained model live (or go back to the previous one) atomically."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from webui import settings
from webui.releases import DEFAULT_KEEP, ReleaseError, list_releases, promote, rollback


def register(subparsers: Any) -> None:
    """Add ``promote`` to the ``python -m chatbot`` argument parser."""
    parser = subparsers.add_parser(
        "promote",
        help="put a trained model live: validate, copy into models/releases/, swap the served link",
        description="Validate NEW_MODEL_DIR (it must load), copy it into a release folder next to the served "
        "path and point the served path at it with an atomic symlink swap. Running servers pick it up "
        "within CHATBOT_MODEL_CHECK_SECONDS (default 2 s), without dropping requests.",
    )
    parser.add_argument("new_model", nargs="?", metavar="NEW_MODEL_DIR",
                        help="model directory written by `python -m chatbot train --out`")
    parser.add_argument("--model", metavar="DIR",
                        help=f"the served model path (default: $CHATBOT_MODEL_DIR or {settings.SERVED_MODEL_DIR}, "
                             "inside $CHATBOT_SHARED_DIR when set)")
    parser.add_argument("--keep", type=int, default=DEFAULT_KEEP,
                        help=f"release folders to keep, the live one included (default: {DEFAULT_KEEP})")
    parser.add_argument("--rollback", action="store_true", help="go back to the release that was live before")
    parser.add_argument("--list", action="store_true", help="list the release folders, the live one marked")
    parser.set_defaults(func=run_promote)


def run_promote(args: argparse.Namespace) -> int:
    """Promote, roll back or list; one line of output, exit 2 with a one-line error when refused."""
    args.model = args.model or settings.served_model_dirs()["MODEL_DIR"]
    modes = sum((bool(args.new_model), args.rollback, args.list))
    if modes != 1:
        print("error: give NEW_MODEL_DIR, or --rollback, or --list", file=sys.stderr)
        return 2
    try:
        if args.list:
            for release in list_releases(args.model):
                print(("* " if release["live"] else "  ") + release["version"])
            return 0
        done = rollback(args.model, args.keep) if args.rollback else promote(args.new_model, args.model, args.keep)
    except ReleaseError as exc:
        print(f"error: {exc}; the live model is unchanged", file=sys.stderr)
        return 2
    except OSError as exc:  # permissions, a full disk: nothing was repointed unless the swap itself ran
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    what = "rolled back" if args.rollback else "promoted"
    pruned = f"; pruned {', '.join(done.pruned)}" if done.pruned else ""
    shown = os.path.relpath(done.release)
    shown = str(done.release) if shown.startswith("..") else shown
    print(f"{what} {args.model} -> {shown} (version {done.version}; "
          f"was {done.previous or 'nothing'}){pruned}")
    return 0

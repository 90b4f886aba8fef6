"""Wall time of training the default model from data/corpus (target: at most 15 s on 2 cores, search
included: issue 22; it was 10 s before the default searched its featurisation and classifier).

Runs ``python -m chatbot train --data data/corpus --out TMP`` as a user would, ``--repeat``
times, and reports the whole command's wall time and the trainer's own ``train_seconds``
(which leaves out interpreter start-up and imports).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.common import REPO_ROOT, add_common_arguments, arguments_dict, emit, environment, log  # noqa: E402
from chatbot.model_dir import ModelDir  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_common_arguments(parser, data=False)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    walls, inner = [], []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="train-time-") as tmp:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "chatbot", "train", "--data", "data/corpus", "--out", f"{tmp}/m"],
                           cwd=REPO_ROOT, check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
            inner.append(ModelDir(Path(tmp) / "m").read_meta()["train_seconds"])
        log(f"run {i + 1}: command {walls[-1]:.2f} s, train_model {inner[-1]:.2f} s")
    emit({"benchmark": "train_time_default", "command_seconds": [round(w, 2) for w in walls],
          "command_median_seconds": round(statistics.median(walls), 2),
          "train_model_median_seconds": round(statistics.median(inner), 2), "target_seconds": 15,
          "met": statistics.median(walls) <= 15, "params": arguments_dict(args),
          "environment": environment(["kiwipiepy"])}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

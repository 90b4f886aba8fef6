"""CPU reply latency of the seq2seq network: one question, beam search, worst-case length.

    python benchmarks/seq2seq_latency.py [--beam-width 4] [--max-length 40] [--repeat 50]

The network has the seq2seq responder's default size (vocabulary 4,000, embeddings and hidden
256, 2 layers, GRU, Bahdanau attention). Its weights are random and end-of-reply is masked, so
every reply runs to ``--max-length`` decoding steps: an upper bound on the latency of a trained
model with the same settings, which stops at its end token. Threads: torch's default.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import torch  # noqa: E402

from benchmarks.common import add_common_arguments, arguments_dict, emit, environment  # noqa: E402
from chatbot.models.decoding import DecodeOptions, beam_search  # noqa: E402
from chatbot.models.seq2seq import EOS, Seq2Seq, Seq2SeqConfig  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, data=False)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=40)
    parser.add_argument("--source-length", type=int, default=12, help="question length in subword pieces")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(vocab_size=4000)).eval()
    with torch.no_grad():
        model.decoder.out.bias[EOS] = -1e4  # never end early: the worst case
    source = torch.randint(4, 4000, (1, args.source_length))
    lengths = torch.tensor([args.source_length])
    options = DecodeOptions(method="beam", beam_width=args.beam_width, max_length=args.max_length)
    timings = []
    with torch.inference_mode():
        for i in range(args.repeat + 3):
            started = time.perf_counter()
            ids = beam_search(model, source, lengths, options)
            if i >= 3:  # warm-up
                timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    result = {
        "benchmark": "seq2seq_cpu_reply_latency",
        "tokens_generated": len(ids),
        "median_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 2),
        "target_ms": 50,
        "torch_threads": torch.get_num_threads(),
        "params": arguments_dict(args),
        "environment": environment(["torch"]),
    }
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

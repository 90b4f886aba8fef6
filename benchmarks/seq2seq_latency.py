"""CPU reply latency of the seq2seq network: one question, beam search.

    python benchmarks/seq2seq_latency.py --model models/DIR [--beam-width 4] [--repeat 3]
    python benchmarks/seq2seq_latency.py [--beam-width 4] [--max-length 40] [--repeat 50]

With ``--model`` (a trained model directory with a seq2seq or hybrid responder), every question
of ``--questions`` (default: the Korean probes below, typos and slang included) is answered
``--repeat`` times through ``generate`` (subword encoding, beam search, decoding to text) and the
median and p95 over all replies are reported: the target's figure (issue 3: <= 50 ms, 2 cores).

Without ``--model``, the network has the seq2seq responder's default size and architecture (read
from its defaults: vocabulary, embedding and hidden sizes, layers, cell, attention, input
feeding). Its weights are random and end-of-reply is masked, so
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
from chatbot.responders.seq2seq_responder import Seq2SeqResponder  # noqa: E402

PROBES = ["안녕하세요", "오늘 너무 피곤하다 ㅠㅠ", "헤어진 지 한 달 됐는데 아직도 생각나", "주말에 뭐 하지?",
          "짝사랑하는 사람한테 고백할까 말까", "배고픈데 뭐 먹을까", "요즘 일이 너무 많아서 힘들어", "ㅋㅋㅋ 심심햌ㅋ",
          "시험 망한거 같아", "커피 마시고 싶다"]


def trained_latency(model_dir: Path, questions: list[str], repeat: int, beam_width: int) -> dict:
    """Reply latency of a trained responder's ``generate`` on single questions."""
    from chatbot.pipeline import Pipeline

    pipeline = Pipeline.load(model_dir)
    responder = next(c for c in pipeline.components if hasattr(c, "generate"))
    responder.params["decode"] = {**responder.params["decode"], "method": "beam", "beam_width": beam_width}
    timings, lengths, replies = [], [], {}
    with torch.inference_mode():
        responder.generate(questions[:1])  # warm-up
        for _ in range(repeat):
            for question in questions:
                started = time.perf_counter()
                reply = responder.generate([question])[0]
                timings.append((time.perf_counter() - started) * 1000)
                lengths.append(len(responder.vocab_.encode(reply)))
                replies[question] = reply
    return {"timings": timings, "mean_reply_pieces": round(statistics.fmean(lengths), 1), "replies": replies,
            "decode": responder.params["decode"], "responder": responder.name}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, data=False)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=40)
    parser.add_argument("--source-length", type=int, default=12, help="question length in subword pieces")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--model", type=Path, help="a trained model directory (seq2seq or hybrid responder)")
    parser.add_argument("--questions", nargs="+", default=PROBES)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model:
        measured = trained_latency(args.model, args.questions, args.repeat, args.beam_width)
        timings = sorted(measured.pop("timings"))
        result = {"benchmark": "seq2seq_cpu_reply_latency_trained", "replies_timed": len(timings),
                  "median_ms": round(statistics.median(timings), 2),
                  "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 2), "max_ms": round(timings[-1], 2),
                  "target_ms": 50, "torch_threads": torch.get_num_threads(), **measured,
                  "params": arguments_dict(args), "environment": environment(["torch"])}
        emit(result, args.out)
        return 0
    torch.manual_seed(0)
    defaults = Seq2SeqResponder.defaults
    config = Seq2SeqConfig(vocab_size=defaults["vocab_size"], **{k: defaults[k] for k in (
        "embedding_size", "hidden_size", "layers", "cell", "attention", "shared_embeddings", "input_feeding")})
    model = Seq2Seq(config).eval()
    with torch.no_grad():
        model.decoder.out.bias[EOS] = -1e4  # never end early: the worst case
    source = torch.randint(4, config.vocab_size, (1, args.source_length))
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
        "network": config.to_dict(),
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

"""CPU sentence-encoding latency of a BERT encoder, fp32 and dynamic int8.

    python benchmarks/bert_latency.py --model DIR [--threads 2] [--repeat 20]
    python benchmarks/bert_latency.py [--hidden-size 256 --layers 4 --heads 4 --intermediate-size 1024]

Each probe sentence (Korean, typos and slang included) is encoded alone ``--repeat`` times through
``SentenceEncoder.encode`` (tokenizer, encoder, mean pooling, normalisation): the serving path of
the selector and the embedder, one message at a time. Median and p95 over all encodings are
reported for the fp32 model and for the same model after ``torch.ao.quantization.quantize_dynamic``
(int8 weights for the Linear layers), with the cosine agreement between the two sets of vectors.

With ``--model`` (a checkpoint folder: ``chatbot pretrain`` output, a selector's ``encoder/``, or
any BERT-family checkpoint) its weights and tokenizer are used. Without it, a randomly initialised
BERT of the given size with a SentencePiece tokenizer trained on the probes: latency depends on
the size and the sentence length, not on the weights. Target (issue 4): <= 20 ms per sentence for
the serving-size model on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.common import add_common_arguments, arguments_dict, emit, environment  # noqa: E402
from chatbot.models.sentence_encoder import SentenceEncoder  # noqa: E402

PROBES = ["안녕하세요", "오늘 너무 피곤하다 ㅠㅠ", "헤어진 지 한 달 됐는데 아직도 생각나", "주말에 뭐 하지?",
          "짝사랑하는 사람한테 고백할까 말까", "배고픈데 뭐 먹을까", "요즘 일이 너무 많아서 힘들어", "ㅋㅋㅋ 심심햌ㅋ",
          "시험 망한거 같아", "내일 중요한 발표가 있는데 준비를 하나도 못 해서 너무 걱정돼요. 어떻게 하면 좋을까요?"]


def random_encoder(args: argparse.Namespace, folder: Path) -> SentenceEncoder:
    """A random BERT of the asked size, saved and loaded like a real checkpoint."""
    from transformers import BertConfig, BertModel

    from chatbot.models.bert import spm_tokenizer
    from training.pretrain import train_sentencepiece

    train_sentencepiece(PROBES * 20, folder / "spiece.model", 300, threads=1)
    tokenizer = spm_tokenizer(folder / "spiece.model")
    tokenizer.save_pretrained(folder)
    config = BertConfig(vocab_size=args.vocab_size, hidden_size=args.hidden_size, num_hidden_layers=args.layers,
                        num_attention_heads=args.heads, intermediate_size=args.intermediate_size,
                        max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id)
    BertModel(config).save_pretrained(folder)
    return SentenceEncoder.from_pretrained(folder, args.max_length)


def timings(encoder: SentenceEncoder, repeat: int) -> tuple[list[float], np.ndarray]:
    encoder.encode(PROBES[:2])  # warm-up
    times = []
    for _ in range(repeat):
        for probe in PROBES:
            started = time.perf_counter()
            encoder.encode([probe])
            times.append((time.perf_counter() - started) * 1000)
    return times, encoder.encode(PROBES)


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return {"median_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2),
            "max_ms": round(ordered[-1], 2), "encodings": len(ordered)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, data=False)
    parser.add_argument("--model", type=Path, help="checkpoint folder (default: a random BERT of the size below)")
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--intermediate-size", type=int, default=1024)
    parser.add_argument("--vocab-size", type=int, default=8000, help="embedding rows of the random model")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bert-latency-") as tmp:
        encoder = SentenceEncoder.from_pretrained(args.model, args.max_length) if args.model \
            else random_encoder(args, Path(tmp))
        fp32, vectors = timings(encoder, args.repeat)
        encoder.model = torch.ao.quantization.quantize_dynamic(encoder.model, {torch.nn.Linear}, dtype=torch.qint8)
        int8, quantized = timings(encoder, args.repeat)
    config = encoder.model.config
    result = {
        "benchmark": "bert_encoding_latency",
        "model": str(args.model) if args.model else "random BERT (size below)",
        "size": {"hidden_size": config.hidden_size, "layers": config.num_hidden_layers,
                 "heads": config.num_attention_heads, "intermediate_size": config.intermediate_size,
                 "vocab_size": config.vocab_size},
        "fp32": summary(fp32), "int8_dynamic": summary(int8),
        "int8_cosine_to_fp32": round(float(np.mean(np.sum(vectors * quantized, axis=1))), 4),
        "mean_pieces": round(statistics.fmean(len(encoder.ids(p)) for p in PROBES), 1),
        "threads": args.threads, "target_ms": 20,
        "params": arguments_dict(args), "environment": environment(["torch", "transformers"]),
    }
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What entity extraction adds to a reply: the pipeline's CPU time per message with and without its
entity stages, on the same trained model, in one process.

    python benchmarks/entity_latency.py --model models/default --repeats 5

Every message runs through the whole pipeline (``with``) and through the same pipeline with its
``EntityExtractor`` stages left out (``without``), alternately, so a busy moment of the machine falls on
both; the figure is the difference of the means, and each extractor's own time is reported beside it.
The messages are everyday chat written for this script, half of them with dates, places, food or numbers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import add_common_arguments, arguments_dict, emit, environment, log, markdown_table  # noqa: E402

from chatbot.entities import EntityExtractor  # noqa: E402
from chatbot.message import Message  # noqa: E402
from chatbot.pipeline import Pipeline  # noqa: E402

MESSAGES = [
    "안녕하세요", "오늘 너무 피곤하다", "점심 뭐 먹지?", "내일 부산 날씨 어때?", "3일 뒤는 무슨 요일이야?",
    "내일 오후 3시에 회의 있다고 알려줘", "다음 주 금요일에 서울 가", "김치찌개랑 라면 중에 뭐 먹을까",
    "커피 두 잔 주세요", "삼만 오천 원이면 비싼가", "고마워 잘 자", "요즘 일이 손에 안 잡혀",
    "저녁 7시부터 9시까지 운동했어", "크리스마스에 뭐 해?", "1.5킬로 빠졌어 ㅋㅋ", "너 이름이 뭐야",
    "제주도 여행 가고 싶다", "모레 아침 9시에 깨워줘", "주말에 영화 볼까", "ㅋㅋㅋㅋ 진짜 웃기다",
]


def timed(pipeline: Pipeline, text: str) -> float:
    started = time.perf_counter()
    pipeline.process(Message(text=text))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/default"), help="a trained model directory")
    parser.add_argument("--repeats", type=int, default=5, help="passes over the messages (default 5)")
    add_common_arguments(parser, data=False)
    args = parser.parse_args(argv)
    full = Pipeline.load(args.model)
    extractors = [(step["name"], c) for step, c in zip(full.steps, full.components, strict=True)
                  if isinstance(c, EntityExtractor)]
    if not extractors:
        log(f"error: {args.model} has no entity stages")
        return 2
    kept = [(s, c) for s, c in zip(full.steps, full.components, strict=True) if not isinstance(c, EntityExtractor)]
    bare = Pipeline([s for s, _ in kept], [c for _, c in kept])
    for text in MESSAGES:  # warm up dictionaries and caches
        timed(full, text), timed(bare, text)
    with_times, without_times = [], []
    own: dict[str, list[float]] = {name: [] for name, _ in extractors}
    found = 0
    for _ in range(args.repeats):
        for text in MESSAGES:
            with_times.append(timed(full, text))
            without_times.append(timed(bare, text))
            message = bare.process(Message(text=text))
            for name, component in extractors:
                started = time.perf_counter()
                component.process(message)
                own[name].append(time.perf_counter() - started)
            found += len(message.entities)
    ms = {"with": statistics.fmean(with_times) * 1000, "without": statistics.fmean(without_times) * 1000}
    added = ms["with"] - ms["without"]
    per_stage = {name: round(statistics.fmean(values) * 1000, 4) for name, values in own.items()}
    rows = [[name, f"{value:.3f}"] for name, value in per_stage.items()]
    rows += [["all entity stages (with - without)", f"{added:.3f}"]]
    table = markdown_table(["stage", "ms per message"], rows)
    log(f"\n{table}\n\npipeline with {ms['with']:.3f} ms, without {ms['without']:.3f} ms per message; "
        f"{found / args.repeats:.0f} entities found per pass over {len(MESSAGES)} messages")
    emit({"benchmark": "entity_latency", "parameters": arguments_dict(args), "environment": environment(),
          "messages": len(MESSAGES), "pipeline_ms": {k: round(v, 4) for k, v in ms.items()},
          "added_ms": round(added, 4), "stage_ms": per_stage,
          "entities_per_pass": found / args.repeats, "table_markdown": table}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared fixtures: the default model trained once per session, the bot on it, tiny corpora, and
PostgreSQL databases.

Training the full default model is the slowest thing the suite does, so it happens once
(``trained_model_dir``). Every other test that needs a trained model builds one from a tiny
corpus (``tiny_corpus``, ``tiny_model_dir``), which trains in a few seconds.

PostgreSQL: ``postgres_url`` is a fresh database on the server at ``TEST_POSTGRES_URL`` (default
127.0.0.1:5432, user postgres); tests that use it skip when no server answers, except under
``CI=true``, where they fail. ``database_uri`` is the web app's database for one test: SQLite, or
with ``TEST_DATABASE_URL`` set a fresh schema in that PostgreSQL database (``TEST_DATABASE_URL=
postgresql://postgres@127.0.0.1:5432/test pytest tests/webui`` runs the web suite on PostgreSQL).
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = REPO_ROOT / "data" / "corpus"

# Three small intents written for these tests: eight examples each, a description, responses
# (one with a template) and a question/answer pair per intent.
TINY_INTENTS: dict[str, dict] = {
    "greet": {
        "description": "인사하기",
        "examples": [
            "안녕하세요", "안녕", "반가워요", "하이 반가워", "좋은 아침이에요",
            "안녕 오랜만이야", "처음 뵙겠습니다", "안뇽 ㅎㅎ",
        ],
        "responses": ["안녕하세요! 반가워요.", "어서 오세요, 지금은 {time}이에요."],
        "pairs": [("잘 지냈어요?", "네, 덕분에 잘 지냈어요!")],
    },
    "weather": {
        "description": "날씨 이야기",
        "examples": [
            "오늘 날씨 어때", "비 온대?", "내일 눈 와요?", "밖에 많이 추워?",
            "날씨가 너무 덥다", "우산 챙겨야 해?", "바람 많이 불어요?", "하늘이 맑네요",
        ],
        "responses": ["날씨 이야기 좋아요.", "창밖을 한번 보시는 건 어때요?"],
        "pairs": [("비 오면 뭐 하지?", "비 오는 날엔 따뜻한 차 한 잔 어때요?")],
    },
    "food": {
        "description": "음식 이야기",
        "examples": [
            "배고파", "점심 뭐 먹지", "저녁 메뉴 추천해 줘", "김치찌개 먹고 싶다",
            "떡볶이 좋아해?", "라면 끓여 먹을까", "맛집 알려줘", "야식 땡긴다",
        ],
        "responses": ["맛있는 거 드세요!", "따끈한 국밥은 어때요?"],
        "pairs": [("매운 음식 추천해 줘", "매콤한 떡볶이는 어떠세요?")],
    },
}


# Entity markup the YAML form of the tiny corpus adds to some examples (the text once the markup is
# removed is the example as TINY_INTENTS has it; the tabular forms keep plain text), and a tiny lookup
# table with a synonym.
TINY_MARKUP: dict[str, str] = {
    "김치찌개 먹고 싶다": "[김치찌개](food) 먹고 싶다",
    "떡볶이 좋아해?": "[떡볶이](food) 좋아해?",
    "라면 끓여 먹을까": "[라면](food) 끓여 먹을까",
}
TINY_LOOKUPS: dict[str, dict[str, list[str]]] = {"region": {"서울": ["서울시"], "부산": []}}


def _yaml_scalar(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def write_tiny_corpus(directory: Path, fmt: str = "yaml", intents: list[str] | None = None,
                      name: str | None = None, ood: list[str] | tuple[str, ...] = ()) -> Path:
    """Write the tiny corpus (all or some ``intents``) as ``yaml``, ``csv``, ``tsv`` or ``jsonl``.

    The YAML form carries TINY_MARKUP's entity markup and TINY_LOOKUPS's table; the others plain text.

    ``ood`` adds rows labelled ``OOD`` (tabular formats only).
    """
    directory.mkdir(parents=True, exist_ok=True)
    chosen = {k: TINY_INTENTS[k] for k in (intents or TINY_INTENTS)}
    path = directory / (name or f"tiny.{fmt}")
    if fmt == "yaml":
        lines = ["version: 1", "intents:"]
        for intent, spec in chosen.items():
            lines += [f"  - intent: {intent}", f"    description: {_yaml_scalar(spec['description'])}",
                      "    examples:"]
            lines += [f"      - {_yaml_scalar(TINY_MARKUP.get(e, e))}" for e in spec["examples"]]
            lines.append("    responses:")
            lines += [f"      - {_yaml_scalar(r)}" for r in spec["responses"]]
            lines.append("    pairs:")
            for q, a in spec["pairs"]:
                lines += [f"      - q: {_yaml_scalar(q)}", f"        a: {_yaml_scalar(a)}"]
        lines.append("entities:")
        for type_, values in TINY_LOOKUPS.items():
            lines += [f"  - entity: {type_}", "    values:"]
            lines += [f"      - {_yaml_scalar(v)}: {json.dumps(synonyms, ensure_ascii=False)}" if synonyms
                      else f"      - {_yaml_scalar(v)}" for v, synonyms in values.items()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    rows = []
    for intent, spec in chosen.items():
        rows += [{"text": e, "intent": intent, "answer": ""} for e in spec["examples"]]
        rows += [{"text": q, "intent": intent, "answer": a} for q, a in spec["pairs"]]
    rows += [{"text": t, "intent": "OOD", "answer": ""} for t in ood]
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    elif fmt in ("csv", "tsv"):
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, ["text", "intent", "answer"], delimiter="\t" if fmt == "tsv" else ",")
            writer.writeheader()
            writer.writerows(rows)
    else:
        raise ValueError(f"unknown tiny corpus format {fmt!r}")
    return path


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Callable[..., Path]:
    """A factory: ``tiny_corpus(fmt="yaml", intents=None, name=None, ood=())`` writes a file in tmp_path."""

    def make(fmt: str = "yaml", intents: list[str] | None = None, name: str | None = None,
             ood: list[str] | tuple[str, ...] = ()) -> Path:
        return write_tiny_corpus(tmp_path / "corpus", fmt, intents, name, ood)

    return make


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained with the default config on the tiny YAML corpus (seconds, once per session)."""
    from training.train import train_model

    base = tmp_path_factory.mktemp("tiny_model")
    corpus = write_tiny_corpus(base / "corpus")
    out = base / "model"
    train_model([corpus], out)
    return out


@pytest.fixture(scope="session")
def tiny_hybrid_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled ``hybrid`` config with a tiny CPU network, trained on the tiny corpus."""
    pytest.importorskip("torch")
    from training.config import load_config
    from training.train import train_model

    base = tmp_path_factory.mktemp("tiny_hybrid")
    config = load_config("hybrid")
    config["pipeline"][-1]["params"] = {
        "vocab_size": 120, "embedding_size": 24, "hidden_size": 32, "layers": 1, "epochs": 8, "batch_size": 16,
        "progress": False, "seed": 0, "decode": {"method": "beam", "beam_width": 4, "max_length": 24}}
    out = base / "model"
    train_model([write_tiny_corpus(base / "corpus")], out, config, overrides={"device": "cpu"})
    return out


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default model trained from data/corpus, once per test session."""
    from training.train import train_model

    out = tmp_path_factory.mktemp("default_model") / "model"
    train_model([CORPUS_DIR], out)
    return out


@pytest.fixture(scope="session")
def bot(trained_model_dir: Path):
    """A ``Bot`` on the session's default model."""
    from chatbot.bot import Bot

    return Bot.load(trained_model_dir)


@pytest.fixture(scope="session")
def vision_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A digits image model trained for a few epochs (seconds): enough to be right on clear digits."""
    from training.vision import train_vision

    out = tmp_path_factory.mktemp("vision") / "digits"
    train_vision("digits", out, epochs=4, progress=False)
    return out


def draw_digit(digit: int, size: int = 280, stroke: int = 18, background: str = "white", ink: str = "black"):
    """A digit drawn thick with a TrueType font, as on the chat's drawing pad (an RGB picture)."""
    from matplotlib import font_manager
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), int(size * 0.7))
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((0, 0), str(digit), font=font, stroke_width=stroke // 3)
    position = ((size - (right - left)) // 2 - left, (size - (bottom - top)) // 2 - top)
    draw.text(position, str(digit), fill=ink, font=font, stroke_width=stroke // 3, stroke_fill=ink)
    return image


DEFAULT_TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def libpq_url(url: str, **changes: str) -> str:
    """``url`` (a SQLAlchemy or libpq URL) as a plain ``postgresql://`` URL that psycopg accepts, with
    ``changes`` to its parts (``database=...``)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql", **changes)
    return parsed.render_as_string(hide_password=False)


def connect_postgres(url: str):
    """An autocommit psycopg connection to ``url``, or a skip (a failure under ``CI=true``) naming
    the server that did not answer."""
    import psycopg
    from sqlalchemy.engine import make_url

    try:
        return psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        where = make_url(url)
        reason = (f"no PostgreSQL server answers at {where.host or 'localhost'}:{where.port or 5432} "
                  f"(set TEST_POSTGRES_URL to use another): {str(exc).strip().splitlines()[0]}")
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs PostgreSQL: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database for this test session (``postgresql://`` URL),
    created through the server's ``postgres`` maintenance database and dropped at the end."""
    from psycopg import sql

    server = os.environ.get("TEST_POSTGRES_URL") or DEFAULT_TEST_POSTGRES_URL
    maintenance = libpq_url(server, database="postgres")
    name = f"chatbot_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with connect_postgres(maintenance) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield libpq_url(server, database=name)
    finally:
        with connect_postgres(maintenance) as conn:
            # FORCE: app engines of finished tests may still hold idle connections.
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def database_uri(tmp_path: Path) -> Iterator[str]:
    """The web app's database for one test: a SQLite file in tmp_path, or, when ``TEST_DATABASE_URL``
    names a PostgreSQL database, a fresh schema there (its own ``search_path``), dropped afterwards."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    from psycopg import sql
    from sqlalchemy.engine import make_url

    schema = f"test_{uuid.uuid4().hex[:16]}"
    with connect_postgres(url) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    # libpq parameters in the query string: the app's connections see only this test's schema, and
    # are found by their application_name afterwards.
    query = {"options": f"-csearch_path={schema}", "application_name": schema}
    try:
        yield make_url(url).update_query_dict(query).render_as_string(hide_password=False)
    finally:
        with connect_postgres(url) as conn:
            # Close the app's pooled connections (nothing else would until garbage collection), then drop.
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                         (schema,))
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))

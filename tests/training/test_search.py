"""The default training's search over featurisations and classifiers, and its fallback folds (training/search.py,
training/fallback_cv.py)."""

from __future__ import annotations

import itertools
import json
import random

import pytest
import yaml

from chatbot.message import Message, TrainingData
from chatbot.model_dir import ModelDir
from chatbot.pipeline import Pipeline
from training import search
from training.config import load_config
from training.search import CLASSIFIERS, DEFAULTS, FEATURISATIONS, run_search
from training.train import train_model

PLACES = ["서울", "부산", "대구", "광주", "대전", "울산", "수원", "전주", "강릉", "제주", "춘천", "포항"]


def particle_corpus() -> list[Message]:
    """Two intents told apart only by a particle: "서울에서 부산" (from) and "서울로 부산" (to). The
    place names are the same on both sides, so a featurisation that drops particles cannot separate them."""
    rows = []
    for a, b in itertools.permutations(PLACES[:8], 2):
        rows.append(Message(text=f"{a}에서 {b} 가는 기차", gold_intent="from"))
        rows.append(Message(text=f"{a}로 {b} 가는 기차", gold_intent="to"))
    return rows


# Word units alone (character n-grams weighted 0), so that the particle is seen only through the word units.
WORDS_ONLY = {"char_ngram_range": [1, 1], "char_weight": 0.0, "word_ngram_range": [1, 1], "edge_tokens": 0,
              "word_unit": "lemma"}


def default_steps() -> list[dict]:
    return [{"name": s["name"], "params": dict(s.get("params") or {})} for s in load_config("default")["pipeline"]]


def test_the_search_picks_the_featurisation_that_can_tell_the_intents_apart(monkeypatch):
    # The worse candidate comes first, so winning is not the first-of-equals rule.
    monkeypatch.setattr(search, "FEATURISATIONS", {"drops_particles": {**WORDS_ONLY, "drop_stopwords": True},
                                                   "keeps_particles": {**WORDS_ONLY, "drop_stopwords": False}})
    rows = particle_corpus()
    result = run_search(default_steps(), TrainingData(rows), rows, {**DEFAULTS, "budget_seconds": 600})
    assert result.chosen["featurisation"] == "keeps_particles"
    scores = {(r["featurisation"], r["classifier"]): r["macro_f1"] for r in result.table}
    assert min(v for (f, _), v in scores.items() if f == "keeps_particles") > 0.95
    assert max(v for (f, _), v in scores.items() if f == "drops_particles") < 0.8
    # every classifier with both featurisations
    assert len(result.table) == 2 * len(CLASSIFIERS)
    assert result.rows == len(rows) and result.folds == 3 and not result.skipped


class TenSecondClock:
    """Each reading is ten seconds after the one before: every featurisation 'takes' 10 s."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 10.0
        return self.now


@pytest.mark.parametrize(("budget", "evaluated"), [(25, 1), (55, 2)])
def test_the_search_starts_no_featurisation_that_would_end_past_the_budget(budget, evaluated):
    rows = particle_corpus()
    seen: list[str] = []
    result = run_search(default_steps(), TrainingData(rows), rows, {**DEFAULTS, "budget_seconds": budget},
                        clock=TenSecondClock(), progress=seen.append)
    # start at 0; the n-th featurisation is checked at 30n - 20 and would end 10 s after that reading
    done = list(dict.fromkeys(r["featurisation"] for r in result.table))
    assert done == list(FEATURISATIONS)[:evaluated]
    assert len(seen) == search.planned(DEFAULTS)  # a skipped step is still reported: the bar ends where planned
    assert sum("skipped (budget)" in s for s in seen) == search.planned(DEFAULTS) - evaluated
    assert result.skipped and result.chosen["featurisation"] in done


def test_the_chosen_candidate_is_recorded_and_reloaded(tiny_corpus, tmp_path):
    out = tmp_path / "model"
    meta = train_model([tiny_corpus("yaml")], out)
    chosen = meta["search"]["chosen"]
    assert chosen["featurisation"] in FEATURISATIONS and chosen["classifier"] in CLASSIFIERS
    assert {(r["featurisation"], r["classifier"]) for r in meta["search"]["table"]} >= {tuple(chosen.values())}
    saved = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert saved["search"] == json.loads(json.dumps(meta["search"]))
    report = json.loads((out / "evaluation" / "report.json").read_text(encoding="utf-8"))
    assert report["search"]["chosen"] == chosen
    assert saved["retrieval_matching"]["chosen"] == report["retrieval_matching"]["chosen"]  # the responder's own
    steps = {s["name"]: s["params"] for s in ModelDir(out).read_config()}
    for key, value in FEATURISATIONS[chosen["featurisation"]].items():
        assert steps["tfidf_featurizer"][key] == value
    model, params = CLASSIFIERS[chosen["classifier"]]
    assert steps["sklearn_intent_classifier"]["model"] == model
    assert steps["sklearn_intent_classifier"]["estimator_params"] == {model: params}
    pipeline = Pipeline.load(out)
    assert pipeline.find("sklearn_intent_classifier").model_ == model
    assert pipeline.process(Message(text="안녕하세요")).intent


def test_a_config_that_names_its_components_is_trained_as_written(tiny_corpus, tmp_path):
    config = load_config("default")
    del config["training"]["search"]
    meta = train_model([tiny_corpus("yaml")], tmp_path / "m", config)
    assert meta["search"] is None
    steps = {s["name"]: s["params"] for s in ModelDir(tmp_path / "m").read_config()}
    written = next(s["params"] for s in config["pipeline"] if s["name"] == "tfidf_featurizer")
    assert {k: steps["tfidf_featurizer"][k] for k in written} == written
    assert steps["sklearn_intent_classifier"]["model"] == "linear_svm"


def test_a_zero_search_budget_turns_the_search_off(tiny_corpus, tmp_path):
    meta = train_model([tiny_corpus("yaml")], tmp_path / "m", search_budget=0)
    assert meta["search"] is None
    with pytest.raises(ValueError, match="search-budget"):
        train_model([tiny_corpus("yaml")], tmp_path / "m2", search_budget=-1)


TOPICS = {
    "weather": (["날씨", "비", "눈", "바람", "기온"], ["어때", "알려줘", "궁금해", "어떨까"]),
    "food": (["점심", "저녁", "메뉴", "간식", "야식"], ["추천해줘", "뭐 먹지", "골라줘", "정해줘"]),
    "music": (["노래", "음악", "가수", "앨범", "플레이리스트"], ["틀어줘", "들려줘", "추천해줘", "찾아줘"]),
    "travel": (["여행", "휴가", "숙소", "비행기", "기차"], ["예약해줘", "알아봐줘", "찾아줘", "계획 세워줘"]),
}
WHEN = ["오늘", "내일", "주말", "이번 주", "다음 주", "지금", "저녁에", "아침에"]


WHO = ["민수", "지영", "철수", "영희", "하늘", "보람", "다은", "준호", "서연", "도윤", "하린", "시우", "유나",
       "지호", "수아", "은우", "채원", "현우", "예린", "건우"]
EXTRA = ["좀", "빨리", "혹시", "그냥", "제발", "꼭", "한번", "다시", "얼른", "살짝"]


def topic_rows(rng: random.Random, n: int) -> list[dict[str, str]]:
    """Rows of four topics; names and filler words make most sentences distinct, as real ones are."""
    rows = []
    for _ in range(n):
        intent = rng.choice(sorted(TOPICS))
        nouns, verbs = TOPICS[intent]
        words = [rng.choice(WHEN), f"{rng.choice(WHO)}랑", rng.choice(nouns), rng.choice(EXTRA), rng.choice(verbs)]
        rows.append({"text": " ".join(w for w in words if rng.random() < 0.8 or w in nouns + verbs),
                     "intent": intent})
    return rows


def test_fallback_thresholds_from_folds_keep_the_target_on_new_messages(tmp_path):
    """Train on two folds of three in turn; on the fold held out each time (messages the model never saw) the
    share of in-domain messages kept is at least target_kept less one point. It may be more: the final model
    has seen more rows than the folds that set its thresholds, so new text looks more familiar to it than the
    folds' held-out rows did to them (training/fallback_cv.py)."""
    config = {"pipeline": [{"name": "normalizer"}, {"name": "tokenizer"}, {"name": "lemmatizer"},
                           {"name": "stopwords"}, {"name": "tfidf_featurizer"},
                           {"name": "sklearn_intent_classifier", "params": {"model": "linear_svm"}},
                           {"name": "fallback_detector", "params": {"target_kept": 0.95, "threshold_folds": 3}}],
              "training": {"validation_split": 0.15, "seed": 0}}
    rows = topic_rows(random.Random(7), 900)
    folds = [rows[i::3] for i in range(3)]
    kept = []
    for i, held in enumerate(folds):
        corpus = tmp_path / f"train{i}.yaml"
        train = [r for j, f in enumerate(folds) if j != i for r in f]
        by_intent: dict[str, list[str]] = {}
        for r in train:
            by_intent.setdefault(r["intent"], []).append(r["text"])
        intents = [{"intent": k, "examples": v} for k, v in by_intent.items()]
        corpus.write_text(yaml.safe_dump({"version": 1, "intents": intents}, allow_unicode=True), encoding="utf-8")
        meta = train_model([corpus], tmp_path / f"m{i}", config)
        tuning = meta["fallback"]
        assert tuning["out_of_fold_rows"] > 0 and tuning["folds"] == 3
        assert tuning["in_domain_kept"] == pytest.approx(0.95, abs=0.01)  # the target, on the rows that set it
        pipeline = Pipeline.load(tmp_path / f"m{i}")
        messages = pipeline.process_batch([Message(text=r["text"], gold_intent=r["intent"]) for r in held])
        kept.append(sum(not m.fallback for m in messages) / len(messages))
    assert all(k >= 0.95 - 0.01 for k in kept), kept


def test_without_a_validation_split_the_folds_alone_set_the_fallback_thresholds(tmp_path):
    """validation_split 0: no held-out fit, so the detector's thresholds come from the pooled folds only."""
    config = {"pipeline": [{"name": "normalizer"}, {"name": "tokenizer"}, {"name": "lemmatizer"},
                           {"name": "stopwords"}, {"name": "tfidf_featurizer"},
                           {"name": "sklearn_intent_classifier", "params": {"model": "linear_svm"}},
                           {"name": "fallback_detector", "params": {"target_kept": 0.95, "threshold_folds": 3}}],
              "training": {"validation_split": 0, "seed": 0}}
    by_intent: dict[str, list[str]] = {}
    for r in topic_rows(random.Random(11), 600):
        by_intent.setdefault(r["intent"], []).append(r["text"])
    corpus = tmp_path / "train.yaml"
    intents = [{"intent": k, "examples": v} for k, v in by_intent.items()]
    corpus.write_text(yaml.safe_dump({"version": 1, "intents": intents}, allow_unicode=True), encoding="utf-8")
    meta = train_model([corpus], tmp_path / "m", config)
    assert meta["fallback"]["folds"] == 3 and meta["fallback"]["out_of_fold_rows"] == 600
    assert meta["fallback"]["validation_rows"] == 0
    pipeline = Pipeline.load(tmp_path / "m")
    saved = next(s for s in pipeline.steps if s["name"] == "fallback_detector")["params"]
    assert 0 < saved["lm_quantile"] < 0.2  # the share the folds rejected, carried to the final model's scale
    new = topic_rows(random.Random(12), 300)
    messages = pipeline.process_batch([Message(text=r["text"], gold_intent=r["intent"]) for r in new])
    assert sum(not m.fallback for m in messages) / len(messages) >= 0.95 - 0.01


def test_the_default_target_depends_on_the_kind_of_corpus(tiny_corpus, tmp_path):
    """Intents: keep 99.5%; question/answer pairs (small talk): keep 99.9%."""
    meta = train_model([tiny_corpus("yaml")], tmp_path / "m")
    assert meta["fallback"]["target_kept"] == 0.995 and meta["fallback"]["corpus"] == "intents"
    pairs = tmp_path / "pairs.csv"
    rng = random.Random(3)
    lines = ["text,intent,answer"] + [f"{r['text']},{r['intent']},{r['intent']} 이야기 좋아요"
                                      for r in topic_rows(rng, 200)]
    pairs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = train_model([pairs], tmp_path / "p")
    assert meta["fallback"]["target_kept"] == 0.999 and meta["fallback"]["corpus"] == "pairs"


OUT_OF_DOMAIN = ["주식 시세 알려줘", "비트코인 얼마야", "축구 경기 결과 알려줘", "로또 번호 뭐야", "환율 얼마야",
                 "야구 점수 알려줘", "부동산 전망 어때", "코인 떡상 각?", "금값 올랐어?", "농구 누가 이겼어"]


def test_an_ood_corpus_reports_the_kept_and_caught_curve(tmp_path):
    corpus = tmp_path / "with_ood.csv"
    rows = topic_rows(random.Random(5), 300) + [{"text": t, "intent": "OOD"} for t in OUT_OF_DOMAIN * 2]
    corpus.write_text("text,intent\n" + "".join(f"{r['text']},{r['intent']}\n" for r in rows), encoding="utf-8")
    meta = train_model([corpus], tmp_path / "m")
    tuning = meta["fallback"]
    assert tuning["ood_caught"] is not None and tuning["validation_rows"] > 0
    curve = tuning["curve"]
    assert [p["target_kept"] for p in curve] == sorted(p["target_kept"] for p in curve)
    assert all(0 <= p["in_domain_kept"] <= 1 and 0 <= p["ood_caught"] <= 1 for p in curve)
    # the trade-off: keeping more in-domain messages never catches more out-of-domain ones
    caught = [p["ood_caught"] for p in curve]
    assert caught == sorted(caught, reverse=True)


def test_kiwi_analyses_each_distinct_sentence_once_in_a_training_run(tiny_corpus, tmp_path, monkeypatch):
    """The search, the fallback folds, the validation fit, tuning and the refit share one analysis of a sentence."""
    from chatbot.nlp.tokenizers import get_tokenizer

    kiwi = get_tokenizer("kiwi")
    seen: list[str] = []
    original = kiwi.tokenize_batch

    def counting(texts):
        texts = list(texts)
        seen.extend(texts)
        return original(texts)

    monkeypatch.setattr(kiwi, "tokenize_batch", counting)
    meta = train_model([tiny_corpus("yaml")], tmp_path / "m")
    assert meta["search"]["table"]  # the search analysed its rows, then the fits and tuning reused them
    assert seen and len(seen) == len(set(seen))
    train_model([tiny_corpus("yaml")], tmp_path / "m2")  # a new run starts a new cache: serving never keeps one
    assert len(seen) == 2 * len(set(seen))


@pytest.mark.parametrize(("second", "chosen"), [(0.8015, "first"), (0.8030, "second")])
def test_a_near_tie_goes_to_the_first_listed_candidate(monkeypatch, second, chosen):
    """Under search.TIE (0.002) apart the listed order wins: the default's featurisation, the lower C."""
    monkeypatch.setattr(search, "FEATURISATIONS", {"first": WORDS_ONLY, "second": WORDS_ONLY})
    monkeypatch.setattr(search, "CLASSIFIERS", {"svm": ("linear_svm", {})})
    values = iter([0.800, second])
    monkeypatch.setattr(search, "score", lambda *_: {"svm": {"macro_f1": next(values), "accuracy": 0.9}})
    rows = particle_corpus()
    result = run_search(default_steps(), TrainingData(rows), rows, {**DEFAULTS, "budget_seconds": 600})
    assert result.chosen == {"featurisation": chosen, "classifier": "svm"}

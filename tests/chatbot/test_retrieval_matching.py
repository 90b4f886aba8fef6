"""The retrieval responder's question matching: "auto" picks its featurisation by answer accuracy on
held-out pairs, "shared" is the pipeline's features as before, and the choice survives save/load and
absorb. The corpora are synthetic and tokenised by hand (no analyser): topics and filler words, so
that which matching must win is known in advance."""

from __future__ import annotations

import random

import numpy as np
import pytest
import scipy.sparse as sp

from chatbot.message import Message, Token, TrainingData
from chatbot.nlp.features import TfidfFeaturizer, stack_features
from chatbot.responders import matching as mt
from chatbot.responders.retrieval_responder import RetrievalResponder

TOPICS = ["사과", "바다", "축구", "기차", "고양이", "커피", "겨울", "시험", "여행", "음악", "영화", "우산",
          "김치", "병원", "회사", "친구", "생일", "운동", "도서관", "라면", "자전거", "봄꽃", "노트북", "감기"]
# Four phrasings made of function words: questions of one phrasing share these four words and their
# bigrams, questions on one topic share one content word.
STYLES = [["그런데", "혹시", "말이야", "정말"], ["아니", "그냥", "있잖아", "진짜"], ["저기", "근데", "혹시나", "음"],
          ["그러니까", "뭐랄까", "약간", "좀"]]
# Phrasings of words in the stopword list (chatbot/nlp/data/stopwords.txt), for the corpus that Kiwi analyses.
LISTED_STYLES = [["그리고", "그냥", "이거", "좀"], ["그래서", "막", "그거", "또"], ["하지만", "근데", "저거", "및"],
                 ["그러나", "이것", "그것", "저것"]]
# The shared features stand for the intent classifier's: word 1-2-grams with function words kept.
SHARED = {"word_ngram_range": [1, 2], "char_ngram_range": [1, 4], "drop_stopwords": False}


def message(words: list[str], stopwords: set[str], answer: str | None = None, intent: str = "chat") -> Message:
    text, tokens, start = " ".join(words), [], 0
    for word in words:
        tokens.append(Token(form=word, pos="NNG", start=start, end=start + len(word), lemma=word,
                            stopword=word in stopwords))
        start += len(word) + 1
    return Message(text=text, normalized=text, tokens=tokens, gold_intent=intent, gold_answer=answer)


def topic_corpus(per_topic: int = 8, seed: int = 0) -> list[Message]:
    """Each question is a topic word among a phrasing's filler words; its answer is the topic's."""
    rng = random.Random(seed)
    fillers = {w for style in STYLES for w in style}
    rows = []
    for topic in TOPICS:
        for _ in range(per_topic):
            words = list(rng.choice(STYLES))
            words.insert(rng.randrange(len(words) + 1), topic)
            rows.append(message(words, fillers, answer=f"{topic} 이야기라면 저도 좋아해요."))
    return rows


def with_shared_features(messages: list[Message], fitted_on: list[Message] | None = None) -> TfidfFeaturizer:
    featurizer = TfidfFeaturizer(**SHARED).fit(TrainingData(messages=fitted_on or messages))
    for m, row in zip(messages, featurizer.transform(messages), strict=True):
        m.features = row
    return featurizer


@pytest.fixture(scope="module")
def corpus() -> list[Message]:
    rows = topic_corpus()
    with_shared_features(rows)
    return rows


def test_auto_picks_content_lemmas_when_function_words_mislead(corpus):
    responder = RetrievalResponder().fit(TrainingData(messages=corpus))
    scores = responder.matching_scores_
    assert scores["held_out"] == round(0.15 * len(corpus)) and scores["pairs"] == len(corpus)
    table = scores["candidates"]
    assert set(table) == {"shared", *mt.CANDIDATES}
    # Dropping the function words finds the topic; keeping them (shared, lemmas+char) finds the phrasing.
    assert table["content_lemmas+char1-4"]["answer_accuracy"] >= 0.9
    assert table["shared"]["answer_accuracy"] <= 0.8
    assert table["lemmas+char1-4"]["answer_accuracy"] < table["content_lemmas+char1-4"]["answer_accuracy"]
    assert isinstance(responder.matching_, dict) and responder.matching_["drop_stopwords"] is True
    assert scores["chosen"] == mt.describe(responder.matching_) != "shared"
    assert responder.matcher_ is not None and responder.matcher_.params["drop_stopwords"] is True
    # The refit on all rows: a new phrasing of a known topic gets the topic's answer.
    fillers = {w for s in STYLES for w in s}
    probe = message(["저기", "겨울", "그냥", "말이야", "약간"], fillers)
    best, similarity = responder.nearest(probe)
    assert responder.answers_[best] == "겨울 이야기라면 저도 좋아해요." and 0 < similarity <= 1 + 1e-9
    # ``tune`` pins the choice, for training's refit on all the data.
    assert responder.tune([]) == {"matching": responder.matching_}


def test_auto_keeps_the_shared_features_when_they_know_better():
    """The shared features here encode the topic (as a classifier's features may), the words only noise."""
    rng = random.Random(1)
    noise = [f"말{i}" for i in range(40)]
    rows = []
    for t, topic in enumerate(TOPICS):
        for _ in range(8):
            m = message(rng.sample(noise, 4), set(), answer=f"{topic} 답이에요.")
            m.features = sp.csr_matrix(([1.0], ([0], [t])), shape=(1, len(TOPICS)))
            rows.append(m)
    responder = RetrievalResponder().fit(TrainingData(messages=rows))
    assert responder.matching_ == "shared" and responder.matcher_ is None
    table = responder.matching_scores_["candidates"]
    assert table["shared"]["answer_accuracy"] == 1.0
    assert max(v["answer_accuracy"] for k, v in table.items() if k != "shared") < 0.5
    assert (responder.questions_ != stack_features(rows)).nnz == 0


def test_auto_without_enough_pairs_is_shared_at_no_cost(corpus):
    intent_only = [Message(text=m.text, normalized=m.normalized, tokens=m.tokens, features=m.features,
                           gold_intent="chat") for m in corpus]
    few = intent_only[:-10] + corpus[-10:]  # ten pairs: too few to hold out MIN_HELD_OUT
    for rows in (intent_only, few):
        responder = RetrievalResponder().fit(TrainingData(messages=rows))
        assert responder.matching_ == "shared" and responder.matcher_ is None
        assert "candidates" not in responder.matching_scores_ and "too few" in responder.matching_scores_["reason"]
    assert responder.matching_scores_["pairs"] == 10


def test_shared_matching_is_the_old_behaviour(corpus):
    responder = RetrievalResponder(matching="shared").fit(TrainingData(messages=corpus))
    assert responder.matcher_ is None and responder.matching_scores_["chosen"] == "shared"
    assert (responder.questions_ != stack_features(corpus)).nnz == 0
    for m in corpus[:20]:
        sims = (responder.questions_ @ m.features.T).toarray().ravel()
        assert responder.nearest(m) == (int(np.argmax(sims)), float(sims.max()))
    # A model saved before ``matching`` existed has no matcher_ / matching_: it reads the shared features.
    old = RetrievalResponder(matching="shared").fit(TrainingData(messages=corpus))
    del old.matcher_, old.matching_, old.matching_scores_
    new_auto = RetrievalResponder()  # the default "auto" parameter, as an old pipeline.yaml's {} gives
    vars(new_auto).update(vars(old) | {"params": new_auto.params})
    assert new_auto.params["matching"] == "auto"
    assert [new_auto.nearest(m) for m in corpus[:20]] == [responder.nearest(m) for m in corpus[:20]]
    assert new_auto.tune([]) == {"matching": "shared"}


def test_explicit_matching_and_bad_values(corpus):
    params = {"word_ngram_range": [1, 1], "char_ngram_range": [2, 3], "drop_stopwords": True}
    responder = RetrievalResponder(matching=params).fit(TrainingData(messages=corpus))
    assert responder.matching_ == params and "candidates" not in responder.matching_scores_
    assert responder.matching_scores_["chosen"] == "custom"
    assert responder.matcher_.params["char_ngram_range"] == [2, 3]
    assert responder.questions_.shape == (len(corpus), responder.matcher_.transform(corpus[:1]).shape[1])
    assert responder.needs() == ("normalized", "tokens", "stopwords")  # no shared features needed
    assert RetrievalResponder().needs() == ("features",)
    with pytest.raises(ValueError, match="matching must be"):
        RetrievalResponder(matching="lemmas").fit(TrainingData(messages=corpus))
    with pytest.raises(ValueError, match="unknown parameter"):
        RetrievalResponder(matching={"ngrams": 3}).fit(TrainingData(messages=corpus))


def test_save_and_load_keep_the_matching(corpus, tmp_path):
    responder = RetrievalResponder().fit(TrainingData(messages=corpus))
    probes = corpus[::7]
    before = [responder.nearest(m) for m in probes]  # builds the featurizer's serving caches
    responder.save(tmp_path)
    loaded = RetrievalResponder.load(tmp_path, {})
    assert loaded.matching_ == responder.matching_ and loaded.matching_scores_ == responder.matching_scores_
    assert loaded.matcher_.params == responder.matcher_.params
    assert not hasattr(loaded.matcher_, "_analyzers")  # caches are not saved
    stripped = [Message(text=m.text, normalized=m.normalized, tokens=m.tokens) for m in probes]
    assert [loaded.nearest(m) for m in stripped] == before  # its own featurizer: no shared features needed
    # Pickled whole inside another component (the hybrid responder keeps one): no caches either.
    import pickle

    responder.nearest_batch(probes)
    state = pickle.loads(pickle.dumps(responder)).__dict__
    assert "_questions_t_cache" not in state and not hasattr(state["matcher_"], "_analyzers")


def test_absorb_transforms_new_rows_with_its_own_featurizer(corpus):
    responder = RetrievalResponder(matching=mt.CANDIDATES["content_lemmas+char1-4"]).fit(
        TrainingData(messages=corpus))
    size = responder.questions_.shape[0]
    new = message(["그런데", "해바라기", "정말"], {"그런데", "정말"}, answer="해바라기는 여름 꽃이에요.")
    assert new.features is None  # validation rows may come without the shared features: not needed here
    assert responder.absorb([new, message(["OOD", "말"], set(), intent="OOD")]) == 1
    assert responder.questions_.shape[0] == size + 1
    expected = responder.matcher_.transform([new])
    assert abs(responder.questions_[size] - expected).max() == 0
    best, similarity = responder.nearest(message(["해바라기", "좀"], {"좀"}))
    assert (best, responder.answers_[best]) == (size, "해바라기는 여름 꽃이에요.") and similarity > 0.5
    # The batch path sees the grown index too (its transposed copy is rebuilt).
    probes = [message(["해바라기"], set()), corpus[0]]
    assert responder.nearest_batch(probes)[0][0] == size
    # Shared matching still needs the features: a row without them is skipped, as before.
    shared = RetrievalResponder(matching="shared").fit(TrainingData(messages=corpus))
    assert shared.absorb([new]) == 0


def test_batch_replies_equal_one_message_replies(corpus):
    """Random draws (intent responses, fallback suggestions) come in the same order as one at a time."""
    data = TrainingData(messages=corpus, responses={"other": ["하나요.", "둘이요.", "셋이요.", "넷이요."]},
                        descriptions={"chat": "잡담"})
    responder = RetrievalResponder(seed=3, response_overlap=0).fit(data)
    fillers = {w for s in STYLES for w in s}
    probes = [message([w, *STYLES[i % 4]], fillers) for i, w in enumerate(TOPICS)]
    for p in probes:
        p.intent = "chat"
    for i in range(6):  # far from every question, of an intent with responses: a random response each
        p = message([f"낯선{i}", "단어"], set())
        p.intent = "other"
        probes.insert(3 * i + 1, p)
    for i in (2, 9, 14):
        probes[i].fallback = True
    one = RetrievalResponder(seed=3, response_overlap=0)
    vars(one).update({k: v for k, v in vars(responder).items() if k != "params"})
    singles = [one.process(Message(**{**vars(p), "context": {}})) for p in probes]
    batch = responder.process_batch(probes)
    assert [m.reply for m in batch] == [m.reply for m in singles]
    assert [m.reply_source for m in batch] == [m.reply_source for m in singles]
    assert [m.context for m in batch] == [m.context for m in singles]
    sources = [m.reply_source for m in batch]
    assert sources.count("fallback") == 3 and sources.count("retrieval:intent") >= 4
    assert len({m.reply for m in batch if m.reply_source == "retrieval:intent"}) > 1  # drawn, not fixed
    best, sims = responder.nearest_batch(probes)
    assert [(int(b), float(s)) for b, s in zip(best, sims, strict=True)] == [responder.nearest(p) for p in probes]


def test_an_intent_only_corpus_answers_a_batch_without_searching_questions(corpus, monkeypatch):
    """No stored answers (3i4K): the nearest question could only lead to an intent response, so a batch
    skips the search and gives the replies one message at a time would."""
    rows = [Message(**{**vars(m), "gold_answer": None}) for m in corpus]
    for m in rows:
        m.gold_intent = "chat" if len(m.text) % 2 else "other"
    data = TrainingData(messages=rows, responses={"chat": ["응응.", "그렇구나."], "other": ["하나요.", "둘이요."]},
                        descriptions={"chat": "잡담", "other": "기타"})
    responder = RetrievalResponder(seed=3, response_overlap=0).fit(data)
    one = RetrievalResponder(seed=3, response_overlap=0)
    vars(one).update({k: v for k, v in vars(responder).items() if k != "params"})
    probes = [Message(**{**vars(m), "context": {}}) for m in rows[:12]]
    for p in probes:
        p.intent = p.gold_intent
    singles = [one.process(Message(**{**vars(p), "context": {}})) for p in probes]
    monkeypatch.setattr(responder, "nearest_batch", lambda *_: pytest.fail("searched an index without answers"))
    batch = responder.process_batch(probes)
    assert [m.reply for m in batch] == [m.reply for m in singles]
    assert {m.reply_source for m in batch} == {"retrieval:intent"}


def test_a_candidate_must_beat_the_shared_features_clearly():
    gold = [f"답 {i}번이에요." for i in range(60)]
    wrong = ["전혀 다른 말"] * 60

    def retrieve_with(extra_right: int):
        def retrieve(matching):  # shared gets 10 answers right; every candidate ``extra_right`` more
            right = 10 + (0 if matching == "shared" else extra_right)
            return gold[:right] + wrong[right:]
        return retrieve

    matching, summary = mt.choose(retrieve_with(1), gold)  # one more exact answer: z = 1, noise
    assert matching == "shared" and summary["chosen"] == "shared"
    assert summary["best"] == "content_lemmas+char1-3" and summary["gain_z"] < mt.MIN_GAIN_Z
    assert "not clearly better" in summary["note"]
    matching, summary = mt.choose(retrieve_with(6), gold)
    assert matching == mt.CANDIDATES["content_lemmas+char1-3"] and summary["gain_z"] >= mt.MIN_GAIN_Z
    assert summary["candidates"]["shared"]["answer_accuracy"] == round(10 / 60, 4)
    # Equal accuracy: the F1 decides, with the same guard.
    close = [g.replace("이에요.", "입니다") for g in gold]  # not the same answer, most bigrams shared
    matching, summary = mt.choose(lambda m: gold[:10] + (wrong if m == "shared" else close)[10:], gold)
    table = summary["candidates"]
    assert table["shared"]["answer_accuracy"] == table["lemmas+char1-4"]["answer_accuracy"]
    assert summary["chosen"] != "shared" and summary["gain_z"] >= mt.MIN_GAIN_Z


def test_bigram_f1_and_held_out_sizes():
    assert mt.bigram_f1("맛있게 드세요.", "맛있게 드세요.") == 1.0
    assert mt.bigram_f1("네", "네") == 1.0 and mt.bigram_f1("네", "아니") == 0.0
    assert 0 < mt.bigram_f1("맛있게 드세요.", "맛있는 거 드세요.") < 1
    assert len(mt.held_out_pairs(10_000, 0)) == 1500 and len(mt.held_out_pairs(100_000, 0)) == mt.MAX_HELD_OUT
    assert len(mt.held_out_pairs(100, 0)) == 0  # 15 held out < MIN_HELD_OUT
    assert list(mt.held_out_pairs(500, 4)) == list(mt.held_out_pairs(500, 4))  # seeded



@pytest.mark.parametrize("refit", [True, False])
def test_training_pins_the_choice_and_absorbs_with_it(tmp_path, refit):
    """Through ``train_model``: the validation fit chooses, ``tune`` pins the choice in the saved config,
    and without a refit the validation pairs join the index through the responder's own featurizer."""
    import csv

    from chatbot.bot import Bot
    from chatbot.model_dir import ModelDir
    from training.train import train_model

    rng = random.Random(2)
    corpus = tmp_path / "pairs.csv"
    with corpus.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "intent", "answer"])
        for t, topic in enumerate(TOPICS):
            for _ in range(8):
                words = list(rng.choice(LISTED_STYLES))
                words.insert(rng.randrange(len(words) + 1), topic)
                writer.writerow([" ".join(words), f"i{t % 3}", f"{topic} 이야기라면 저도 좋아해요."])
    config = {"pipeline": [
        {"name": "normalizer"}, {"name": "tokenizer"}, {"name": "lemmatizer"}, {"name": "stopwords"},
        {"name": "tfidf_featurizer"}, {"name": "sklearn_intent_classifier", "params": {"model": "logreg"}},
        {"name": "retrieval_responder"}], "training": {"validation_split": 0.15, "seed": 0, "refit": refit}}
    meta = train_model([corpus], tmp_path / "model", config)
    steps = ModelDir(tmp_path / "model").read_config()  # the saved pipeline.yaml
    pinned = steps[-1]["params"]["matching"]
    assert pinned in list(mt.CANDIDATES.values()) and pinned["drop_stopwords"] is True  # the topic words win
    responder = Bot.load(tmp_path / "model").pipeline.find("retrieval_responder")
    assert responder.matching_ == pinned and responder.matcher_.params == {**TfidfFeaturizer.defaults, **pinned}
    assert responder.questions_.shape[0] == len(TOPICS) * 8  # every row indexed, absorbed or refitted
    assert meta["absorbed_rows"] == (0 if refit else meta["validation"]["rows"])
    assert responder.questions_.shape[1] == responder.matcher_.transform_one(Message(text="x", normalized="x")).shape[1]

"""The trainer console's account of the default training's choices: the cross-validated candidates (best first,
the chosen one marked) and how the fallback thresholds were set, read from the model's report.json."""

from __future__ import annotations

from tests.webui.test_webui_trainer_entities import ROWS, evaluation, job_page, section

INTENT = {"accuracy": 0.9, "macro_f1": 0.88, "per_class": {}}
SEARCH = {"chosen": {"featurisation": "lemma_pos_edges", "classifier": "svm_c1_sqrt"}, "rows": 8000, "folds": 3,
          "seconds": 41.25, "budget_seconds": 60.0, "skipped": ["lemma_pos_edges_char2_5 × svm_c1_none"],
          "table": [{"featurisation": "lemma_bigrams", "classifier": "svm_c1_sqrt", "macro_f1": 0.71, "accuracy": 0.83,
                     "label": "기본형 1~2그램 + 글자 1~4그램 · 선형 SVM (C 1, 완만한 클래스 균형)"},
                    {"featurisation": "lemma_pos_edges", "classifier": "svm_c1_sqrt", "macro_f1": 0.74,
                     "accuracy": 0.85, "label": "기본형/품사 · <선형 SVM>"},
                    {"featurisation": "content_lemmas", "classifier": "svm_c1_none", "macro_f1": "broken"}]}
TUNING = {"target_kept": 0.995, "corpus": "intents", "rows": 9000, "validation_rows": 1000,
          "out_of_fold_rows": 8000, "folds": 3, "in_domain_kept": 0.9951, "ood_caught": 0.62,
          "curve": [{"target_kept": 0.99, "in_domain_kept": 0.9902, "ood_caught": 0.7},
                    {"target_kept": 0.995, "in_domain_kept": 0.9951, "ood_caught": 0.62}]}


def test_the_job_page_shows_the_search_table_best_first_and_the_fallback_trade_off(make_app, tmp_path, tiny_model_dir):
    report = {"rows": 4, "intent": INTENT, "search": SEARCH, "fallback_tuning": TUNING}
    page = job_page(make_app, tmp_path, tiny_model_dir, evaluation(report, ROWS[3:]))
    table = section(page, "search-table")
    best, other = table.index("기본형/품사 · &lt;선형 SVM&gt; <strong>(선택)</strong>"), table.index("기본형 1~2그램")
    assert best < other  # best first, the label escaped, the chosen row marked
    assert "<td>0.7400</td><td>0.8500</td>" in table and "broken" not in table  # a malformed row is left out
    lead = page[page.index('id="search-lead"'):]
    assert "8000행을 3겹 교차 검증" in lead and "41.2초" in lead and "1개는 건너뜀" in lead
    fallback = page[page.index('id="fallback-lead"'):]
    assert "99.5%에는" in fallback and "의도 말뭉치" in fallback and "문장 8000개" in fallback
    assert "0.6200를 걸러요" in fallback
    curve = section(page, "fallback-curve")
    assert '<th scope="row">0.990</th><td>0.9902</td><td>0.7000</td>' in curve


def test_a_config_that_did_not_search_shows_neither_section(make_app, tmp_path, tiny_model_dir):
    report = {"rows": 4, "intent": INTENT, "search": None, "fallback_tuning": "not a section"}
    page = job_page(make_app, tmp_path, tiny_model_dir, evaluation(report, ROWS[3:]))
    assert 'id="search-heading"' not in page and 'id="fallback-heading"' not in page

"""The trainer console in a real Chromium: upload a corpus, see its report, train, read the evaluation,
promote with one click, and browse feedback. Training runs for real (a subprocess on a small corpus)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import write_tiny_corpus
from tests.e2e.helpers import log_in, screenshot, send


def served_version(page: Any, base_url: str) -> str:
    return json.loads(page.evaluate("async u => (await fetch(u)).text()", base_url + "/healthz"))["model"]["version"]


def upload(page: Any, path: Path) -> None:
    page.set_input_files("#corpus-file", str(path))
    page.click("#upload-button")
    page.wait_for_load_state()


def test_a_user_without_the_role_cannot_open_the_console(page: Any, live_server: Any) -> None:
    log_in(page, live_server.url, *live_server.add_user("그냥사용자"))
    assert page.locator("a[href='/trainer']").count() == 0  # no link in the chat header
    response = page.goto(live_server.url + "/trainer")
    assert response.status == 403


def test_bad_corpus_report_names_the_line_and_blocks_training(page: Any, live_server: Any, tmp_path: Path) -> None:
    log_in(page, live_server.url, *live_server.add_user("검사하는트레이너", role="trainer"))
    bad = tmp_path / "bad.csv"
    bad.write_text("text,intent\n안녕,greet\n,greet\n잘가,bye\n", encoding="utf-8")
    page.goto(live_server.url + "/trainer")
    upload(page, bad)
    report = page.inner_text("main")
    assert "bad.csv" in report and "3" in report  # the empty text is on line 3
    assert page.locator("#train-button").count() == 0 or page.locator("#train-button").is_disabled()


def test_upload_train_evaluate_and_promote(page: Any, live_server: Any, tmp_path: Path) -> None:
    log_in(page, live_server.url, *live_server.add_user("학습시키는트레이너", role="trainer"))
    page.click("a[href='/trainer']")  # the header link leads to the console
    before = served_version(page, live_server.url)

    corpus = write_tiny_corpus(tmp_path, "csv")
    upload(page, corpus)
    assert "greet" in page.inner_text("main") and "weather" in page.inner_text("main")  # class counts
    screenshot(page, "trainer-corpus-report.png")
    page.click("#train-button")
    page.wait_for_selector("#job-progress")
    # The bar moves while the job runs, and the page reports done without a reload.
    page.wait_for_function("() => document.querySelector('#job-status').textContent.includes('완료')",
                           timeout=240_000)
    assert page.evaluate("() => document.querySelector('#job-progress').value") == page.evaluate(
        "() => document.querySelector('#job-progress').max")
    page.reload()
    accuracy = page.inner_text("#eval-accuracy")
    assert any(ch.isdigit() for ch in accuracy)
    page.wait_for_function("img => img.complete && img.naturalWidth > 100",
                           arg=page.locator("#confusion-matrix").element_handle())
    assert page.locator("#compare-table").count() == 1
    screenshot(page, "trainer-evaluation.png")

    page.click("#promote-button")
    page.wait_for_load_state()
    after = served_version(page, live_server.url)
    assert after != before
    # The chat now answers from the promoted model (trained on the tiny corpus only).
    page.goto(live_server.url + "/")
    assert send(page, "우산 챙겨야 해?").locator(".bubble").inner_text().strip()


def test_feedback_is_listed_and_exported(page: Any, live_server: Any) -> None:
    log_in(page, live_server.url, *live_server.add_user("피드백보는트레이너", role="trainer"))
    reply = send(page, "점심 뭐 먹지")
    thumbs_up = reply.locator(".feedback-button").first
    thumbs_up.click()
    page.wait_for_function("b => b.getAttribute('aria-pressed') === 'true'", arg=thumbs_up.element_handle())
    page.goto(live_server.url + "/trainer/feedback")
    assert "점심 뭐 먹지" in page.inner_text("#feedback-table")
    with page.expect_download() as download:
        page.click("#export-feedback")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "text,intent,answer" and "점심 뭐 먹지" in text

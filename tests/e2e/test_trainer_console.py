"""The trainer console in a real Chromium: upload a corpus, see its report, train, read the evaluation,
promote after confirming in a dialog, cancel a running job, delete a corpus, and browse feedback.
Training runs for real (a subprocess on a small corpus); the cancelled job runs a stand-in that waits."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_tiny_corpus
from tests.e2e.helpers import log_in, screenshot, send
from tests.webui.trainer_support import BUSY
from webui.trainer import jobs


def served_version(page: Any, base_url: str) -> str:
    return json.loads(page.evaluate("async u => (await fetch(u)).text()", base_url + "/healthz"))["model"]["version"]


def upload(page: Any, path: Path) -> None:
    page.set_input_files("#corpus-file", str(path))
    page.click("#upload-button")
    page.wait_for_load_state()


@pytest.fixture
def slow_training(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Jobs run a stand-in that reports a first step and waits; one still running at the end is cancelled,
    so that the next test can train."""
    monkeypatch.setitem(live_server.app.config, "TRAINER_TRAIN_COMMAND", [sys.executable, "-c", BUSY])
    yield
    with live_server.app.app_context():
        busy = jobs.active_job()
        if busy is not None:
            jobs.cancel_job(jobs.trainer_dir() / "jobs" / busy, "e2e")


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
    # The figure loads lazily, as a reader scrolls to it: Chromium may leave it unfetched while it is
    # far below the fold (a CI run timed out waiting for an image it never asked for).
    page.locator("#confusion-matrix").scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 100",
                           arg=page.locator("#confusion-matrix").element_handle())
    assert page.locator("#compare-table").count() == 1
    screenshot(page, "trainer-evaluation.png")

    # The button asks first: the dialog names the live version and both models' accuracy.
    dialog = page.locator("#promote-dialog")
    page.click("#promote-button")
    dialog.wait_for(state="visible")
    assert before in dialog.inner_text() and "정확도" in dialog.inner_text()
    screenshot(page, "trainer-promote-dialog.png")
    page.click("#promote-dialog-cancel")
    dialog.wait_for(state="hidden")
    page.wait_for_timeout(300)
    assert served_version(page, live_server.url) == before and page.locator("#promote-button").is_enabled()
    page.click("#promote-button")
    page.click("#promote-dialog-confirm")
    page.wait_for_selector(".trainer-flash-success")
    after = served_version(page, live_server.url)
    assert after != before and after in page.inner_text(".trainer-flash-success")
    # The chat now answers from the promoted model (trained on the tiny corpus only).
    page.goto(live_server.url + "/")
    assert send(page, "우산 챙겨야 해?").locator(".bubble").inner_text().strip()


def test_a_running_job_is_cancelled_and_its_progress_bar_stops(page: Any, context: Any, live_server: Any,
                                                              tmp_path: Path, slow_training: None) -> None:
    log_in(page, live_server.url, *live_server.add_user("취소하는트레이너", role="trainer"))
    page.goto(live_server.url + "/trainer")
    upload(page, write_tiny_corpus(tmp_path, "csv"))
    page.click("#train-button")
    page.wait_for_selector("#job-status[data-status='running']")
    # Cancelled from another tab: this one's bar follows by polling, in place, then stops polling.
    page.evaluate("() => { window.notReloaded = true; }")
    other = context.new_page()
    other.goto(page.url)
    other.click("#cancel-button")
    other.wait_for_selector("#job-status[data-status='cancelled']")
    assert "취소됨" in other.inner_text("#job-status") and other.locator("#cancel-button").count() == 0
    assert "취소하는트레이너님이" in other.inner_text("#job-cancelled")
    page.wait_for_function("() => document.querySelector('#job-status').textContent.includes('취소됨')")
    assert page.locator("#cancel-form").is_hidden() and "취소하는트레이너님이" in page.inner_text("#job-cancelled")
    assert page.evaluate("() => document.querySelector('#job-progress').value") == 0.25  # where it stopped
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if "/trainer/api/jobs/" in request.url else None)
    page.wait_for_timeout(2500)  # more than two polling intervals
    assert polls == [] and page.errors == [] and page.evaluate("() => window.notReloaded") is True
    page.goto(live_server.url + "/trainer")
    assert "취소됨" in page.inner_text("#job-list")


def test_a_corpus_is_deleted_only_after_confirming(page: Any, live_server: Any, tmp_path: Path) -> None:
    log_in(page, live_server.url, *live_server.add_user("지우는트레이너", role="trainer"))
    page.goto(live_server.url + "/trainer")
    upload(page, write_tiny_corpus(tmp_path, "csv", name="지울-코퍼스.csv"))
    corpus_path = page.url.removeprefix(live_server.url)
    dialog = page.locator("#delete-dialog")
    page.click("#delete-button")
    dialog.wait_for(state="visible")
    assert "지울-코퍼스.csv" in dialog.inner_text()
    page.keyboard.press("Escape")  # as good as its cancel button
    dialog.wait_for(state="hidden")
    page.wait_for_timeout(300)
    assert page.url.endswith(corpus_path) and page.locator("#delete-button").is_enabled()
    page.click("#delete-button")
    page.click("#delete-dialog-confirm")
    page.wait_for_selector(".trainer-flash-success")
    assert page.url == live_server.url + "/trainer" and page.locator(f"a[href='{corpus_path}']").count() == 0
    assert page.goto(live_server.url + corpus_path).status == 404


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


def test_a_corpus_with_entities_shows_its_types_and_the_entity_scores(page: Any, live_server: Any,
                                                                       tmp_path: Path) -> None:
    log_in(page, live_server.url, *live_server.add_user("개체명트레이너", role="trainer"))
    cities = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "수원", "춘천", "강릉", "전주", "여수"]
    foods = ["김밥", "라면", "냉면", "국밥", "짬뽕", "만두", "피자", "치킨", "초밥", "우동", "떡국", "순대"]
    lines = ["version: 1", "intents:", "  - intent: weather", "    examples:"]
    lines += [f'      - "[{c}](region) 날씨 어때"' for c in cities]
    lines += [f'      - "[{c}](region)에 비 와?"' for c in cities]
    lines += ["  - intent: food", "    examples:"]
    lines += [f'      - "[{f}](food) 먹고 싶다"' for f in foods] + [f'      - "[{f}](food) 먹을까?"' for f in foods]
    lines += ["  - intent: greet", "    examples:"]
    lines += [f"      - {g}" for g in ["안녕", "안녕하세요", "반가워요", "하이", "좋은 아침", "오랜만이야",
                                        "반갑습니다", "안뇽", "헬로", "처음 뵙겠습니다", "잘 지냈어?", "하이루"]]
    corpus = tmp_path / "places_and_food.yaml"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page.click("a[href='/trainer']")
    upload(page, corpus)
    report = page.inner_text("main")
    assert "region" in report and "food" in report  # entity types with their counts
    page.click("#train-button")
    page.wait_for_function("() => document.querySelector('#job-status').textContent.includes('완료')",
                           timeout=240_000)
    page.reload()
    table = page.locator("#per-entity-type")
    table.scroll_into_view_if_needed()
    assert "region" in table.inner_text() and "food" in table.inner_text()
    screenshot(page, "trainer-entities.png")

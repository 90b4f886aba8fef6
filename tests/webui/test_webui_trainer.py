"""Trainer console pages: roles, corpus upload and its validation report, refusals that are pages rather
than 500s, and feedback (list, CSV export, saved as a corpus). Jobs: test_webui_trainer_jobs.py."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.conftest import write_tiny_corpus
from tests.webui.trainer_support import (
    add_users,
    console_config,
    corpus_id_of,
    login,
    post_form,
    text_of,
    upload,
)
from webui.feedback_export import export_feedback

BAD_CSV = "text,intent,answer\n안녕하세요,greet,\n,greet,\n배고파,,\n"


@pytest.fixture
def console(make_app, tmp_path: Path):
    return add_users(make_app(**console_config(tmp_path, TRAINER_MAX_UPLOAD_BYTES=20_000)))


def tiny_csv(tmp_path: Path, extra: str = "") -> str:
    path = write_tiny_corpus(tmp_path / "upload", "csv", ood=["주식 시세 알려줘", "양자역학 설명해 줘"])
    return path.read_text(encoding="utf-8") + extra


def test_guests_log_in_plain_users_are_refused_and_trainers_and_admins_get_the_console(console):
    guest = console.test_client()
    page = guest.get("/trainer")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    api = guest.get("/trainer/api/jobs/20250101-000000-abcdef")
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "login_required"
    user = login(console, "사용자")
    refused = user.get("/trainer/feedback")
    assert refused.status_code == 403 and "text/html" in refused.content_type
    assert "권한이 없습니다" in text_of(refused)
    assert user.get("/trainer/api/jobs/20250101-000000-abcdef").get_json()["error"]["code"] == "forbidden"
    assert "트레이너 콘솔" not in text_of(user.get("/"))
    for name in ("트레이너", "관리자"):
        client = login(console, name)
        start = text_of(client.get("/trainer"))
        assert 'id="corpus-file"' in start and 'id="upload-button"' in start and 'href="/"' in start
        assert 'href="/trainer"' in text_of(client.get("/"))  # the chat header links to the console


def test_a_good_corpus_is_stored_validated_and_listed(console, tmp_path):
    trainer = login(console, "트레이너")
    conflict = "안녕하세요,weather,\n"  # line 31: the text of line 2 (greet) under another intent
    response = upload(trainer, "나의 코퍼스.csv", tiny_csv(tmp_path, conflict))
    corpus_id = corpus_id_of(response)
    page = text_of(trainer.get(f"/trainer/corpora/{corpus_id}"))
    assert "검증을 통과했어요" in page and 'id="class-counts"' in page and 'id="preview"' in page
    flat = page.replace("\n", "")
    assert "<td>greet</td><td>9</td>" in flat and "<td>weather</td><td>10</td>" in flat  # 8 examples + 1 pair
    assert 'id="duplicates"' in page and "trainer-conflict" in page
    assert "나의 코퍼스.csv 2번째 줄, 나의 코퍼스.csv 31번째 줄" in page
    assert 'id="train-button" class="send-button" >' in page or 'id="train-button" class="send-button">' in page
    stored = list((tmp_path / "trainer" / "corpora" / corpus_id).glob("*.csv"))
    assert [p.name for p in stored] == ["나의_코퍼스.csv"]  # a safe name, Korean kept
    listing = text_of(trainer.get("/trainer"))
    assert f"/trainer/corpora/{corpus_id}" in listing and "나의 코퍼스.csv" in listing and "통과" in listing


def test_a_bad_corpus_names_file_and_line_and_cannot_be_trained(console, tmp_path):
    trainer = login(console, "트레이너")
    corpus_id = corpus_id_of(upload(trainer, "나쁜.csv", BAD_CSV))
    page = text_of(trainer.get(f"/trainer/corpora/{corpus_id}"))
    assert "검증을 통과하지 못했어요" in page
    assert "나쁜.csv 3번째 줄</strong>: empty text" in page and "나쁜.csv 4번째 줄</strong>: empty intent" in page
    assert "disabled>학습 시작" in page
    refused = post_form(trainer, f"/trainer/corpora/{corpus_id}/train", f"/trainer/corpora/{corpus_id}", {"base": "y"})
    assert refused.status_code == 400 and "학습할 수 없어요" in text_of(refused)
    assert not (tmp_path / "trainer" / "jobs").exists()  # nothing was started


@pytest.mark.parametrize(("name", "content", "message"), [
    (None, b"", "골라 주세요"),
    ("corpus.txt", "text,intent\n안녕,greet\n", "지원하지 않는 형식"),
    ("big.csv", "text,intent\n" + "안녕하세요,greet\n" * 2000, "너무 커요"),
    ("euckr.csv", "text,intent\n안녕하세요,greet\n".encode("cp949"), "UTF-8 텍스트가 아니에요(2번째 줄)"),
    ("empty.yaml", b"  \n", "빈 파일"),
])
def test_bad_uploads_are_refused_on_the_page(console, name, content, message):
    trainer = login(console, "트레이너")
    if name is None:
        response = post_form(trainer, "/trainer/corpora", "/trainer", content_type="multipart/form-data")
    else:
        response = upload(trainer, name, content)
    assert response.status_code == 400 and message in text_of(response)
    assert 'id="upload-error"' in text_of(response) and "/trainer/corpora/" not in text_of(response)


def test_refusals_and_unknown_ids_are_pages_never_500(console):
    trainer = login(console, "트레이너")
    no_token = trainer.post("/trainer/corpora", data={"corpus": (io.BytesIO(b"text,intent\n"), "a.csv")},
                            content_type="multipart/form-data")
    assert no_token.status_code == 400 and "다시 시도해 주세요" in text_of(no_token)
    assert trainer.get("/trainer/corpora/..%2F..%2Fsecret").status_code == 404  # no route: the app's own 404
    for path in ("/trainer/corpora/20250101-000000-abcdef", "/trainer/corpora/..", "/trainer/jobs/x",
                 "/trainer/jobs/20250101-000000-abcdef/confusion-matrix.png", "/trainer/jobs/20250101-000000-abcdef"):
        response = trainer.get(path)
        assert response.status_code == 404 and "찾는 항목이 없어요" in text_of(response), path
    api = trainer.get("/trainer/api/jobs/20250101-000000-abcdef")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"
    too_big = upload(trainer, "huge.csv", b"x" * (11 * 1024 * 1024))  # over the app's own body limit
    assert too_big.status_code == 413 and "너무 커요" in text_of(too_big)


def rate(client, text: str, rating: int, correction: str | None = None) -> None:
    reply = client.post("/api/chat", json={"message": text}).get_json()
    body = {"rating": rating} | ({"correction": correction} if correction else {})
    assert client.post(f"/api/messages/{reply['message_id']}/feedback", json=body).status_code == 200


def test_feedback_is_listed_newest_first_filtered_paginated_exported_and_saved_as_a_corpus(console, fake_bot,
                                                                                          tmp_path):
    chatter = console.test_client()
    rate(chatter, "주말에 뭐 하지", 1)
    rate(chatter, "라면 끓이는 법", -1, "물이 끓으면 면과 스프를 넣고 4분 끓여요.")
    rate(chatter, fake_bot.FALLBACK, -1, "그건 아직 몰라요, 배워 둘게요.")
    for n in range(50):
        rate(chatter, f"좋은 답 {n}", 1)
    trainer = login(console, "트레이너")
    first = text_of(trainer.get("/trainer/feedback"))
    assert 'id="feedback-table"' in first and "받은 피드백 (53건)" in first and "1 / 2" in first
    assert first.index("좋은 답 49") < first.index("좋은 답 48")  # newest first
    assert "라면 끓이는 법" not in first  # on page 2
    second = text_of(trainer.get("/trainer/feedback?page=2"))
    assert "라면 끓이는 법" in second and "물이 끓으면 면과 스프를 넣고 4분 끓여요." in second and "👎" in second
    down = text_of(trainer.get("/trainer/feedback?rating=down"))
    assert "받은 피드백 (2건)" in down and "좋은 답" not in down and 'selected>👎' in down
    exported = trainer.get("/trainer/feedback/export.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert "attachment" in exported.headers["Content-Disposition"]
    with console.app_context():
        export_feedback(tmp_path / "cli.csv")  # what `python -m chatbot export-feedback` writes
    assert exported.data == (tmp_path / "cli.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8"))))
    assert len(rows) == 53 and {"text": fake_bot.FALLBACK, "intent": "feedback",
                                "answer": "그건 아직 몰라요, 배워 둘게요."} in rows
    saved = post_form(trainer, "/trainer/feedback/corpus", "/trainer/feedback")
    corpus_id = corpus_id_of(saved)
    page = text_of(trainer.get(f"/trainer/corpora/{corpus_id}"))
    assert "피드백 53행을 코퍼스로 저장했어요" in page and "검증을 통과했어요" in page
    assert "피드백</span>" in text_of(trainer.get("/trainer"))  # listed, marked as from feedback


def test_saving_feedback_without_any_refuses_politely(console):
    trainer = login(console, "트레이너")
    response = post_form(trainer, "/trainer/feedback/corpus", "/trainer/feedback", follow_redirects=True)
    assert response.status_code == 200 and "코퍼스로 만들 피드백이 아직 없어요" in text_of(response)
    assert "아직 받은 피드백이 없어요" in text_of(response)


JUNK = ["20250101-000000-abcdef", "..", "%00", "한글", "x" * 300, "-1", "20250101-000000-ABCDEF"]


def test_every_console_route_answers_a_trainer_s_junk_without_a_500(make_app, tmp_path):
    app = add_users(make_app(**console_config(tmp_path, WTF_CSRF_ENABLED=False)))  # past the CSRF check, into the views
    trainer = login(app, "트레이너")
    corpus_id = corpus_id_of(trainer.post("/trainer/corpora", data={"corpus": (io.BytesIO(BAD_CSV.encode()), "a.csv")}))
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("trainer.")]
    assert len(rules) >= 11
    bodies = [lambda: None, lambda: {"corpus": (io.BytesIO(b"\xff\xfe"), "x.yaml")},
              lambda: {"base": "junk", "corpus": "not a file"}]
    for rule in rules:
        for value in [*JUNK, corpus_id]:
            path = rule.rule.replace("<corpus_id>", value).replace("<job_id>", value)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                for body in bodies if method == "POST" else bodies[:1]:
                    response = trainer.open(path, method=method, data=body(), query_string={"page": "x", "rating": "?"})
                    assert response.status_code < 500, (method, path, body(), response.status_code)


def test_a_wrong_api_token_on_a_console_page_is_a_401_not_a_500(console):
    client = console.test_client()
    bad = {"Authorization": "Bearer hk_not-a-token"}
    for response in (client.get("/trainer", headers=bad), client.post("/trainer/corpora", headers=bad, data={})):
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_token"


def test_the_corpus_page_counts_entity_types(console, tmp_path):
    trainer = login(console, "트레이너")
    yaml_text = write_tiny_corpus(tmp_path / "upload", "yaml").read_text(encoding="utf-8")
    page = text_of(trainer.get(f"/trainer/corpora/{corpus_id_of(upload(trainer, 'tiny.yaml', yaml_text))}"))
    flat = page.replace("\n", "").replace("  ", "")
    assert 'id="entity-counts"' in page and '<dd id="corpus-entity-types">2</dd>' in flat
    # food: 3 marked examples, 3 values, no table; region: the tiny table (서울, 서울시, 부산), no examples
    assert "<td>food</td><td>3</td><td>3</td><td>3</td><td>0</td>" in flat
    assert "<td>region</td><td>0</td><td>0</td><td>0</td><td>3</td>" in flat
    assert "food (3문장)" in page  # the thin-type warning

"""Fuzzing every route of the app with Hypothesis: no input may produce a 5xx.

Every rule in the app's URL map is tried with every method it allows, with path parameters, bodies,
content types and headers drawn at random: text with control characters and lone surrogates (as
JSON escapes, since they cannot be encoded), invalid UTF-8, wrong JSON types, deep nesting, junk
multipart files, junk tokens and cookies. The real default model answers, so the NLP pipeline is
fuzzed too. The reminder routes get tests of their own, one per route, with reminder-shaped bodies and
queries; multi-turn chat sequences carry the dialogue state from message to message (forms opened,
answered, cancelled, junk in between). ``FUZZ_EXAMPLES`` sets the examples per test (CI runs more);
``FUZZ_REPORT`` names a JSON file that receives the number of inputs tried and the statuses seen.
"""

from __future__ import annotations

import atexit
import json
import os
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webui import create_app

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=False, database=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                HealthCheck.data_too_large])
STATUSES: Counter[int] = Counter()
METHODS_SKIPPED = {"HEAD", "OPTIONS"}


def _report() -> None:
    target = os.environ.get("FUZZ_REPORT")
    if target and STATUSES:
        Path(target).write_text(json.dumps({"inputs": sum(STATUSES.values()), "examples_per_test": EXAMPLES,
                                            "statuses": {str(k): v for k, v in sorted(STATUSES.items())}}))


atexit.register(_report)

nasty_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(["", " ", "\x00", "\u200b", "안녕\x07하세요", "ㅋ" * 2000, "<script>alert(1)</script>",
                     "/image", "/forecast 1 2 3", "/forecast " + " ".join(["9"] * 600), "/help", "'; DROP TABLE x;--",
                     "𝕳𝖊𝖑𝖑𝖔", "\r\n\t", "%00", "../../etc/passwd", "{text}{0}{", "1e309", "NaN"]),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                         st.floats(allow_nan=True, allow_infinity=True), nasty_text)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
field_names = st.sampled_from(["message", "conversation_id", "username", "password", "title", "rating", "correction",
                               "name", "remember", "path", "text", "due"])


def json_body() -> st.SearchStrategy[bytes]:
    """JSON texts, mostly objects with the fields the API knows, some with escaped lone surrogates."""
    objects = st.dictionaries(field_names, json_values, max_size=5).map(lambda d: json.dumps(d).encode())
    surrogates = st.tuples(field_names, st.sampled_from(["\\ud800", "\\udfff", "a\\udc80b", "\\u0000"])).map(
        lambda pair: f'{{"{pair[0]}": "{pair[1]}"}}'.encode())
    others = st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200),
                       st.just(b"[" * 5000 + b"]" * 5000), st.just(b'{"message": "' + "가".encode() * 30000 + b'"}'))
    return st.one_of(objects, objects, surrogates, others)


content_types = st.sampled_from([None, "application/json", "text/plain", "application/x-www-form-urlencoded",
                                 "multipart/form-data", "multipart/form-data; boundary=x", "image/png",
                                 "application/json; charset=latin-1", "text/html; charset=utf-8"])
path_values = st.one_of(nasty_text.filter(lambda s: "/" not in s and "?" not in s and "#" not in s and s),
                        st.integers(min_value=-5, max_value=2**40).map(str),
                        st.sampled_from(["0" * 32, "f" * 32, "00000000-0000-0000-0000-000000000000"]))
headers = st.dictionaries(st.sampled_from(["Authorization", "Cookie", "Accept", "X-Forwarded-For", "Range"]),
                          st.one_of(st.sampled_from(["Bearer hk_x", "Bearer ", "Basic abc", "session=junk",
                                                     "application/json", "text/html", "bytes=0-1"]),
                                    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                                            max_size=40)),
                          max_size=3)


@pytest.fixture(scope="module")
def fuzz_app(bot, tmp_path_factory):
    """The app with the real default model, and one user with a conversation to aim at."""
    folder = tmp_path_factory.mktemp("fuzz")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'fuzz.db'}", "BOT": bot,
                      "UPLOAD_FOLDER": str(folder / "uploads"), "SECRET_KEY": "fuzz", "RATELIMIT_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    client.post("/api/register", json={"username": "fuzzer", "password": "fuzz-password"})
    client.post("/api/chat", json={"message": "안녕하세요"})
    client.post("/api/reminders", json={"text": "퍼저의 알림", "due": "2099-01-01T09:00:00+09:00"})
    return app


def routes(app) -> list[tuple[str, str]]:
    return sorted((rule.rule, method) for rule in app.url_map.iter_rules()
                  for method in (rule.methods or set()) - METHODS_SKIPPED if rule.endpoint != "static")


def fill(rule: str, values: list[str]) -> str:
    from urllib.parse import quote

    parts, index = [], 0
    for chunk in rule.split("<"):
        if ">" in chunk:
            _, rest = chunk.split(">", 1)
            parts.append(quote(values[index % len(values)], safe=""))
            parts.append(rest)
            index += 1
        else:
            parts.append(chunk)
    return "".join(parts)


def check(response, what: str) -> None:
    STATUSES[response.status_code] += 1
    assert response.status_code < 500, f"{what} -> {response.status_code}: {response.get_data()[:300]!r}"
    if response.status_code >= 400 and response.mimetype == "application/json":
        assert set(response.get_json()["error"]) == {"code", "message"}


def test_every_route_is_fuzzed(fuzz_app):
    assert {("/api/chat", "POST"), ("/api/login", "POST"), ("/api/conversations/<conversation_id>", "DELETE"),
            ("/api/messages/<int:message_id>/feedback", "POST")} <= set(routes(fuzz_app))


@FUZZ_SETTINGS
@given(data=st.data())
def test_no_route_answers_5xx_to_junk(fuzz_app, data):
    rule, method = data.draw(st.sampled_from(routes(fuzz_app)))
    path = fill(rule, data.draw(st.lists(path_values, min_size=1, max_size=2)))
    body = data.draw(json_body()) if method in {"POST", "PUT", "PATCH", "DELETE"} else None
    sent_headers = data.draw(headers)
    content_type = data.draw(content_types)
    client = fuzz_app.test_client()
    if data.draw(st.booleans()):
        client.post("/api/login", json={"username": "fuzzer", "password": "fuzz-password"})
    response = client.open(path, method=method, data=body, headers=sent_headers, content_type=content_type)
    check(response, f"{method} {path} {content_type} {sent_headers} {body[:80] if body else body!r}")


@FUZZ_SETTINGS
@given(message=nasty_text, conversation=st.one_of(st.none(), path_values, json_values),
       upload=st.one_of(st.none(), st.binary(max_size=2000)), field=st.sampled_from(["image", "file", "other"]),
       filename=st.one_of(st.none(), nasty_text))
def test_multipart_chat_never_answers_5xx(fuzz_app, message, conversation, upload, field, filename):
    import io

    form: dict = {"message": message}
    if conversation is not None:
        form["conversation_id"] = str(conversation)
    if upload is not None:
        form[field] = (io.BytesIO(upload), filename or "x")
    try:
        response = fuzz_app.test_client().post("/api/chat", data=form, content_type="multipart/form-data")
    except UnicodeEncodeError:  # the test client cannot encode lone surrogates in form fields; skip that draw
        return
    check(response, f"multipart {field} {message[:40]!r}")


@pytest.mark.parametrize("path", ["/api/chat", "/api/login", "/api/register", "/api/conversations/" + "0" * 32])
def test_huge_bodies_are_refused_with_413(fuzz_app, path):
    client = fuzz_app.test_client()
    big_json = b'{"message": "' + b"a" * (11 * 1024 * 1024) + b'"}'
    response = client.open(path, method="PATCH" if "conversations" in path else "POST", data=big_json,
                           content_type="application/json")
    check(response, path)
    assert response.status_code in (404, 405, 413)
    if path == "/api/chat":
        assert response.status_code == 413


# --- reminders and multi-turn conversations ------------------------------------------------------------

REMINDER_ROUTES = [("/api/reminders", "GET"), ("/api/reminders", "POST"), ("/api/reminders/<reminder_id_>", "GET"),
                   ("/api/reminders/<reminder_id_>", "DELETE"), ("/api/reminders/<reminder_id_>/notified", "POST")]
due_values = st.one_of(
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(lambda d: d.isoformat()),
    st.sampled_from(["2099-01-01T09:00:00+09:00", "2099-01-01T09:00:00Z", "2000-01-01T00:00:00+00:00",
                     "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2099-02-30T00:00:00+09:00",
                     "2099-01-01", "내일 아침 9시", "2099-01-01T09:00:00+09:00\x00"]),
    json_values)
reminder_bodies = st.one_of(
    st.fixed_dictionaries({"text": st.one_of(nasty_text, json_values), "due": due_values}).map(
        lambda d: json.dumps(d).encode()),
    json_body())
query_values = st.one_of(nasty_text, st.integers(min_value=-5, max_value=10**6).map(str),
                         st.sampled_from(["1", "0", "true", "", "MjAyNi0xMi0wMXwx",  # a cursor without an offset
                                          "MjA5OS0wMS0wMVQwMDowMDowMCswMDowMHwx"]))  # a good one
queries = st.dictionaries(st.sampled_from(["all", "limit", "after"]), query_values, max_size=3)


def test_every_reminder_route_is_fuzzed(fuzz_app):
    assert set(REMINDER_ROUTES) <= set(routes(fuzz_app))


@pytest.mark.parametrize(("rule", "method"), REMINDER_ROUTES)
@FUZZ_SETTINGS
@given(data=st.data())
def test_reminder_routes_never_answer_5xx(fuzz_app, rule, method, data):
    path = fill(rule, [data.draw(st.one_of(path_values, st.integers(min_value=1, max_value=5).map(str)))])
    body = data.draw(reminder_bodies) if method in {"POST", "DELETE"} else None
    client = fuzz_app.test_client()
    if data.draw(st.booleans()):
        client.post("/api/login", json={"username": "fuzzer", "password": "fuzz-password"})
    try:
        response = client.open(path, method=method, data=body, query_string=data.draw(queries),
                               content_type=data.draw(content_types), headers=data.draw(headers))
    except UnicodeEncodeError:  # the test client cannot encode lone surrogates in a query string; skip that draw
        return
    check(response, f"{method} {path} {body[:80] if body else body!r}")


turn_texts = st.one_of(
    st.sampled_from(["알림 설정해줘", "치과 가기", "모레 아침 9시", "내일 오후 3시에 회의 있다고 알려줘", "어제 3시",
                     "32일", "취소", "처음부터 다시", "됐어", "내 일정 보여줘", "내일 뭐 있어?", "회의 알림 지워줘",
                     "1번", "99번", "부산 내일 날씨 어때?", "그럼 서울은?", "모레는?", "방금 내가 뭐라고 했지?",
                     "3일 뒤가 무슨 요일이야?", "100일 뒤는?", "/help"]),
    nasty_text)


@FUZZ_SETTINGS
@given(turns=st.lists(turn_texts, min_size=2, max_size=5), login=st.booleans(),
       stray_id=st.one_of(st.none(), path_values))
def test_multi_turn_conversations_carry_state_and_never_answer_5xx(fuzz_app, turns, login, stray_id):
    from sqlalchemy import select

    from webui.extensions import db
    from webui.store import load_state
    from webui.tables import Conversation

    client = fuzz_app.test_client()
    if login:
        client.post("/api/login", json={"username": "fuzzer", "password": "fuzz-password"})
    conversation_id = None
    for n, text in enumerate(turns):
        body = {"message": text}
        if conversation_id or (stray_id is not None and n == 1):
            body["conversation_id"] = conversation_id or stray_id
        response = client.post("/api/chat", json=body)
        check(response, f"turn {n} of {turns!r}")
        if response.status_code == 200:
            data = response.get_json()
            assert isinstance(data["slots"], dict)
            conversation_id = data["conversation_id"]
    if conversation_id:
        with fuzz_app.app_context():
            stored = db.session.scalar(select(Conversation.dialogue_state).where(Conversation.id == conversation_id))
        assert isinstance(load_state(stored), dict)  # the state was stored, and reads back

"""Hypothesis strategies for fuzzing the web app: junk of every kind, and requests drawn from the API's
OpenAPI document (path and query parameters, JSON bodies typed by their schemas, the document's enums and
examples among the values, junk mixed in everywhere)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from tests.webui.openapi_support import resolve

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
# Times as a client might send them: with and without an offset, out of range, in words.
date_times = st.one_of(
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(lambda d: d.isoformat()),
    st.sampled_from(["2030-01-01T09:00:00Z", "2000-01-01T00:00:00+00:00", "9999-12-31T23:59:59-23:59",
                     "0001-01-01T00:00:00+23:59", "2030-02-30T00:00:00+09:00", "2030-01-01", "내일 아침 9시",
                     "2030-01-01T09:00:00+09:00\x00"]))


def body_fields(spec: dict[str, Any]) -> list[str]:
    """Every property name of every documented JSON request body."""
    names = set()
    for item in spec["paths"].values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            for media in content.values():
                names.update(properties(spec, media["schema"]))
    return sorted(names)


def properties(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An object schema's properties, those of its ``allOf`` parts included."""
    schema = resolve(spec, schema)
    found: dict[str, dict[str, Any]] = {}
    for part in schema.get("allOf", []):
        found.update(properties(spec, part))
    found.update(schema.get("properties", {}))
    return found


def junk_json(spec: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """JSON texts, mostly objects with the document's field names, some with escaped lone surrogates."""
    field_names = st.sampled_from(body_fields(spec))
    objects = st.dictionaries(field_names, json_values, max_size=5).map(lambda d: json.dumps(d).encode())
    surrogates = st.tuples(field_names, st.sampled_from(["\\ud800", "\\udfff", "a\\udc80b", "\\u0000"])).map(
        lambda pair: f'{{"{pair[0]}": "{pair[1]}"}}'.encode())
    others = st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200),
                       st.just(b"[" * 5000 + b"]" * 5000), st.just(b'{"message": "' + "가".encode() * 30000 + b'"}'))
    return st.one_of(objects, objects, surrogates, others)


def value_for(spec: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for ``schema``: of its type (within and just past its bounds), its enum and examples, or junk."""
    schema = resolve(spec, schema)
    options: list[st.SearchStrategy[Any]] = [json_values]
    choices = [*schema.get("enum", []), *schema.get("examples", [])]
    if "const" in schema:
        choices.append(schema["const"])
    if choices:
        options += [st.sampled_from(choices)] * 2
    for part in schema.get("oneOf", []) + schema.get("anyOf", []):
        options.append(value_for(spec, part, depth + 1))
    kinds = schema.get("type", [])
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        if kind == "string":
            options.append(date_times if schema.get("format") == "date-time" else nasty_text)
        elif kind == "integer":
            low, high = schema.get("minimum", -5) - 2, schema.get("maximum", 2**40) + 2
            options.append(st.integers(min_value=low, max_value=high))
        elif kind == "number":
            options.append(st.floats(allow_nan=True, allow_infinity=True))
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "null":
            options.append(st.none())
        elif kind == "array" and depth < 3:
            options.append(st.lists(value_for(spec, schema.get("items", {}), depth + 1), max_size=3))
        elif kind == "object" and depth < 3:
            options.append(object_for(spec, schema, depth + 1))
    return st.one_of(options)


def object_for(spec: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[dict]:
    """Objects with the schema's fields, each there or not, each value from ``value_for``."""
    fields = {name: value_for(spec, field, depth) for name, field in properties(spec, schema).items()}
    return st.fixed_dictionaries({}, optional=fields)


def request_body(spec: dict[str, Any], schema: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """A JSON body: mostly shaped by the documented schema, the rest junk."""
    shaped = object_for(spec, schema).map(lambda d: json.dumps(d).encode())
    return st.one_of(shaped, shaped, shaped, junk_json(spec))


def query_for(spec: dict[str, Any], params: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, str]]:
    """Query strings with the operation's parameters (each there or not, typed values or junk) and a stray one."""
    fields = {}
    for param in params:
        if param["in"] != "query":
            continue
        examples = [e["value"] for e in param.get("examples", {}).values()]
        values = st.one_of(value_for(spec, param.get("schema", {})), st.sampled_from(examples or [""]))
        fields[param["name"]] = values.map(_query_text)
    stray = st.dictionaries(st.sampled_from(["x", "page", "cursor"]), nasty_text.map(_query_text), max_size=1)
    return st.tuples(st.fixed_dictionaries({}, optional=fields), stray).map(lambda pair: {**pair[1], **pair[0]})


def path_value(schema: dict[str, Any], known: list[str]) -> st.SearchStrategy[str]:
    """A path parameter: a real id from the fixture, a small number, one of its type, or junk."""
    typed = st.integers(min_value=-5, max_value=2**40).map(str) if schema.get("type") == "integer" else path_values
    return st.one_of(st.sampled_from(known), st.integers(min_value=1, max_value=5).map(str), typed, path_values)


def _query_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, (dict, list)) or value is None else str(value).lower()

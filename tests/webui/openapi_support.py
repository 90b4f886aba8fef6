"""Reading the app's OpenAPI document in tests: its operations, and whether a real response is one it
documents (the status, and the body against the documented schema, with an OpenAPI 3.1 validator)."""

from __future__ import annotations

import re
from typing import Any

from openapi_schema_validator import OAS31Validator

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
SKIPPED = {"HEAD", "OPTIONS"}


def openapi_path(rule: str) -> str:
    """A Flask rule in OpenAPI's form: ``/api/messages/<int:message_id>`` -> ``/api/messages/{message_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(path, METHOD, operation)`` for every operation in the document, sorted."""
    return sorted((path, method.upper(), item[method]) for path, item in spec["paths"].items()
                  for method in HTTP_METHODS if method in item)


def parameters(spec: dict[str, Any], path: str, method: str) -> list[dict[str, Any]]:
    """The operation's parameters, the path item's shared ones included."""
    item = spec["paths"][path]
    return [*item.get("parameters", []), *item[method.lower()].get("parameters", [])]


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref`` into the document's components (one level is all the document uses)."""
    ref = node.get("$ref")
    if ref is None:
        return node
    section, name = ref.removeprefix("#/components/").split("/")
    return spec["components"][section][name]


def body_schema(spec: dict[str, Any], path: str, method: str, content_type: str = "application/json"
                ) -> dict[str, Any] | None:
    """The documented request body schema for ``content_type``, properties resolved; None if there is none."""
    body = spec["paths"][path][method.lower()].get("requestBody", {}).get("content", {}).get(content_type)
    return resolve(spec, body["schema"]) if body else None


def response_schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any] | None:
    """The documented JSON body schema of one response (None: no JSON body); KeyError if undocumented."""
    response = resolve(spec, spec["paths"][path][method.lower()]["responses"][str(status)])
    content = response.get("content", {}).get("application/json")
    return content["schema"] if content else None


def validator(spec: dict[str, Any], schema: dict[str, Any]) -> OAS31Validator:
    """A validator for ``schema``, whose ``$ref`` resolve inside the document; formats checked."""
    return OAS31Validator({**schema, "components": spec["components"]}, format_checker=OAS31Validator.FORMAT_CHECKER)


def error_validator(spec: dict[str, Any]) -> OAS31Validator:
    """The validator of the document's error shape."""
    return validator(spec, {"$ref": "#/components/schemas/Error"})


def check_documented(spec: dict[str, Any], path: str, method: str, response: Any) -> None:
    """``response`` is one the document promises for ``METHOD path``: its status is listed, and a JSON body
    validates against the listed schema (errors against the error shape)."""
    responses = spec["paths"][path][method.lower()]["responses"]
    status = response.status_code
    assert str(status) in responses, (f"{method} {path} answered {status}, which the document does not list "
                                      f"({sorted(responses)}): {response.get_data()[:300]!r}")
    schema = response_schema(spec, path, method, status)
    if schema is None:
        return
    assert response.mimetype == "application/json", f"{method} {path} {status}: {response.mimetype}"
    errors = sorted(validator(spec, schema).iter_errors(response.get_json()), key=str)
    assert not errors, f"{method} {path} {status} does not match its schema: {errors[0].message} " \
                       f"at {list(errors[0].absolute_path)} in {response.get_data()[:300]!r}"

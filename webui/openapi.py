"""The API's OpenAPI 3.1 document, generated from the app: ``GET /api/openapi.json``, and a page that
reads it, ``GET /api/docs``.

Each JSON view documents itself in a YAML block after ``---`` in its docstring: OpenAPI operations by
method, as apispec reads them, naming the shared schemas and error responses of ``openapi.yaml`` beside
this file (``404: NotFound``). Two shorthands keep the blocks short, since nearly every body is JSON:
``requestBody: Name`` is a required JSON body of schema ``Name``, and ``json: Name`` in a response is its
JSON content. What the app does for every route is added here, once, rather than written in each block:
the path parameters (from the URL rule's converters), the tag and operationId (from the endpoint), and
the errors that the app-wide hooks answer (``webui.errors``, ``webui.security``, ``webui.ratelimit``).

The document covers every rule under ``/api/`` and ``/trainer/api/`` (``tests/webui/test_webui_openapi.py``
checks both ways, methods included) and any other view with a YAML block (``/healthz``).
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from apispec import APISpec
from apispec.yaml_utils import PATH_KEYS, load_yaml_from_docstring
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Flask, Response, current_app, jsonify, render_template
from werkzeug.routing import Rule

from webui import ratelimit
from webui.openapi_page import page_sections
from webui.security import UNSAFE_METHODS  # the methods the cross-site check refuses

bp = Blueprint("openapi", __name__)

SPEC_KEY = "chatbot.openapi"  # app.extensions key of the built document
API_PREFIXES = ("/api/", "/trainer/api/")
COMPONENTS_FILE = Path(__file__).with_name("openapi.yaml")
# Path parameter schemas for werkzeug's converters by name; any other converter (the default) takes a string.
CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0},
    "float": {"type": "number", "minimum": 0},
    "uuid": {"type": "string", "format": "uuid"},
}
RULE_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")  # <name>, <int:name>


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    """This API's OpenAPI document.
    ---
    get:
      summary: 이 API의 OpenAPI 3.1 문서
      security: []
      responses:
        200:
          description: OpenAPI 3.1 문서 (JSON)
          content:
            application/json:
              schema: {type: object, required: [openapi, info, paths]}
    """
    return jsonify(spec_for(current_app))


@bp.get("/api/docs")
def api_docs() -> str:
    """A readable page of the OpenAPI document, drawn by the server (no script, nothing from other hosts).
    ---
    get:
      summary: 이 API를 사람이 읽는 문서
      security: []
      responses:
        200:
          description: HTML 문서
          content:
            text/html:
              schema: {type: string}
    """
    spec = spec_for(current_app)
    return render_template("api/docs.html", spec=spec, sections=page_sections(spec))


def spec_for(app: Flask) -> dict[str, Any]:
    """The app's document, built on first use (the routes are fixed once the app is made)."""
    spec = app.extensions.get(SPEC_KEY)
    if spec is None:
        spec = app.extensions[SPEC_KEY] = build_spec(app)
    return spec


def build_spec(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of ``app``'s documented routes, as a JSON-ready dict."""
    base = _base_document()
    spec = APISpec(title=base["info"]["title"], version=base["info"]["version"], openapi_version="3.1.0",
                   info={"description": base["info"]["description"]},
                   tags=base["tags"], security=[{}, {"session": []}, {"token": []}])
    components = base["components"]
    for name, scheme in components["securitySchemes"].items():
        spec.components.security_scheme(name, scheme)
    for name, schema in components["schemas"].items():
        spec.components.schema(name, schema)
    for name, response in components["responses"].items():
        spec.components.response(name, response)
    for rule in documented_rules(app):
        spec.path(path=FlaskPlugin.flaskpath2openapi(rule.rule), operations=operations_of(rule, app),
                  parameters=path_parameters(rule))
    return spec.to_dict()


def documented_rules(app: Flask) -> list[Rule]:
    """The rules the document covers: every one under the API prefixes, and any other whose view has a
    YAML block."""
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        if is_api_path(rule.rule) or view_operations(app.view_functions[rule.endpoint]):
            rules.append(rule)
    return sorted(rules, key=lambda r: r.rule)


def is_api_path(path: str) -> bool:
    """Whether a URL rule (or a request path) belongs to the JSON API."""
    return path.startswith(API_PREFIXES)


def path_parameters(rule: Rule) -> list[dict[str, Any]]:
    """The rule's path parameters, typed by their converters."""
    return [{"name": m["name"], "in": "path", "required": True,
             "schema": dict(CONVERTER_SCHEMAS.get(m["converter"] or "default", {"type": "string"}))}
            for m in RULE_VARIABLE.finditer(rule.rule)]


def view_operations(view: Any) -> dict[str, Any]:
    """The operations of the YAML block after ``---`` in a view's docstring; none when there is no block
    (or what follows ``---`` is prose)."""
    block = load_yaml_from_docstring(view.__doc__ or "")
    if not isinstance(block, dict):
        return {}
    return {key: value for key, value in block.items() if key in PATH_KEYS or key.startswith("x-")}


def operations_of(rule: Rule, app: Flask) -> dict[str, Any]:
    """The operations in the YAML block of ``rule``'s view (as written: a method the rule does not serve
    shows up in the document, and the tests catch it), with the defaults every operation gets: the
    blueprint as its tag, the endpoint as its operationId, and the common error responses."""
    operations = view_operations(app.view_functions[rule.endpoint])
    blueprint, _, name = rule.endpoint.rpartition(".")
    methods = [m for m in operations if not m.startswith("x-")]
    with app.test_request_context(rule.rule):  # the limiter's own filter says whether the route is exempt
        limited = not ratelimit._exempt()
    for method in methods:
        operation = operations[method]
        expand_shorthands(operation)
        operation.setdefault("tags", [blueprint or "app"])
        operation.setdefault("operationId", name if len(methods) == 1 else f"{name}_{method}")
        add_common_responses(method.upper(), operation, limited)
    return operations


def expand_shorthands(operation: dict[str, Any]) -> None:
    """``requestBody: Name`` and a response's ``json: Name`` written out as OpenAPI (see the module docstring)."""
    body = operation.get("requestBody")
    if isinstance(body, str):
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    for response in (operation.get("responses") or {}).values():
        if isinstance(response, dict) and "json" in response:
            response.setdefault("content", {})["application/json"] = {"schema": response.pop("json")}


def add_common_responses(method: str, operation: dict[str, Any], limited: bool = True) -> None:
    """The errors the app's own hooks can answer on any route, added where the block did not name them:
    a wrong API token (401: an error wherever it is sent, public routes included), a bug (500), a database
    outage (503), the rate limits (429) unless the route is exempt; for unsafe methods the cross-site check
    (403); for a body, bad JSON (400) and the size cap (413)."""
    responses = {str(status): response for status, response in (operation.get("responses") or {}).items()}
    common = {"401": "Unauthorized", "500": "InternalError", "503": "Unavailable"}
    if limited:
        common["429"] = "TooManyRequests"
    if method in UNSAFE_METHODS:
        common["403"] = "Forbidden"
    if "requestBody" in operation:
        common.update({"400": "BadRequest", "413": "PayloadTooLarge"})
    for status, name in common.items():
        responses.setdefault(status, name)  # apispec turns a name into a $ref to components/responses
    operation["responses"] = dict(sorted(responses.items()))


@lru_cache(maxsize=1)
def _components_file() -> dict[str, Any]:
    return yaml.safe_load(COMPONENTS_FILE.read_text(encoding="utf-8"))


def _base_document() -> dict[str, Any]:
    """``openapi.yaml``, a fresh copy (apispec changes what it is given)."""
    return copy.deepcopy(_components_file())

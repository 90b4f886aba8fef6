"""What ``/api/docs`` shows, read from the OpenAPI document: operations grouped by tag, and the shared
schemas as tables of fields. The template (``templates/api/docs.html``) only lays these out."""

from __future__ import annotations

from typing import Any

METHOD_ORDER = ("get", "post", "put", "patch", "delete")
REF_PREFIX = "#/components/"


def page_sections(spec: dict[str, Any]) -> dict[str, Any]:
    """``{"tags": [{name, description, operations}], "schemas": [{name, description, fields}]}``."""
    components = spec.get("components", {})
    tags = {tag["name"]: {**tag, "operations": []} for tag in spec.get("tags", [])}
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHOD_ORDER:
            operation = item.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or ["app"])[0]
            tags.setdefault(tag, {"name": tag, "description": tag, "operations": []})
            tags[tag]["operations"].append(_operation(path, method, operation, shared, components))
    schemas = [{"name": name, "description": schema.get("description", ""), "fields": schema_fields(schema)}
               for name, schema in components.get("schemas", {}).items()]
    return {"tags": [t for t in tags.values() if t["operations"]], "schemas": schemas}


def _operation(path: str, method: str, operation: dict[str, Any], shared: list[dict[str, Any]],
               components: dict[str, Any]) -> dict[str, Any]:
    named = {(p["name"], p["in"]): p for p in [*shared, *operation.get("parameters", [])]}
    body = operation.get("requestBody", {}).get("content", {})
    responses = []
    for status, response in operation.get("responses", {}).items():
        ref = response.get("$ref", "")
        if ref.startswith(REF_PREFIX):
            response = components.get("responses", {}).get(ref.rsplit("/", 1)[-1], {})
        content = response.get("content", {})
        responses.append({"status": status, "description": response.get("description", ""),
                          "types": [(kind, type_label(c.get("schema", {}))) for kind, c in content.items()]})
    return {"id": operation.get("operationId", f"{method}-{path}"), "method": method.upper(), "path": path,
            "summary": operation.get("summary", ""), "description": operation.get("description", ""),
            "login": _needs_login(operation),
            "parameters": [{"name": p["name"], "in": p["in"], "required": bool(p.get("required")),
                            "type": type_label(p.get("schema", {})), "description": p.get("description", "")}
                           for p in named.values()],
            "body": [(kind, type_label(c.get("schema", {}))) for kind, c in body.items()],
            "responses": responses}


def _needs_login(operation: dict[str, Any]) -> bool:
    security = operation.get("security")
    return security is not None and bool(security) and {} not in security


def schema_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields of an object schema (those of each ``allOf`` part too) as table rows."""
    parts = schema.get("allOf", [schema])
    rows = []
    for part in parts:
        if "$ref" in part:
            rows.append({"name": "…", "type": type_label(part), "required": False,
                         "description": "이 스키마의 필드를 모두 가져요."})
            continue
        required = set(part.get("required", []))
        for name, field in part.get("properties", {}).items():
            rows.append({"name": name, "type": type_label(field), "required": name in required,
                         "description": field.get("description", "")})
    return rows


def type_label(schema: dict[str, Any]) -> dict[str, Any]:
    """``{"text", "ref"}``: how a schema reads in a table (``Reminder[]``, ``string | null``), and the
    component schema to link to, if any."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return {"text": name, "ref": name}
    for key in ("oneOf", "anyOf"):
        if key in schema:
            labels = [type_label(s) for s in schema[key]]
            ref = next((label["ref"] for label in labels if label["ref"]), None)
            return {"text": " | ".join(label["text"] for label in labels), "ref": ref}
    kind = schema.get("type")
    if kind == "array":
        item = type_label(schema.get("items", {}))
        return {"text": f"{item['text']}[]", "ref": item["ref"]}
    if "enum" in schema:
        return {"text": " | ".join(str(v) for v in schema["enum"]), "ref": None}
    if "const" in schema:
        return {"text": str(schema["const"]).lower(), "ref": None}
    text = " | ".join(kind) if isinstance(kind, list) else str(kind or "any")
    if schema.get("format"):
        text += f" ({schema['format']})"
    return {"text": text, "ref": None}

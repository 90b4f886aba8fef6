"""Nothing the web app serves reaches for the network: no CDN, no web font, no remote image, in any
template or static file (today's and the ones added later: the files are found, not listed), nor in the
API documentation page and the OpenAPI document it is drawn from, as served."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import webui

WEBUI_DIR = Path(webui.__file__).parent
FILES = sorted(p for folder in ("templates", "static") for p in (WEBUI_DIR / folder).rglob("*")
               if p.is_file() and p.suffix in {".html", ".js", ".css", ".svg", ".json", ".txt"})
# XML namespace names are identifiers that nothing fetches (SVG elements made by the scripts).
NAMESPACES = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink")
EXTERNAL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}|https?://""", re.I)
PROTOCOL_RELATIVE = re.compile(r"""(?:src|href|action)\s*=\s*["']//|url\(\s*["']?//""", re.I)


def without_namespaces(text: str) -> str:
    for name in NAMESPACES:
        text = text.replace(name, "")
    return text


def test_the_scan_finds_the_page_files():
    names = {p.name for p in FILES}
    assert {"index.html", "base.html", "chat.js", "chat.css", "commands.js"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(WEBUI_DIR)))
def test_file_refers_to_nothing_outside_the_server(path):
    text = without_namespaces(path.read_text(encoding="utf-8"))
    found = EXTERNAL.search(text) or PROTOCOL_RELATIVE.search(text)
    assert not found, f"{path.relative_to(WEBUI_DIR)} refers to {found.group(0)!r}"
    assert "@import" not in text, "a style sheet that imports another may import from anywhere"
    assert "@font-face" not in text, "the page uses the system's Korean fonts"


def test_the_scan_catches_what_it_is_for():
    for bad in ('<script src="https://cdn.example.com/x.js">', "url(//fonts.example.com/a.woff2)",
                '<link href="//cdn.example.net/a.css">', "fetch('http://10.0.0.1/api')"):
        assert EXTERNAL.search(bad) or PROTOCOL_RELATIVE.search(bad), bad
    assert not EXTERNAL.search(without_namespaces('createElementNS("http://www.w3.org/2000/svg", "svg")'))


@pytest.mark.parametrize("path", ["/api/docs", "/api/openapi.json"])
def test_the_api_documentation_refers_to_nothing_outside_the_server(client, path):
    response = client.get(path)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    found = EXTERNAL.search(text) or PROTOCOL_RELATIVE.search(text)
    assert not found, f"{path} refers to {found.group(0)!r}"
    assert "servers" not in (response.get_json() or {}), "the document names no other host to send requests to"
    if path == "/api/docs":
        assert set(re.findall(r'(?:src|href)="([^"#]+)"', text)) <= {"/", "/api/openapi.json",
                                                                   "/static/chat.css", "/static/apidocs.css", "data:,"}

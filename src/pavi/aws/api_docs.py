"""The API's own documentation: the OpenAPI document (``api/openapi.yaml``, packaged as
``openapi.json``) as JSON at ``/openapi.json``, and as a readable page at ``/api/docs``.

The web UI proxies both paths to the API, as it did to the previous (FastAPI) one. The
page is plain HTML from the document: no script, no style sheet from elsewhere.
"""

from __future__ import annotations

import json
from functools import cache
from html import escape
from importlib import resources
from typing import Any

METHODS = ("get", "post", "put", "delete", "patch", "options")


@cache
def document_text() -> str:
    return resources.files("pavi.aws").joinpath("openapi.json").read_text(encoding="utf-8")


def document() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(document_text())
    return data


def _schema_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref", "")
    return str(ref.rsplit("/", 1)[-1]) if ref else str(schema.get("type", ""))


@cache
def page() -> str:
    doc = document()
    info = doc.get("info", {})
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(info.get('title', 'API'))}</title></head><body>",
        f"<h1>{escape(info.get('title', 'API'))} <small>{escape(str(info.get('version', '')))}</small></h1>",
        f"<p>{escape(info.get('description', ''))}</p>",
        '<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a>.</p>',
    ]
    for path, operations in doc.get("paths", {}).items():
        for method in METHODS:
            operation = operations.get(method)
            if not operation:
                continue
            parts.append(f"<h2><code>{method.upper()} {escape(path)}</code></h2>")
            text = operation.get("description") or operation.get("summary") or operation.get("operationId", "")
            parts.append(f"<p>{escape(text)}</p>")
            parameters = operation.get("parameters", [])
            if parameters:
                parts.append("<p>Parameters:</p><ul>")
                for parameter in parameters:
                    if "$ref" in parameter:
                        parameter = doc["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
                    parts.append(
                        f"<li><code>{escape(parameter.get('name', ''))}</code> ({escape(parameter.get('in', ''))}): "
                        f"{escape(parameter.get('description', ''))}</li>"
                    )
                parts.append("</ul>")
            parts.append("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>")
            for status, response in operation.get("responses", {}).items():
                if "$ref" in response:
                    response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
                bodies = ", ".join(
                    f"{escape(kind)} {escape(_schema_name(content.get('schema', {})))}".strip()
                    for kind, content in response.get("content", {}).items()
                )
                parts.append(
                    f"<tr><td>{escape(status)}</td><td>{escape(response.get('description', ''))}</td>"
                    f"<td>{bodies}</td></tr>"
                )
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"

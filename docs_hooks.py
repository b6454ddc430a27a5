"""mkdocs hooks: the admin API page is generated from the routes at build time.

``docs/admin-api.md`` holds ``<!-- admin-api-operations -->``; this hook replaces it with one
section per operation of :func:`hookport.admin.openapi.openapi_spec`, and publishes the same
document as ``openapi.json`` beside the page. A route added to the admin API appears in the
docs with no edit here.
"""

from __future__ import annotations

import json
from typing import Any

from mkdocs.structure.files import File, Files

MARKER = "<!-- admin-api-operations -->"


def _spec() -> dict[str, Any]:
    from hookport.admin.api import AdminAPI
    from hookport.admin.openapi import openapi_spec

    return openapi_spec(AdminAPI(None, None, None).routes())  # type: ignore[arg-type]


def on_files(files: Files, config: Any) -> Files:
    files.append(
        File.generated(config, "openapi.json", content=json.dumps(_spec(), indent=2) + "\n")
    )
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render(_spec()))


def render(spec: dict[str, Any]) -> str:
    from hookport.admin.openapi import operations

    ops = operations(spec)
    lines = ["| method | path | what it does | token |", "|---|---|---|---|"]
    for method, path, op in ops:
        token = "yes" if "security" in op else "no"
        lines.append(f"| `{method}` | `{path}` | {op['summary']} | {token} |")
    for method, path, op in ops:
        lines += ["", f"### `{method} {path}`", "", op["summary"] + "."]
        if op.get("description"):
            lines += ["", op["description"]]
        params = op.get("parameters", [])
        if params:
            lines += ["", "| parameter | in | type | |", "|---|---|---|---|"]
            for p in params:
                schema = p.get("schema", {})
                kind = schema.get("type", "")
                if "enum" in schema:
                    kind += ": " + ", ".join(f"`{v}`" for v in schema["enum"])
                lines.append(
                    f"| `{p['name']}` | {p['in']} | {kind} | {p.get('description', '')} |"
                )
        if "requestBody" in op:
            body = op["requestBody"]["content"]["application/json"]["schema"]
            lines += ["", f"Body (JSON, optional): `{json.dumps(body.get('properties', {}))}`"]
        answers = ", ".join(
            f"`{code}` {r['description']}" for code, r in sorted(op["responses"].items())
        )
        lines += ["", f"Answers: {answers}."]
    return "\n".join(lines)

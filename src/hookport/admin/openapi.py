"""The admin API's OpenAPI description, generated from its routes.

Every route of the admin app becomes an operation: Starlette's ``SchemaGenerator`` walks the
routes (path converters removed), the handler's docstring gives the summary (first line) and
the description (the rest); YAML after a ``---`` line in the docstring adds or overrides
OpenAPI fields (``parameters``, ``requestBody``, ``responses``). Path parameters, the admin
token's security scheme (every ``/api/`` operation but the description itself) and the error
answers are filled in here, so a new route is described as soon as it exists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

OPEN_PATHS = frozenset({"/api", "/api/", "/api/openapi.json"})
"""API paths answered without the admin token: the description of the API itself."""

_ERROR = {"$ref": "#/components/schemas/Error"}
_REJECTION: dict[str, Any] = {
    "type": "object",
    "description": "A rejected delivery: metadata only, never a body or a header's value.",
    "properties": {
        "id": {"type": "integer", "description": "grows with each record (the keyset)"},
        "at": {"type": "number", "description": "Unix time"},
        "method": {"type": "string"},
        "path": {"type": "string"},
        "endpoint": {"type": ["string", "null"], "description": "null: no endpoint serves it"},
        "status": {"type": "integer"},
        "reason": {"type": "string"},
        "source_ip": {"type": ["string", "null"]},
        "header_names": {"type": "array", "items": {"type": "string"}},
        "body_size": {"type": "integer", "description": "as declared (Content-Length)"},
    },
    "required": ["id", "at", "method", "path", "endpoint", "status", "reason"],
}
_PARAM = re.compile(r"{([^}]+)}")


def openapi_spec(
    routes: Sequence[BaseRoute], *, prefix: str = "/_hookport", version: str = ""
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``routes`` (mounted at ``prefix``)."""
    generator = SchemaGenerator({})
    paths: dict[str, dict[str, Any]] = {}
    for info in generator.get_endpoints(list(routes)):
        operation = _operation(info.path, info.http_method, info.func, generator)
        paths.setdefault(prefix + info.path, {})[info.http_method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hookport admin API",
            "version": version or "1",
            "description": (
                "Inspect and replay recorded deliveries, pause endpoints, read health and "
                "metrics. `/api/*` needs `Authorization: Bearer <admin token>`."
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                },
                "Rejection": _REJECTION,
                "RejectionPage": {
                    "type": "object",
                    "properties": {
                        "rejections": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Rejection"},
                        },
                        "total": {"type": "integer", "description": "counted up to 10,000"},
                        "next_before": {"type": ["integer", "null"]},
                    },
                    "required": ["rejections", "total", "next_before"],
                },
            },
        },
    }


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(METHOD, path, operation)`` for every operation of ``spec``, by path then method."""
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
    ]


def _operation(path: str, method: str, func: Any, generator: SchemaGenerator) -> dict[str, Any]:
    doc = (func.__doc__ or "").split("---", 1)[0].strip().replace("``", "`")
    summary, _, description = doc.partition("\n")
    name = getattr(func, "__name__", "operation")
    operation: dict[str, Any] = {
        "operationId": name,
        "summary": summary.strip().rstrip("."),
        "responses": {"200": {"description": "OK"}},
    }
    if description.strip():
        operation["description"] = _dedent(description)
    params = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
        for p in _PARAM.findall(path)
    ]
    if params:
        operation["parameters"] = params
    if path.startswith("/api/") and path not in OPEN_PATHS:
        operation["security"] = [{"adminToken": []}]
        operation["responses"].update(
            {
                "401": _error_response("missing or invalid admin token"),
                "403": _error_response(
                    "admin API disabled (no admin token), or a session POST without CSRF token"
                ),
                "429": _error_response("too many failed tokens from this client (Retry-After)"),
                "503": _error_response("the store is unavailable (with Retry-After)"),
            }
        )
    extra = generator.parse_docstring(func)
    for key, value in extra.items():
        if key == "parameters":
            operation["parameters"] = [*operation.get("parameters", []), *value]
        elif key == "responses":
            operation["responses"].update({str(k): v for k, v in value.items()})
        else:
            operation[key] = value
    return operation


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def _dedent(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines()]
    return " ".join(line for line in lines if line)

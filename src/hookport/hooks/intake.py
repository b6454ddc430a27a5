"""Turning hookport's :class:`~hookport.http.Request` into the :class:`HookRequest` a hook reads.

The steps and their failure answers are adnanh's (``hookHandler`` in its ``webhook.go``): the
content type is the hook's ``incoming-payload-content-type`` or the request's; the payload is
parsed by it; a multipart body that cannot be parsed is a 500; then
``parse-parameters-as-json`` replaces string values with the objects they encode.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from hookport.errors import PayloadError
from hookport.forms import parse_form
from hookport.hooks.gohttp import canonical_header
from hookport.hooks.gojson import decode_first
from hookport.hooks.model import Hook
from hookport.hooks.values import (
    HookRequest,
    ParameterNodeError,
    ValueErrorKind,
    parse_query,
)
from hookport.http import Request

__all__ = ["GoPanic", "MultipartError", "build_request"]


class MultipartError(Exception):
    """The multipart body could not be parsed (adnanh answers 500)."""


class GoPanic(Exception):
    """adnanh would panic here (its recoverer answers 500 with no body)."""


def build_request(request: Request, hook: Hook) -> HookRequest:
    """The hook's view of ``request``; ``MultipartError`` / ``GoPanic`` as adnanh fails."""
    content_type = hook.incoming_content_type or (request.headers.get("content-type") or "")
    multipart = content_type.startswith("multipart/form-data;")
    headers: dict[str, Any] = {}
    for name, value in request.header_pairs():
        headers.setdefault(canonical_header(name), value)
    hook_request = HookRequest(
        method=request.method,
        remote_addr=request.client or "",
        content_type=content_type,
        body=b"" if multipart else request.body,  # adnanh does not keep a multipart body
        headers=headers,
        query=dict(parse_query(request.query_string, strict=False)),
        soft_signature_failures=hook.soft_signature_failures,
        request=request,
    )
    if "json" in content_type:
        hook_request.pending_json = request.body  # parsed when first read
    elif "x-www-form-urlencoded" in content_type:
        try:
            text = request.body.decode("utf-8", "surrogateescape")
            hook_request.payload = dict(parse_query(text, strict=True))
        except ValueError as exc:
            hook_request.problems.append(f"error parsing form payload {exc}")
    elif "xml" in content_type:
        hook_request.payload = parse_xml(request.body)
    elif multipart:
        hook_request.payload = _multipart(request, hook)
    _parse_json_parameters(hook, hook_request)
    return hook_request


def _multipart(request: Request, hook: Hook) -> dict[str, Any] | None:
    actual = request.headers.get("content-type") or ""
    if not actual.lower().startswith("multipart/form-data"):
        raise MultipartError("request Content-Type isn't multipart/form-data")
    try:
        fields, files = parse_form(actual, request.body)
    except PayloadError as exc:
        raise MultipartError(exc.message) from None
    payload: dict[str, Any] = {}
    for name in fields:
        value = fields.get(name)
        if isinstance(value, str):
            payload.setdefault(name, value)
    as_json = {a.name for a in hook.json_parameters if a.source == "payload"}
    seen: set[str] = set()
    for upload in files:
        if upload.field in seen:
            continue  # adnanh reads the first part of each name only
        seen.add(upload.field)
        if upload.field in as_json or upload.content_type == "application/json":
            try:
                value = decode_first(upload.content.decode("utf-8", "replace"))
            except ValueError:
                value = None
            payload[upload.field] = value if isinstance(value, dict) else None
    return payload or None


def parse_xml(body: bytes) -> dict[str, Any] | None:
    """An XML body as clbanning/mxj maps it: ``-attr`` keys, ``#text``, repeats as lists."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - expat expands no external entities
    except ET.ParseError:
        return None
    return {_local(root.tag): _element(root)}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element(node: ET.Element) -> Any:
    out: dict[str, Any] = {f"-{_local(k)}": v for k, v in node.attrib.items()}
    for child in node:
        key, value = _local(child.tag), _element(child)
        if key in out:
            existing = out[key]
            out[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            out[key] = value
    text = "".join([(node.text or "")] + [(c.tail or "") for c in node]).strip("\t\r\b\n ")
    if not out:
        return text
    if text:
        out["#text"] = text
    return out


def _parse_json_parameters(hook: Hook, req: HookRequest) -> None:
    for arg in hook.json_parameters:
        try:
            raw = req.get(arg)
        except (ParameterNodeError, ValueErrorKind):
            req.problems.append(f"couldn't retrieve argument for {arg}")
            continue
        try:
            value = decode_first(raw)
        except ValueError as exc:
            req.problems.append(f"error parsing JSON parameter {arg.name}: {exc}")
            continue
        if value is not None and not isinstance(value, dict):
            req.problems.append(f"JSON parameter {arg.name} is not an object")
            continue
        key = arg.name
        if arg.source == "header":
            container: dict[str, Any] | None = req.headers
            key = canonical_header(key)
        elif arg.source == "payload":
            container = req.payload
        elif arg.source in ("url", "query"):
            container = req.query
        else:
            req.problems.append(f"invalid source for argument {arg}")
            continue
        if "." in key:
            # adnanh's ReplaceParameter type-asserts the map pointer it was given to a map
            # and panics for every dotted name.
            raise GoPanic(f"parse-parameters-as-json with a dotted name: {key}")
        if container is not None and key in container:
            container[key] = value

"""Payload-first handlers: what errbot's ``@webhook`` hands a handler as its first parameter.

errbot calls ``handler(payload, **path_params)``, where ``payload`` is the body decoded by its
content type. hookport injects parameters by name, so :func:`payload_first` wraps such a
handler in one that takes the ``request`` by name, decodes it, and passes the payload first:
the wrapped handler is then an ordinary route handler, checked and called as any other.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from hookport.errors import PayloadError
from hookport.events import parse_json
from hookport.types import IncomingRequest

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def decode_payload(request: IncomingRequest, *, form_param: str | None, raw: bool) -> Any:
    """The payload as errbot gives it.

    ``raw``: the request itself. ``form_param``: that form field, parsed as JSON when it is
    JSON (GitHub's form content type), else its text. Otherwise: JSON when the content type
    is JSON (a malformed body is a 400), a dict of the first value of each form field for
    form bodies, else the body as UTF-8 text; ``None`` for an empty body.
    """
    if raw:
        return request
    if form_param is not None:
        return _form_field(request, form_param)
    if not request.body:
        return None
    media_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return parse_json(request.body)
    if media_type in _FORM_TYPES:
        return {key: request.form.get(key) for key in request.form}
    try:
        return request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("body is not valid utf-8 text") from None


def _form_field(request: IncomingRequest, name: str) -> Any:
    value = request.form.get(name)
    if not isinstance(value, str):
        raise PayloadError(f"form field {name!r} is missing")
    try:
        return parse_json(value.encode("utf-8"))
    except PayloadError:
        return value  # errbot passes a field that is not JSON as its text


def payload_first(
    func: Callable[..., Any], *, form_param: str | None = None, raw: bool = False
) -> Callable[..., Any]:
    """A route handler that calls ``func(payload, **injected)`` (see :func:`decode_payload`).

    ``ValueError`` if ``func`` has no first parameter to receive the payload.
    """
    signature = inspect.signature(func)
    params = list(signature.parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if not params or params[0].kind not in positional:
        raise ValueError(
            f"webhook handler {getattr(func, '__qualname__', func)!r}{signature} needs a first "
            "parameter to receive the payload"
        )
    rest = params[1:]
    wants_request = any(p.name == "request" for p in rest)
    kw = inspect.Parameter.KEYWORD_ONLY
    injected = [p if p.kind is inspect.Parameter.VAR_KEYWORD else p.replace(kind=kw) for p in rest]
    injected = [p for p in injected if p.name != "request"]
    injected.insert(0, inspect.Parameter("request", kw))
    injected.sort(key=lambda p: p.kind is inspect.Parameter.VAR_KEYWORD)

    def arguments(request: IncomingRequest, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**kwargs, "request": request} if wants_request else kwargs

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def call_async(request: IncomingRequest, **kwargs: Any) -> Any:
            payload = decode_payload(request, form_param=form_param, raw=raw)
            return await func(payload, **arguments(request, kwargs))

        wrapper: Callable[..., Any] = call_async
    else:

        @functools.wraps(func)
        def call(request: IncomingRequest, **kwargs: Any) -> Any:
            payload = decode_payload(request, form_param=form_param, raw=raw)
            return func(payload, **arguments(request, kwargs))

        wrapper = call
    wrapper.__signature__ = signature.replace(parameters=injected)  # type: ignore[attr-defined]
    return wrapper

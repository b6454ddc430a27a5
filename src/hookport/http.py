"""HTTP values: the :class:`Request` handlers and verifiers read, and :class:`Response`.

Reading the body (size limits, ``Content-Encoding``) is :mod:`hookport.body`; form and
multipart parsing :mod:`hookport.forms`; the client address behind proxies
:mod:`hookport.proxies`.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams

from hookport.errors import HTTPError, PayloadError, StoreUnavailable
from hookport.events import form_param, parse_json
from hookport.forms import FormFields, UploadedFile, parse_form

__all__ = ["Enqueue", "HTTPError", "Request", "Response", "UnsupportedReturn", "UploadedFile"]


class HeaderMap:
    """Request headers: case-insensitive, multi-valued, read-only, indexed once.

    Built in one pass over the ASGI pairs (which the stored event needs decoded anyway), so
    every lookup on the hot path is a dict access rather than a scan.
    """

    __slots__ = ("_index", "_pairs")

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        index: dict[str, list[str]] = {}
        for name, value in pairs:
            key = name.lower()
            if key in index:
                index[key].append(value)
            else:
                index[key] = [value]
        self._index = index

    @classmethod
    def from_asgi(cls, raw: list[tuple[bytes, bytes]]) -> HeaderMap:
        """From ASGI's (name, value) byte pairs (latin-1, as HTTP/1.1 defines)."""
        return cls([(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw])

    def get(self, key: str, default: Any = None) -> Any:
        """The first value of ``key``, or ``default``."""
        values = self._index.get(key.lower())
        return values[0] if values else default

    def getlist(self, key: str) -> list[str]:
        """Every value of ``key`` in arrival order."""
        return list(self._index.get(key.lower(), ()))

    def __getitem__(self, key: str) -> str:
        values = self._index.get(key.lower())
        if not values:
            raise KeyError(key)
        return values[0]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._pairs)

    def keys(self) -> list[str]:
        """Distinct lower-cased names."""
        return list(self._index)

    def items(self) -> list[tuple[str, str]]:
        """Every (lower-cased name, value) pair in arrival order."""
        return [(name.lower(), value) for name, value in self._pairs]

    def pairs(self) -> list[tuple[str, str]]:
        """Every (name, value) pair as received."""
        return list(self._pairs)

    def __repr__(self) -> str:
        return f"HeaderMap({self.keys()!r})"


def error_response(exc: HTTPError | StoreUnavailable) -> Response:
    """The one answer for an error: ``{"error": message}`` with its status and headers.

    A :class:`~hookport.errors.StoreUnavailable` (not an HTTP error: the store's own) is a
    503 with ``Retry-After``; every HTTP surface (ingest, the admin API) answers through here.
    """
    if isinstance(exc, StoreUnavailable):
        headers = {"Retry-After": str(exc.retry_after)}
        return Response.json({"error": exc.message}, 503, headers)
    return Response.json({"error": exc.message}, exc.status, exc.headers)


@dataclass(frozen=True, slots=True)
class RequestHead:
    """A request before its body is read: what early verification (``precheck``) sees."""

    method: str
    path: str
    url: str
    headers: HeaderMap
    query_string: str
    client: str | None
    params: Mapping[str, Any]

    @property
    def query(self) -> QueryParams:
        """Query parameters."""
        return QueryParams(self.query_string)


class Request:
    """One received HTTP request, its body already read and decoded.

    ``headers`` and ``query`` are multi-valued (``.get`` gives the first value, ``.getlist`` all);
    header names are case-insensitive. ``json``, ``form`` and ``files`` are parsed on first use.
    """

    __slots__ = (
        "_cache", "_query", "body", "client", "headers", "method", "params", "path",
        "query_string", "url",
    )  # fmt: skip

    def __init__(
        self,
        *,
        method: str,
        path: str,
        url: str,
        raw_headers: list[tuple[bytes, bytes]] | HeaderMap,
        query_string: str,
        body: bytes,
        client: str | None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.url = url
        self.headers = (
            raw_headers if isinstance(raw_headers, HeaderMap) else HeaderMap.from_asgi(raw_headers)
        )
        self.query_string = query_string
        self._query: QueryParams | None = None
        self.body = body
        self.client = client
        self.params: dict[str, Any] = dict(params or {})
        self._cache: dict[str, Any] = {}

    @classmethod
    def from_head(cls, head: RequestHead, body: bytes) -> Request:
        """The request of ``head`` once its body is read."""
        return cls(
            method=head.method,
            path=head.path,
            url=head.url,
            raw_headers=head.headers,
            query_string=head.query_string,
            body=body,
            client=head.client,
            params=head.params,
        )

    @property
    def query(self) -> QueryParams:
        """Query parameters (parsed on first use: most webhooks have none)."""
        if self._query is None:
            self._query = QueryParams(self.query_string)
        return self._query

    def header_pairs(self) -> list[tuple[str, str]]:
        """Every header as a (name, value) pair of text, in arrival order."""
        return self.headers.pairs()

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased (``""`` if absent)."""
        return (self.headers.get("content-type") or "").split(";", 1)[0].strip().lower()

    @property
    def text(self) -> str:
        """The body as text (charset from ``Content-Type``, else UTF-8); 400 if undecodable."""
        charset = _charset(self.headers.get("content-type")) or "utf-8"
        try:
            return self.body.decode(charset)
        except (UnicodeDecodeError, LookupError):
            raise PayloadError(f"body is not valid {charset} text") from None

    @property
    def json(self) -> Any:
        """The body parsed as JSON; ``HTTPError(400)`` when malformed, not UTF-8 or too deep.

        Typed ``Any`` (as ``json.loads``), like ``Event.json``: no narrowing before indexing.
        """
        if "json" not in self._cache:
            self._cache["json"] = parse_json(self.body)
        return self._cache["json"]

    @property
    def form(self) -> FormFields:
        """URL-encoded or multipart fields (files excluded; see :attr:`files`)."""
        return self._parse_form()[0]

    @property
    def files(self) -> list[UploadedFile]:
        """Files uploaded in a multipart form."""
        return self._parse_form()[1]

    def form_param(self, name: str = "payload") -> Any:
        """A JSON document carried in one form field (GitHub's form content type); ``Any``."""
        return form_param(self.form, name)

    def _parse_form(self) -> tuple[FormFields, list[UploadedFile]]:
        if "form" not in self._cache:
            self._cache["form"] = parse_form(self.headers.get("content-type") or "", self.body)
        return self._cache["form"]  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"').lower()
    return None


class Response:
    """An HTTP answer a route handler returns: body, status, headers and media type.

    ``rejected``: set it to a short reason to record the answer as a rejected delivery
    (``hookport events rejected``) whatever its status, as hooks whose trigger rules do not
    match are (adnanh answers those 200). Any 4xx answer is recorded without it.
    """

    __slots__ = ("body", "headers", "media_type", "rejected", "status")

    def __init__(
        self,
        body: bytes | str | None = b"",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        if isinstance(body, str):
            self.body = body.encode("utf-8")
            media_type = media_type or "text/plain; charset=utf-8"
        else:
            self.body = body or b""
        self.status = status
        self.headers = dict(headers or {})
        self.media_type = media_type
        self.rejected: str | None = None

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Response:
        """A JSON response."""
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(body, status, headers, "application/json")

    def header_list(self) -> list[tuple[str, str]]:
        """Headers to send, with ``Content-Type`` and ``Content-Length`` filled in."""
        out = [
            (k, v)
            for k, v in self.headers.items()
            if k.lower() not in ("content-length", "content-type")
        ]
        ctype = self.headers.get("content-type") or self.headers.get("Content-Type")
        ctype = ctype or self.media_type
        if ctype:
            out.append(("content-type", ctype))
        out.append(("content-length", str(len(self.body))))
        return out

    def __repr__(self) -> str:
        return f"<Response {self.status} {len(self.body)} bytes>"


@dataclass(frozen=True, slots=True)
class Enqueue:
    """A route's answer that hands the request to a receiver of the same plugin.

    The request is stored as an event of ``receiver`` (an endpoint name), with ``event_type``
    and the delivery id the receiver would take (dedupe); ``response`` is answered once it is
    committed (to a duplicate too), and recorded as the event's response. Workers then run the
    receiver's handlers as for any of its events. A store that cannot commit is a 503, as for
    a receiver. adnanh/webhook hooks that do not wait for their command answer this way.
    """

    receiver: str
    response: Response
    event_type: str | None = None


class UnsupportedReturn(TypeError):
    """A route handler returned a value that :func:`to_response` cannot answer.

    ``type_name`` names the returned type; the request pipeline logs it with the plugin and the
    handler and answers 500, and the server keeps serving.
    """

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(message)
        self.type_name = type_name


ANSWERABLE = (
    "str, bytes, dict, list, None, a hookport.Response, (body, status) or (body, status, headers)"
)
"""What a route handler may return, as error messages and ``hookport check`` say it."""


def to_response(value: Any, *, convert: Callable[[Any], Response | None] | None = None) -> Response:
    """Map a route handler's return value to a :class:`Response` (DESIGN §2).

    ``(body, status)`` and ``(body, status, headers)`` set the status and add headers to what
    ``body`` maps to (as Flask and Nekro Agent handlers return them). ``convert`` maps values
    this module does not know (the templating layer's ``TemplateResponse``), or returns None.
    Anything else raises :class:`UnsupportedReturn`.
    """
    if isinstance(value, tuple):
        return _from_tuple(value, convert)
    return _from_body(value, convert)


def _from_body(value: Any, convert: Callable[[Any], Response | None] | None) -> Response:
    if isinstance(value, Response):
        return value
    if value is None:
        return Response(b"")
    if isinstance(value, str):
        return Response(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return Response(bytes(value), media_type="application/octet-stream")
    if isinstance(value, dict | list):
        return Response.json(value)
    converted = convert(value) if convert is not None else None
    if converted is not None:
        return converted
    name = type(value).__name__
    raise UnsupportedReturn(name, f"a route handler returned {name}; return {ANSWERABLE}")


def _from_tuple(
    value: tuple[Any, ...], convert: Callable[[Any], Response | None] | None
) -> Response:
    if len(value) not in (2, 3):
        raise UnsupportedReturn(
            f"tuple of {len(value)}",
            f"a route handler returned a tuple of {len(value)}; return (body, status) or "
            "(body, status, headers)",
        )
    body, status, *rest = value
    if isinstance(body, tuple) or not _is_status(status):
        raise UnsupportedReturn(
            f"tuple[{type(body).__name__}, {type(status).__name__}]",
            f"a route handler returned ({type(body).__name__}, {status!r}); a tuple is "
            "(body, status[, headers]) with an int status from 100 to 599",
        )
    headers = rest[0] if rest else None
    try:
        extra = dict(headers or {})
    except (TypeError, ValueError):
        raise UnsupportedReturn(
            f"headers {type(headers).__name__}",
            f"a route handler returned headers as {type(headers).__name__}; use a mapping "
            "or a list of (name, value) pairs",
        ) from None
    base = _from_body(body, convert)
    merged = {**base.headers, **{str(k): str(v) for k, v in extra.items()}}
    return Response(base.body, status, merged, base.media_type)


def _is_status(status: object) -> bool:
    return isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599


_ANSWERABLE_TYPES: tuple[type, ...] = (
    str, bytes, bytearray, memoryview, dict, list, Response, Enqueue, type(None),
)  # fmt: skip


def unanswerable_return(func: Callable[..., Any], also: tuple[type, ...] = ()) -> str | None:
    """Why ``func``'s annotated return type cannot be answered by a route, or None.

    None also when there is no annotation or it cannot be resolved: only a type that can never
    be answered is reported (``int``, ``set[str]``, a model class). ``also``: further types the
    caller answers (templates).
    """
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolvable annotations (forward references): nothing to say
        return None
    if "return" not in hints:
        return None
    return _annotation_problem(hints["return"], _ANSWERABLE_TYPES + also)


def _annotation_problem(tp: Any, allowed: tuple[type, ...]) -> str | None:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        parts = args[:1] if origin is typing.Annotated else args
        return next((p for p in (_annotation_problem(a, allowed) for a in parts) if p), None)
    if origin is typing.Literal:
        return next((_name(type(a)) for a in args if not isinstance(a, allowed)), None)
    cls = origin if isinstance(origin, type) else tp
    if tp is None or tp is typing.Any or not isinstance(cls, type):
        return None  # None, Any, a TypeVar or a construct this check does not know
    if issubclass(cls, tuple):
        return _tuple_problem(tp, args, allowed)
    if _subclass(cls, allowed) or any(_subclass(a, (cls,)) for a in allowed):
        return None  # answerable, or a base class an answerable value may be (Mapping, object)
    return _name(tp)


def _subclass(cls: type, of: tuple[type, ...]) -> bool:
    try:
        return issubclass(cls, of)
    except TypeError:  # a class issubclass cannot test (a non-runtime Protocol): assume yes
        return True


def _tuple_problem(tp: Any, args: tuple[Any, ...], allowed: tuple[type, ...]) -> str | None:
    if not args or (len(args) == 2 and args[1] is Ellipsis):
        return None
    if len(args) not in (2, 3) or _annotation_problem(args[1], (int,)):
        return f"{_name(tp)} (a tuple is (body, status) or (body, status, headers))"
    return _annotation_problem(args[0], allowed)


def _name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) and not typing.get_args(tp) else str(tp)

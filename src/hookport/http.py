"""HTTP values: the :class:`Request` handlers and verifiers read, :class:`Response`, and the
body reader that enforces size limits and decodes ``Content-Encoding`` as it streams.
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import FormData, QueryParams, UploadFile

from hookport.errors import (
    ConfigError,
    HTTPError,
    PayloadError,
    PayloadTooLarge,
    UnsupportedEncoding,
)
from hookport.events import parse_json
from hookport.types import JSON, MultiMapping

__all__ = ["HTTPError", "Request", "Response", "read_body"]

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file from a multipart form: its field, file name, content type and bytes."""

    field: str
    filename: str | None
    content_type: str | None
    content: bytes


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
    def json(self) -> JSON:
        """The body parsed as JSON; ``HTTPError(400)`` when malformed, not UTF-8 or too deep."""
        if "json" not in self._cache:
            self._cache["json"] = parse_json(self.body)
        return self._cache["json"]  # type: ignore[no-any-return]

    @property
    def form(self) -> FormData:
        """URL-encoded or multipart fields (files excluded; see :attr:`files`)."""
        return self._parse_form()[0]

    @property
    def files(self) -> list[UploadedFile]:
        """Files uploaded in a multipart form."""
        return self._parse_form()[1]

    def form_param(self, name: str = "payload") -> JSON:
        """A JSON document carried in one form field (GitHub's form content type)."""
        value = self.form.get(name)
        if not isinstance(value, str):
            raise PayloadError(f"form field {name!r} is missing")
        return parse_json(value.encode("utf-8"))

    def _parse_form(self) -> tuple[FormData, list[UploadedFile]]:
        if "form" not in self._cache:
            self._cache["form"] = parse_form(self.headers.get("content-type") or "", self.body)
        return self._cache["form"]  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


def parse_form(content_type: str, body: bytes) -> tuple[FormData, list[UploadedFile]]:
    """Parse an urlencoded or multipart body; anything else has no fields."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        return _parse_multipart(content_type, body)
    if media in ("application/x-www-form-urlencoded", ""):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError("form body is not valid UTF-8") from None
        pairs: list[tuple[str, str | UploadFile]] = list(parse_qsl(text, keep_blank_values=True))
        return FormData(pairs), []
    return FormData(), []


def _parse_multipart(content_type: str, body: bytes) -> tuple[FormData, list[UploadedFile]]:
    from python_multipart import parse_form as mp_parse
    from python_multipart.exceptions import FormParserError

    fields: list[tuple[str, str | UploadFile]] = []
    files: list[UploadedFile] = []

    def on_field(field: Any) -> None:
        value = field.value or b""
        fields.append((_text(field.field_name), value.decode("utf-8", "replace")))

    def on_file(file: Any) -> None:
        file.file_object.seek(0)
        files.append(
            UploadedFile(
                _text(file.field_name),
                _text(file.file_name) or None,
                file.content_type,
                file.file_object.read(),
            )
        )

    headers = {
        "Content-Type": content_type.encode("latin-1"),
        "Content-Length": str(len(body)).encode(),
    }
    try:
        mp_parse(headers, io.BytesIO(body), on_field, on_file)
    except (FormParserError, ValueError) as exc:
        raise PayloadError(f"malformed multipart body: {exc}") from None
    return FormData(fields), files


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"').lower()
    return None


class Response:
    """An HTTP answer a route handler returns: body, status, headers and media type."""

    __slots__ = ("body", "headers", "media_type", "status")

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


def to_response(value: Any) -> Response:
    """Map a route handler's return value to a :class:`Response` (DESIGN §2)."""
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
    raise TypeError(
        f"a route handler returned {type(value).__name__}; return str, bytes, dict, list, "
        "None or a hookport.Response"
    )


# --- reading the body -------------------------------------------------------------------------

_ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def content_codings(header: str | None) -> list[str]:
    """The ``Content-Encoding`` codings in the order they were applied; 415 if unknown."""
    codings = [c.strip().lower() for c in (header or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    for coding in codings:
        if coding not in _ENCODINGS:
            raise UnsupportedEncoding(coding)
    return codings


class _Decoder:
    """Streaming decompression that never produces more than ``limit`` bytes in all.

    Each stage decodes one coding; a gzip stage accepts several concatenated members, as
    RFC 1952 allows, so no trailing data is silently dropped.
    """

    def __init__(self, codings: list[str], limit: int) -> None:
        # Decode in reverse order of application.
        self._wbits = [_ENCODINGS[c] for c in reversed(codings)]
        self._stages = [zlib.decompressobj(w) for w in self._wbits]
        self._limit = limit

    def feed(self, data: bytes, produced: int) -> bytes:
        for index in range(len(self._stages)):
            data = self._run(index, data, produced)
        return data

    def finish(self, produced: int) -> bytes:
        data = b""
        for index in range(len(self._stages)):
            data = self._run(index, data, produced)
            stage = self._stages[index]
            data += stage.flush()
            if not stage.eof:
                raise PayloadError("compressed body is truncated")
        return data

    def _run(self, index: int, data: bytes, produced: int) -> bytes:
        out = b""
        while True:
            stage = self._stages[index]
            room = self._limit - produced - len(out) + 1
            try:
                out += stage.decompress(data, room)
            except zlib.error:
                raise PayloadError("compressed body is corrupt") from None
            if produced + len(out) > self._limit or stage.unconsumed_tail:
                raise PayloadTooLarge(self._limit)
            if not (stage.eof and stage.unused_data):
                return out
            if self._wbits[index] != _ENCODINGS["gzip"]:
                raise PayloadError("trailing data after the compressed body")
            data = stage.unused_data  # the next gzip member
            self._stages[index] = zlib.decompressobj(self._wbits[index])


async def read_body(receive: Receive, headers: MultiMapping, limit: int) -> bytes:
    """Read the whole body, decoding ``Content-Encoding``; 413 past ``limit`` (raw or decoded)."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)
    codings = content_codings(headers.get("content-encoding"))
    decoder = _Decoder(codings, limit) if codings else None
    chunks: list[bytes] = []
    raw_size = 0
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        raw_size += len(chunk)
        if raw_size > limit:
            raise PayloadTooLarge(limit)
        if decoder is not None:
            chunk = decoder.feed(chunk, size)
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        if chunk:
            chunks.append(chunk)
    if decoder is not None:
        tail = decoder.finish(size)
        if size + len(tail) > limit:
            raise PayloadTooLarge(limit)
        chunks.append(tail)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class ClientDisconnected(Exception):
    """The client went away before the body was read."""


def resolve_client(
    peer: str | None, headers: MultiMapping, trusted: Sequence[IPv4Network | IPv6Network]
) -> str | None:
    """The client address: the peer, or, when the peer is a trusted proxy, the first address
    from the right of ``X-Forwarded-For`` (else ``Forwarded: for=``) that is not a trusted proxy.
    """
    if peer is None or not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = _forwarded_for(headers)
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _forwarded_for(headers: MultiMapping) -> list[str]:
    xff = headers.getlist("x-forwarded-for")
    if xff:
        return [h.strip() for line in xff for h in line.split(",") if h.strip()]
    hops: list[str] = []
    for line in headers.getlist("forwarded"):
        for element in line.split(","):
            for pair in element.split(";"):
                key, _, value = pair.strip().partition("=")
                if key.lower() == "for" and value:
                    hops.append(_strip_forwarded(value))
    return hops


def _strip_forwarded(value: str) -> str:
    value = value.strip().strip('"')
    if value.startswith("["):  # [2001:db8::1]:4711
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:  # 192.0.2.1:4711
        return value.split(":", 1)[0]
    return value


def _is_trusted(address: str, trusted: Sequence[IPv4Network | IPv6Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def parse_networks(cidrs: Sequence[str]) -> list[IPv4Network | IPv6Network]:
    """Parse CIDRs (``ConfigError`` on a bad one)."""
    out = []
    for cidr in cidrs:
        try:
            out.append(ip_network(cidr, strict=False))
        except ValueError:
            raise ConfigError(f"invalid network {cidr!r} in trusted_proxies") from None
    return out

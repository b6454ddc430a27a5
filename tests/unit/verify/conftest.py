"""A minimal ``IncomingRequest`` for verifier tests (independent of ``hookport.http``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hookport.types import IncomingRequest, Signed, Verifier

NOW = 1_700_000_000.0
URL = "https://hooks.example.com/hook"


class MultiDict:
    """Multi-valued mapping; case-insensitive keys when ``fold`` (headers)."""

    def __init__(self, items: Iterable[tuple[str, str]] = (), *, fold: bool = False) -> None:
        self._items = list(items)
        self._fold = fold

    def _key(self, key: str) -> str:
        return key.lower() if self._fold else key

    def get(self, key: str, default: Any = None) -> Any:
        values = self.getlist(key)
        return values[0] if values else default

    def getlist(self, key: Any) -> list[Any]:
        return [v for k, v in self._items if self._key(k) == self._key(key)]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self.getlist(key))

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for k, _ in self._items))

    def keys(self) -> list[str]:
        return list(self)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


@dataclass
class FakeRequest:
    """Implements ``IncomingRequest``: headers multi-valued and case-insensitive."""

    body: bytes = b""
    headers_list: list[tuple[str, str]] = field(default_factory=list)
    url: str = URL
    method: str = "POST"
    client: str | None = "203.0.113.7"

    @property
    def path(self) -> str:
        return self.url.partition("?")[0]

    @property
    def headers(self) -> MultiDict:
        return MultiDict(self.headers_list, fold=True)

    @property
    def query(self) -> MultiDict:
        query = self.url.partition("?")[2].partition("#")[0]
        return MultiDict(parse_qsl(query, keep_blank_values=True))

    @property
    def form(self) -> MultiDict:
        content_type = self.headers.get("content-type") or ""
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return MultiDict()
        return MultiDict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


def request(
    body: bytes = b"",
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    **kwargs: Any,
) -> FakeRequest:
    """Build a request; ``headers`` as a mapping or as (name, value) pairs (duplicates kept)."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    return FakeRequest(body=body, headers_list=pairs, **kwargs)


def with_query(url: str, query: Mapping[str, str]) -> str:
    """Append signer query parameters the way ``hookport send`` does."""
    if not query:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(query)


def signed(
    verifier: Verifier,
    body: bytes,
    *,
    url: str = URL,
    now: float = NOW,
    event_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    client: str | None = "203.0.113.7",
) -> FakeRequest:
    """A request carrying what ``verifier.sign`` adds (plus ``headers``)."""
    extra = dict(headers or {})
    out: Signed = verifier.sign(body, url=url, now=now, event_type=event_type, headers=extra)
    pairs = list(extra.items()) + list(out.headers.items())
    return FakeRequest(body=body, headers_list=pairs, url=with_query(url, out.query), client=client)


def replace_header(req: FakeRequest, name: str, value: str | None) -> FakeRequest:
    """A copy with every ``name`` header replaced by ``value`` (or removed when None)."""
    pairs = [(k, v) for k, v in req.headers_list if k.lower() != name.lower()]
    if value is not None:
        pairs.append((name, value))
    return FakeRequest(req.body, pairs, req.url, req.method, req.client)


def is_request(obj: object) -> bool:
    return isinstance(obj, IncomingRequest)

"""Reading a request body: size limits, raw and decoded, and ``Content-Encoding`` decoded as
it streams (gzip, several members allowed; deflate as zlib, RFC 9110).
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from hookport.errors import PayloadError, PayloadTooLarge, ServerBusy, UnsupportedEncoding
from hookport.events import check_json
from hookport.forms import FORM_TYPE, is_json_type, media_type
from hookport.types import BodyFormat, IncomingRequest, MultiMapping

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


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


class BodyBudget:
    """The bytes of request bodies one process holds in memory at once, at most ``limit``.

    Every request being read takes its bytes from the budget (the declared length up front,
    else chunk by chunk) and gives them back when it ends (:meth:`hold`), so many slow or
    unverifiable uploads cannot take the memory: past the budget, ``ServerBusy`` (503).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> None:
        """Take ``size`` bytes; ``ServerBusy`` if that would pass the limit."""
        if self.used + size > self.limit:
            raise ServerBusy
        self.used += size

    def hold(self) -> BodyHold:
        """A hold for one request: bytes it takes are given back when the hold is released."""
        return BodyHold(self)


class BodyHold:
    """One request's share of a :class:`BodyBudget`."""

    __slots__ = ("_budget", "held")

    def __init__(self, budget: BodyBudget) -> None:
        self._budget = budget
        self.held = 0

    def take(self, size: int) -> None:
        """Take ``size`` more bytes for this request."""
        self._budget.take(size)
        self.held += size

    def release(self) -> None:
        """Give every byte back (idempotent)."""
        self._budget.used -= self.held
        self.held = 0


async def read_body(
    receive: Receive, headers: MultiMapping, limit: int, hold: BodyHold | None = None
) -> bytes:
    """Read the whole body, decoding ``Content-Encoding``; 413 past ``limit`` (raw or decoded).

    With a ``hold``, the declared ``Content-Length`` (else each chunk as it comes, and the
    decoded bytes) is taken from its budget first: 503 ``ServerBusy`` when there is no room.
    """
    declared = headers.get("content-length")
    known = int(declared) if declared is not None and declared.isdigit() else None
    if known is not None and known > limit:
        raise PayloadTooLarge(limit)
    if hold is not None and known is not None:
        hold.take(known)
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
        if hold is not None and (known is None or raw_size > known):
            hold.take(len(chunk))
        if decoder is not None:
            chunk = decoder.feed(chunk, size)
            if hold is not None:
                hold.take(len(chunk))
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


def check_format(rule: BodyFormat, request: IncomingRequest) -> None:
    """Refuse a receiver's body that is not what its provider sends (``PayloadError``: 400).

    Runs after verification and before storing, so a delivery whose handler could only fail
    on ``event.json`` is never acknowledged. See :data:`hookport.types.BodyFormat`.
    """
    if rule == "any":
        return
    if rule == "json":
        check_json(request.body)
        return
    if not request.body and request.method in ("GET", "HEAD"):
        return
    media = media_type(request.headers.get("content-type"))
    if is_json_type(media):
        check_json(request.body)
    elif media == FORM_TYPE:
        form = request.form  # a form that is not UTF-8 is refused here
        if rule == "json_or_payload":
            payload = form.get("payload")
            if not isinstance(payload, str):
                raise PayloadError(
                    "a form delivery must carry its JSON in the 'payload' field "
                    "(or send Content-Type: application/json)"
                )
            check_json(payload.encode("utf-8"))
    else:
        shown = media or "none"
        raise PayloadError(
            f"Content-Type {shown} is not accepted here: send application/json "
            "or application/x-www-form-urlencoded"
        )

"""HTTP connections facing the internet: header limits, header timeout, a connection cap.

uvicorn parses HTTP well but leaves these to a proxy in front of it. hookport may face senders
directly (``serve --tls``), so its HTTP protocol is uvicorn's httptools protocol plus:

- **header limits**: the request line and headers together at most ``max_header_bytes``, at
  most ``max_headers`` fields; past either the answer is ``431`` and the connection closes.
  Counted as bytes arrive, so a huge header is refused before it is parsed, not after;
- **header timeout**: a connection must deliver a complete request head within
  ``header_timeout`` seconds of opening (or of its previous answer); otherwise ``408`` (if it
  sent anything) and close. uvicorn's keep-alive timer restarts on every byte, so a client
  sending one byte every few seconds (slowloris) would hold a connection forever;
- **connection cap**: at most ``max_connections`` open at once. A new connection over the cap
  closes the oldest one that is not in the middle of a request (idle keep-alive, or still
  sending its head), so idle or slow clients cannot lock real senders out; when every
  connection is busy, the new one is closed. Either is logged, at most every few seconds.

Body limits and timeouts are the request pipeline's (``body:read_body``).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass, field
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("hookport.server")

_LINGER_SECONDS = 2.0
"""How long a refused connection's remaining input is read and dropped before closing."""
_RESERVED_DESCRIPTORS = 64
"""File descriptors kept free for the store, logs and the listening socket."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The limits of one server's connections."""

    max_header_bytes: int = 65_536
    max_headers: int = 100
    header_timeout: float = 10.0
    max_connections: int = 1000


def default_max_connections() -> int:
    """The descriptor limit (``ulimit -n``) minus a reserve: more would fail ``accept``."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 10_000
    return max(16, soft - _RESERVED_DESCRIPTORS)


@dataclass
class _Registry:
    """Open connections of one server, oldest first, and the rate limit of cap log lines."""

    limits: ConnectionLimits
    open: dict[GuardedProtocol, None] = field(default_factory=dict)
    last_log: float = float("-inf")
    quiet: int = 0

    def admit(self, conn: GuardedProtocol) -> bool:
        """Make room for ``conn``; False when every open connection is busy."""
        if len(self.open) >= self.limits.max_connections:
            victim = next((c for c in self.open if c.evictable), None)
            if victim is None:
                self._note("connection cap %d reached, every connection busy: refused one")
                return False
            self._note("connection cap %d reached: closed the oldest idle connection")
            victim.evict()
        self.open[conn] = None
        return True

    def _note(self, message: str) -> None:
        now = time.monotonic()
        if now - self.last_log < 5.0:
            self.quiet += 1
            return
        suffix = f" ({self.quiet} more since the last line)" if self.quiet else ""
        log.warning(message + suffix, self.limits.max_connections)
        self.last_log, self.quiet = now, 0


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header limits, a header timeout and a cap.

    Built per server by :func:`protocol_class`, which sets ``registry``.
    """

    registry: _Registry

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._head_fields = 0
        self._reject = 0
        self._discarding = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._request_busy = False
        self._body_done = True

    @property
    def evictable(self) -> bool:
        """Not in the middle of a request: idle keep-alive, or still sending its head."""
        return not self._request_busy

    def evict(self) -> None:
        """Close this connection to make room for a new one."""
        self.registry.open.pop(self, None)
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.registry.admit(self):
            self.connections.discard(self)
            transport.close()
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.registry.open.pop(self, None)
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return  # refused: what the client still sends is read and dropped
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # Still in the head after feeding this chunk: all of it was head. A chunk that also
        # ended the head (and carried body bytes) was cleared by on_headers_complete.
        if self._in_head and self._head_bytes > self.registry.limits.max_header_bytes:
            self._refuse(431, "request headers too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._body_done = False

    def on_message_complete(self) -> None:
        self._body_done = True
        super().on_message_complete()
        if not self._request_busy and not self.transport.is_closing():
            self._arm_head_timer()  # answered before its body ended: the next head's clock

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_fields += 1
        if self._head_fields > self.registry.limits.max_headers:
            self._reject = 431
            raise ValueError("too many header fields")  # stops the parser: see send_400_response
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._head_fields = 0
        self._request_busy = True
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        self._request_busy = False
        super().on_response_complete()
        # An answer sent before the body ended (a 413, a 401 from the head) leaves body bytes
        # to come: they are the body, not the next head, until the message completes.
        if self._body_done and not self.transport.is_closing():
            self._arm_head_timer()

    def send_400_response(self, msg: str) -> None:
        if self._reject:  # our own limit stopped the parser
            self._refuse(self._reject, "too many request header fields")
            return
        super().send_400_response(msg)

    def _refuse(self, status: int, message: str) -> None:
        if self.transport.is_closing() or self._discarding:
            return
        self._in_head = False
        self._discarding = True
        self._cancel_head_timer()
        reason = {408: "Request Timeout", 431: "Request Header Fields Too Large"}[status]
        body = b'{"error":"%s"}' % message.encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, reason.encode(), len(body), body)
        )
        # A lingering close: closing with unread data in the socket would send a reset that
        # can destroy the answer before the client reads it. Half-close instead, drop what
        # still arrives, and close for good once the client does or after a grace period.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self._close)

    def _close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(
            self.registry.limits.header_timeout, self._head_timed_out
        )

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._request_busy or self.transport.is_closing():
            return
        if self._head_bytes:
            self._refuse(408, "request headers not received in time")
        else:
            self.transport.close()  # an idle connection: nothing to answer


def protocol_class(limits: ConnectionLimits) -> type[GuardedProtocol]:
    """A protocol class for one server: its connections share one registry and ``limits``."""
    return type("HookportHttpProtocol", (GuardedProtocol,), {"registry": _Registry(limits)})

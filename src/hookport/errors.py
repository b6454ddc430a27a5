"""hookport's exceptions: one rooted tree, mapped to HTTP in one place (``http.error_response``).

::

    HookportError
    ├── ConfigError (ValueError)        bad settings, missing secret, unknown channel
    ├── PluginError                     a plugin that cannot be loaded or assembled
    ├── HTTPError                       carries ``status`` and a public message
    │   ├── PayloadError        400     malformed JSON / form / delivery id
    │   ├── VerificationError   401     missing or invalid credentials or signature
    │   ├── ForbiddenError      403     client address not allowed
    │   ├── RequestTimeout      408     body not received within ``body_timeout``
    │   ├── PayloadTooLarge     413     body over ``max_body_size`` (also decompressed)
    │   ├── UnsupportedEncoding 415     ``Content-Encoding`` other than gzip/deflate/identity
    │   ├── ServerBusy          503     request bodies in memory at ``max_buffered``
    │   └── EndpointPaused      503     a paused route (``hookport pause``)
    ├── StoreError                      a store operation failed (not tied to a request)
    │   └── StoreUnavailable            the store cannot commit now (HTTP surfaces answer 503)
    ├── NotifyError                     a notification could not be delivered
    ├── NotFoundError (LookupError)     an endpoint or event named by an operation does not exist
    ├── HandlerTimeout (TimeoutError)   a handler ran past its timeout
    └── WorkerStopped                   the worker stopped while a handler still ran

Messages of HTTP-facing errors are safe to show to the sender: they never contain secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class HookportError(Exception):
    """Root of every error hookport raises on purpose."""


class ConfigError(HookportError, ValueError):
    """The configuration is invalid (bad value, missing secret, unknown channel)."""


class PluginError(HookportError):
    """A plugin failed to load or to assemble; the message names the plugin."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r}: {message}")
        self.plugin = plugin
        self.message = message


class HTTPError(HookportError):
    """An error answered to the HTTP client as ``{"error": message}`` with ``status``.

    Raise it from a route handler to answer with that status.
    """

    default_status: ClassVar[int] = 500

    def __init__(
        self,
        status: int | None = None,
        message: str = "",
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status if status is not None else self.default_status
        self.message = message or _reason(self.status)
        self.headers = dict(headers or {})
        super().__init__(self.message)

    @property
    def status_code(self) -> int:
        """Alias of ``status`` (the name Starlette and httpx use)."""
        return self.status


class PayloadError(HTTPError):
    """The body cannot be decoded as the endpoint requires (400)."""

    default_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


class VerificationError(HTTPError):
    """Missing or invalid credentials, signature, or a stale timestamp (401)."""

    default_status = 401

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(None, message, headers=headers)


class ForbiddenError(HTTPError):
    """The client address is not allowed (403)."""

    default_status = 403

    def __init__(self, message: str = "client address not allowed") -> None:
        super().__init__(None, message)


class PayloadTooLarge(HTTPError):
    """The body, raw or decompressed, is over ``max_body_size`` (413)."""

    default_status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(None, f"request body is larger than the limit of {limit} bytes")
        self.limit = limit


class RequestTimeout(HTTPError):
    """The client did not send its whole body within ``[server] body_timeout`` (408)."""

    default_status = 408

    def __init__(self, seconds: float) -> None:
        super().__init__(
            None, f"request body not received within {seconds:g}s", headers={"Connection": "close"}
        )


class ServerBusy(HTTPError):
    """Bodies being read already hold ``[server] max_buffered`` bytes (503, retry later)."""

    default_status = 503

    def __init__(self) -> None:
        super().__init__(
            None, "too many request bodies in flight, retry later", headers={"Retry-After": "1"}
        )


class EndpointPaused(HTTPError):
    """A paused route (503 with ``Retry-After``: the seconds left, else a minute)."""

    default_status = 503

    def __init__(self, endpoint: str, retry_after: int = 60) -> None:
        super().__init__(
            None,
            f"endpoint {endpoint} is paused, retry later",
            headers={"Retry-After": str(max(1, retry_after))},
        )


class UnsupportedEncoding(HTTPError):
    """A ``Content-Encoding`` hookport does not decode (415)."""

    default_status = 415

    def __init__(self, encoding: str) -> None:
        super().__init__(
            None, f"unsupported Content-Encoding {encoding!r}; use gzip, deflate or identity"
        )


class StoreError(HookportError):
    """A store operation failed."""


class StoreUnavailable(StoreError):
    """The store cannot commit now (down, locked, queue full); nothing was acknowledged.

    Not an HTTP error: the HTTP surfaces (ingest, the admin API) answer it with 503 and
    ``Retry-After: retry_after`` through :func:`hookport.http.error_response`. ``message`` is
    safe to show to a client (driver details go to the logs only).
    """

    def __init__(self, message: str = "store unavailable, retry later", *, retry_after: int = 5):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class NotFoundError(HookportError, LookupError):
    """An endpoint or event named by an operation (CLI, admin API, chat) does not exist."""


class NotifyError(HookportError):
    """A notification could not be delivered through its channel."""


class HandlerTimeout(HookportError, TimeoutError):
    """A handler ran longer than its timeout."""


class ReportedFailure(HookportError):
    """A handler failure that carries its own record: ``report`` is kept with the attempt
    instead of a traceback (a command's exit code and output, for example)."""

    def __init__(self, message: str, report: str) -> None:
        super().__init__(message)
        self.report = report


class WorkerStopped(HookportError):
    """The worker stopped (shutdown timeout) while a handler of the event was still running.

    Recorded as that handler's outcome: the handler may have done some or all of its work, and
    the event is due again at once.
    """


_REASONS = {
    400: "bad request",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    413: "payload too large",
    415: "unsupported media type",
    422: "unprocessable entity",
    500: "internal server error",
    503: "service unavailable",
}


def _reason(status: int) -> str:
    return _REASONS.get(status, "error")

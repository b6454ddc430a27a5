"""Trial deliveries: a request signed as the endpoint's sender would sign it, run in-process.

``hookport send`` signs a test webhook with :func:`sign_request`; ``hookport send --local`` and
the chat command ``test PATH [BODY]`` run one through the real pipeline (verification, the
route or the receiver's handlers). :class:`Trial` runs it against a throwaway SQLite store in a
temporary directory, so a trial never writes to the real store: nothing is recorded, no
dedupe key is taken, no pause applies. Handlers do run for real (a ``ctx.send`` notifies).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlencode

import httpx

from hookport.assembly import Assembly, Endpoint
from hookport.config import Settings, StoreSettings
from hookport.errors import NotFoundError
from hookport.forms import guess_content_type
from hookport.ingest import Ingest, Receive, Scope, Send
from hookport.metrics import Metrics
from hookport.routing import Match
from hookport.store import open_store
from hookport.store.base import Store
from hookport.threads import ThreadLane
from hookport.worker import Worker

__all__ = ["HandlerRun", "SignedRequest", "Trial", "TrialResult", "find_endpoint", "sign_request"]

log = logging.getLogger("hookport.trial")

MAX_ANSWER = 4096
"""Characters of a trial's answer body kept in its result."""


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request ready to send: target (path and query), headers and body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def find_endpoint(assembly: Assembly, method: str, path: str) -> Endpoint:
    """The endpoint serving ``method path`` (query ignored); ``NotFoundError`` naming what the
    path allows when nothing matches fully."""
    path_only = path.partition("?")[0]
    found = assembly.table.match(method, path_only)
    if found.kind is not Match.FULL or found.target is None:
        allowed = f" (allowed: {', '.join(found.allow)})" if found.allow else ""
        raise NotFoundError(f"no endpoint for {method} {path_only}{allowed}")
    return found.target


def sign_request(
    endpoint: Endpoint,
    body: bytes,
    *,
    target: str,
    method: str = "POST",
    event_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    base_url: str = "http://127.0.0.1",
    now: float | None = None,
) -> SignedRequest:
    """Sign ``body`` for ``endpoint`` as its sender would (fresh delivery id, timestamp now).

    ``target`` is the path with any query; the verifier's own query parameters are added to it.
    A body without ``Content-Type`` gets the one its content suggests.
    """
    extra = dict(headers or {})
    if body and not any(k.lower() == "content-type" for k in extra):
        extra["Content-Type"] = guess_content_type(body)
    path, _, query = target.partition("?")
    if endpoint.verifier is not None:
        signed = endpoint.verifier.sign(
            body,
            url=base_url.rstrip("/") + target,
            now=time.time() if now is None else now,
            event_type=event_type,
            headers=extra,
        )
        extra.update(signed.headers)
        if signed.query:
            query = "&".join(q for q in (query, urlencode(signed.query)) if q)
    elif event_type:
        extra["X-Hookport-Event"] = event_type
    return SignedRequest(method, path + (f"?{query}" if query else ""), extra, body)


@dataclass(frozen=True, slots=True)
class HandlerRun:
    """One handler's outcome in a trial."""

    handler: str
    ok: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TrialResult:
    """What a trial delivery got: the answer, and for a receiver each handler's outcome.

    ``event_status`` is the event's status after the workers ran it (None for a route, or a
    delivery that was not accepted); ``body`` is the answer's text, at most
    :data:`MAX_ANSWER` characters.
    """

    endpoint: str
    status: int
    body: str
    event_status: str | None = None
    handlers: tuple[HandlerRun, ...] = ()


class Trial:
    """Runs trial deliveries for ``assembly``'s endpoints, each against its own throwaway store."""

    def __init__(self, assembly: Assembly, settings: Settings) -> None:
        self.assembly = assembly
        self.settings = settings

    async def run(self, request: SignedRequest, *, timeout: float = 30.0) -> TrialResult:  # noqa: ASYNC109 - a bound on the handlers
        """Deliver ``request`` in-process, then run its event's handlers (a receiver's) until
        nothing is due; ``TimeoutError`` if they take longer than ``timeout``."""
        endpoint = find_endpoint(self.assembly, request.method, request.target)
        with tempfile.TemporaryDirectory(prefix="hookport-trial-") as folder:
            url = f"sqlite:///{Path(folder) / 'trial.db'}"
            store = open_store(StoreSettings(url=url, synchronous="normal"))
            await store.open()
            try:
                return await self._deliver(store, endpoint, request, timeout)
            finally:
                await store.close()

    async def _deliver(
        self, store: Store, endpoint: Endpoint, request: SignedRequest, budget: float
    ) -> TrialResult:
        server = self.settings.server
        metrics = Metrics()
        ingest = Ingest(
            self.assembly,
            store,
            max_body_size=server.max_body_size,
            trusted_proxies=[],
            base_url=server.base_url,
            metrics=metrics,
            route_threads=ThreadLane("trial", 2),
            route_record_max=self.settings.store.route_record_max,
        )

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await ingest(scope, receive, send, str(scope["path"]))

        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            response = await client.request(
                request.method, request.target, headers=request.headers, content=request.body
            )
        result = TrialResult(endpoint.name, response.status_code, response.text[:MAX_ANSWER])
        if endpoint.kind != "receiver" or response.status_code != 202:
            return result
        event_id = str(response.json().get("id", ""))
        worker = Worker(
            store, self.assembly, self.settings.worker, endpoints=[endpoint.name], metrics=metrics
        )
        await worker.drain(budget)
        event = await store.get(event_id)
        if event is None:
            return result
        runs = tuple(HandlerRun(a.handler, a.ok, a.error) for a in event.attempts)
        return replace(result, event_status=event.status.value, handlers=runs)

"""hookport's test kit for plugin authors.

- :func:`signed_request`: the headers, query and body a real sender would send to an endpoint,
  signed with that endpoint's own verifier.
- :class:`HookportClient`: an in-process client over an assembled app (store opened, workers
  drained on demand), built on httpx's ``ASGITransport``.
- :class:`RecordingNotifier`: captures ``ctx.send`` notifications instead of delivering them.

Example::

    async with HookportClient.create([plugin], tmp_path) as client:
        response = await client.send("/github", b'{"zen": "hi"}', event_type="ping")
        assert response.status_code == 202
        await client.drain()
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import httpx

from hookport.app import HookportApp, create_app
from hookport.assembly import Endpoint
from hookport.config import Settings, load_settings
from hookport.events import Event
from hookport.forms import guess_content_type
from hookport.notify import RecordingNotifier
from hookport.plugin import Plugin
from hookport.routing import Match

__all__ = ["HookportClient", "RecordingNotifier", "SignedRequest", "signed_request"]


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request ready to send: target (path and query), headers and body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def signed_request(
    endpoint: Endpoint,
    body: bytes,
    *,
    path: str | None = None,
    method: str = "POST",
    event_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    base_url: str = "http://testserver",
    now: float | None = None,
) -> SignedRequest:
    """Sign ``body`` for ``endpoint`` as its sender would (fresh delivery id, timestamp now)."""
    path = path or endpoint.path
    extra = dict(headers or {})
    if body and not any(k.lower() == "content-type" for k in extra):
        extra["Content-Type"] = guess_content_type(body)  # as `hookport send` does
    query = ""
    if endpoint.verifier is not None:
        signed = endpoint.verifier.sign(
            body,
            url=base_url + path,
            now=time.time() if now is None else now,
            event_type=event_type,
            headers=extra,
        )
        extra.update(signed.headers)
        query = urlencode(signed.query)
    elif event_type:
        extra["X-Hookport-Event"] = event_type
    return SignedRequest(method, path + (f"?{query}" if query else ""), extra, body)


class HookportClient:
    """An app and an httpx client talking to it in-process."""

    def __init__(self, app: HookportApp) -> None:
        self.app = app
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )

    @classmethod
    def create(
        cls,
        plugins: Iterable[Plugin],
        directory: Path,
        settings: Settings | None = None,
        **overrides: Any,
    ) -> HookportClient:
        """An app over a SQLite store in ``directory`` (workers are driven by :meth:`drain`)."""
        if settings is None:
            overrides.setdefault("store", {"url": f"sqlite:///{directory}/hookport-test.db"})
            settings = load_settings(None, {}, **overrides)
        return cls(create_app(settings, plugins))

    async def __aenter__(self) -> HookportClient:
        await self.app.startup(start_workers=False)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.http.aclose()
        await self.app.shutdown()

    async def send(
        self,
        path: str,
        body: bytes = b"",
        *,
        method: str = "POST",
        event_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request to ``path``, signed by the matching endpoint's verifier."""
        found = self.app.assembly.table.match(method, path)
        if found.kind is not Match.FULL or found.target is None:
            return await self.http.request(method, path, content=body, headers=headers)
        req = signed_request(
            found.target, body, path=path, method=method, event_type=event_type, headers=headers
        )
        return await self.http.request(
            req.method, req.target, content=req.body, headers=req.headers
        )

    async def drain(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109 - mirrors Worker
        """Run the workers until nothing is due; returns how many events they processed."""
        if self.app.worker is None:
            return 0
        return await self.app.worker.drain(timeout)

    async def event(self, event_id: str) -> Event | None:
        """A stored event with its attempts."""
        return await self.app.ops.get_event(event_id)

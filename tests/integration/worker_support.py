"""Helpers for the worker integration tests: a settable clock, events, a store with gates."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hookport.assembly import assemble
from hookport.config import load_settings
from hookport.events import Event, EventStatus, NewEvent, new_event_id
from hookport.notify import Notifications, RecordingNotifier
from hookport.plugin import Plugin, Receiver
from hookport.store.base import Finish, LeaseRequest, Store
from hookport.worker import Worker

T0 = 1_700_000_000.0


@dataclass
class FakeClock:
    """Unix time that moves only when a test says so (retry delays pass instantly)."""

    now: float = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def new_event(
    receiver: Receiver, *, received_at: float, type: str | None = "push", **params: str
) -> NewEvent:
    """A queued delivery for ``receiver``, as ingest would append it."""
    return NewEvent(
        id=new_event_id(received_at),
        kind="receiver",
        plugin=receiver.plugin.name,
        endpoint=receiver.name,
        type=type,
        delivery_id=None,
        received_at=received_at,
        method="POST",
        path=receiver.path,
        query_string="",
        headers=[("content-type", "application/json")],
        body=b"{}",
        params=dict(params),
        sender=None,
        source_ip="127.0.0.1",
    )


async def append(store: Store, receiver: Receiver, *, at: float, **kw: Any) -> str:
    """Append a delivery for ``receiver`` and return its id."""
    result = await store.append(new_event(receiver, received_at=at, **kw))
    return result.id


def make_worker(
    store: Store,
    *plugins: Plugin,
    clock: FakeClock | None = None,
    notifier: Notifications | None = None,
    owner: str | None = None,
    **settings: Any,
) -> Worker:
    """A worker for ``plugins``' receivers, assembled as ``create_app`` does.

    ``settings`` are ``[worker]`` keys.
    """
    config = load_settings(None, {}, worker=settings)
    assembly = assemble(plugins, config, notifier or RecordingNotifier())
    options: dict[str, Any] = {} if clock is None else {"clock": clock}
    return Worker(store, assembly, config.worker, owner=owner, **options)


async def status_of(store: Store, event_id: str) -> EventStatus:
    event = await store.get(event_id)
    assert event is not None
    return event.status


@dataclass
class GatedStore:
    """A real store whose lease/finish/renew can be observed and held at a gate.

    Everything else is passed straight through to the wrapped store.
    """

    inner: Store
    lease_gate: asyncio.Event | None = None
    leased: asyncio.Event = field(default_factory=asyncio.Event)
    finish_gate: asyncio.Event | None = None
    finishing: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    renewed: asyncio.Event = field(default_factory=asyncio.Event)
    lease_failures: int = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def lease(self, request: LeaseRequest) -> list[Event]:
        if self.lease_failures:
            self.lease_failures -= 1
            from hookport.errors import StoreUnavailable

            raise StoreUnavailable("simulated outage")
        events = await self.inner.lease(request)
        if events:
            self.leased.set()
            if self.lease_gate is not None:
                await self.lease_gate.wait()
        return events

    async def finish(self, finish: Finish) -> bool:
        self.finishing.set()
        if self.finish_gate is not None:
            await self.finish_gate.wait()
        kept = await self.inner.finish(finish)
        self.finished.set()
        return kept

    async def renew(self, owner: str, event_ids: Sequence[str], until: float) -> None:
        await self.inner.renew(owner, event_ids, until)
        self.renewed.set()

"""Fixtures for the store contract suite: an event factory and a fixed clock."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from hookport.events import EventStatus, NewEvent, RecordedResponse, new_event_id

# The suite's "now": fixed, so due-ness is decided by the test, not the wall clock.
T0 = 1_760_000_000.0

EventFactory = Callable[..., NewEvent]


@pytest.fixture
def t0() -> float:
    """The suite's reference time (Unix seconds)."""
    return T0


@pytest.fixture
def make_event() -> EventFactory:
    """Build ``NewEvent``s; each gets a later ``received_at`` (1 ms apart) and a fresh id."""
    counter = itertools.count(1)

    def make(
        endpoint: str = "github",
        delivery_id: str | None = None,
        *,
        kind: str = "receiver",
        type: str | None = "push",
        received_at: float | None = None,
        body: bytes = b'{"zen":"keep it logically awesome"}',
        status: EventStatus = EventStatus.QUEUED,
        response: RecordedResponse | None = None,
        **fields: Any,
    ) -> NewEvent:
        at = received_at if received_at is not None else T0 - 3600 + next(counter) / 1000
        values: dict[str, Any] = {
            "id": new_event_id(at),
            "kind": kind,
            "plugin": "demo",
            "endpoint": endpoint,
            "type": type,
            "delivery_id": delivery_id,
            "received_at": at,
            "method": "POST",
            "path": f"/{endpoint}",
            "query_string": "a=1&a=2",
            "headers": [("Content-Type", "application/json"), ("X-Multi", "1"), ("X-Multi", "2")],
            "body": body,
            "params": {"org": "octo"},
            "sender": "octocat",
            "source_ip": "192.0.2.7",
            "status": status,
            "response": response,
        }
        values.update(fields)
        return NewEvent(**values)

    return make

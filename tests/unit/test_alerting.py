"""The alert runner: attempts reported by the worker become messages; the backlog comes from
the store's grouped count; a channel that fails is counted, and the runner goes on."""

from __future__ import annotations

from typing import Any

import pytest

from hookport.alerting import Alerter
from hookport.config import AlertSettings
from hookport.events import Event, EventStatus, HandlerOutcome
from hookport.metrics import EndpointCount, Metrics
from hookport.notify import RecordingNotifier

pytestmark = pytest.mark.anyio


def make_event(endpoint: str, type: str, attempt: int) -> Event:
    return Event(
        id="0190aaaa000000000000000000000001",
        kind="receiver",
        plugin="shop",
        endpoint=endpoint,
        type=type,
        delivery_id="delivery-1",
        received_at=1_700_000_000.0,
        method="POST",
        path="/hook",
        query_string="",
        headers=[("x-private", "header-value")],
        body=b'{"secret": "payload"}',
        params={},
        sender=None,
        source_ip="127.0.0.1",
        status=EventStatus.PROCESSING,
        attempt=attempt,
    )


def settings(*rules: dict[str, Any]) -> AlertSettings:
    return AlertSettings.model_validate({"window": "1m", "rules": list(rules)})


def sent(metrics: Metrics, rule: str, outcome: str) -> float | None:
    return metrics.registry.get_sample_value(
        "hookport_alerts_sent_total", {"rule": rule, "outcome": outcome}
    )


async def test_a_dead_event_is_sent_and_a_failing_channel_counted() -> None:
    notifier = RecordingNotifier(["ops", "broken"], failing=["broken"])
    metrics = Metrics()
    alerter = Alerter(
        settings(
            {"kind": "dead", "channel": "ops"},
            {"kind": "dead", "channel": "broken", "name": "dead-too"},
        ),
        notifier,
        metrics=metrics,
    )
    event = make_event(endpoint="shop:/hook", type="order.paid", attempt=3)
    failure = HandlerOutcome("on_order", ok=False, started_at=0, finished_at=1, error="boom")
    alerter.event_finished(event, "dead", [failure])
    await alerter.send_queued()
    [message] = notifier.sent
    assert message.channel == "ops" and message.title == "hookport alert: dead"
    assert message.message == (
        f"event {event.id} of endpoint shop:/hook (type order.paid) went dead after 3 attempt(s)"
    )
    assert "boom" not in message.message
    assert sent(metrics, "dead", "ok") == 1
    assert sent(metrics, "dead-too", "error") == 1


async def test_the_backlog_is_read_from_the_store_counts() -> None:
    notifier = RecordingNotifier(["ops"])
    now = 10_000.0

    async def counts(at: float) -> list[EndpointCount]:
        return [
            EndpointCount("shop:/hook", "queued", 3, now - 700),
            EndpointCount("shop:/hook", "retrying", 1, now - 100),
            EndpointCount("shop:/other", "queued", 1, now - 5),
            EndpointCount("shop:/hook", "done", 9, None),
        ]

    alerter = Alerter(
        settings({"kind": "backlog", "channel": "ops", "max_age": "10m"}),
        notifier,
        counts=counts,
        clock=lambda: now,
    )
    await alerter.poll()
    await alerter.send_queued()
    assert notifier.messages() == [
        "the oldest due event of endpoint shop:/hook has waited 11m40s (more than 10m)"
    ]

"""``/_hookport/metrics`` after real traffic through the in-process app: each metric family.

Every test sends requests (and runs the workers) through :class:`HookportClient` over a real
SQLite file, then reads the exposition the way Prometheus does.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.metrics_support import sample, samples
from tests.notify_sink import notify_sink

from hookport import Plugin, alerting, verify
from hookport.context import Context
from hookport.events import Event
from hookport.metrics import Metrics
from hookport.store.base import LeaseRequest
from hookport.testing import HookportClient

pytestmark = pytest.mark.anyio

TOKEN = "tok-value-1"


async def scrape(client: HookportClient) -> str:
    response = await client.http.get("/_hookport/metrics")
    assert response.status_code == 200
    return response.text


def receiver_plugin() -> Plugin:
    plugin = Plugin("m")
    jobs = plugin.receiver(
        "/jobs", verify=verify.token(TOKEN), name="jobs", event_type="X-Type", max_attempts=1
    )
    again = plugin.receiver("/again", name="again", max_attempts=5)
    slow = plugin.receiver("/slow", name="slow", timeout=0.05)

    @jobs.on("good")
    def works(event: Event) -> None:
        pass

    @jobs.on("bad")
    def breaks(event: Event) -> None:
        raise RuntimeError("no")

    @again.on()
    def flaky(event: Event) -> None:
        raise RuntimeError("later")

    @slow.on()
    async def hangs(event: Event) -> None:
        await asyncio.Event().wait()  # never set: the endpoint's timeout ends it

    @plugin.route("/hi")
    def hi() -> str:
        return "hi"

    return plugin


async def test_requests_by_endpoint_method_and_status_with_unmatched_paths_bounded(
    tmp_path: Path,
) -> None:
    async with HookportClient.create([receiver_plugin()], tmp_path) as client:
        assert (await client.send("/jobs", b"{}", headers={"X-Type": "good"})).status_code == 202
        assert (await client.http.post("/jobs", content=b"{}")).status_code == 401
        assert (await client.http.get("/hi")).status_code == 200
        assert (await client.http.get("/jobs")).status_code == 405
        for n in range(20):  # a scanner's paths: one series, whatever the paths
            assert (await client.http.get(f"/wp-admin/{n}.php")).status_code == 404
        assert (await client.http.request("BREW", "/nowhere")).status_code == 404
        text = await scrape(client)
    assert sample(text, "hookport_requests_total", endpoint="jobs", method="POST", status="202")
    assert (
        sample(text, "hookport_requests_total", endpoint="jobs", method="POST", status="401") == 1
    )
    assert sample(text, "hookport_requests_total", endpoint="m:hi", method="GET", status="200")
    assert (
        sample(text, "hookport_requests_total", endpoint="unmatched", method="GET", status="405")
        == 1
    )
    assert (
        sample(text, "hookport_requests_total", endpoint="unmatched", method="GET", status="404")
        == 20
    )
    assert (
        sample(text, "hookport_requests_total", endpoint="unmatched", method="other", status="404")
        == 1
    )
    series = [k for k in samples(text) if k[0] == "hookport_requests_total"]
    assert len(series) == 6  # no raw path or method became a label
    assert "wp-admin" not in text and "BREW" not in text


async def test_ingest_seconds_observes_each_answered_request_by_kind(tmp_path: Path) -> None:
    async with HookportClient.create([receiver_plugin()], tmp_path) as client:
        before = await scrape(client)
        assert sample(before, "hookport_ingest_seconds_count", kind="receiver") == 0
        for _ in range(2):
            assert (await client.send("/again", b"{}")).status_code == 202
        assert (await client.http.post("/jobs", content=b"{}")).status_code == 401  # not observed
        assert (await client.http.get("/hi")).status_code == 200
        after = await scrape(client)
    assert sample(after, "hookport_ingest_seconds_count", kind="receiver") == 2
    assert sample(after, "hookport_ingest_seconds_count", kind="route") == 1
    assert sample(after, "hookport_ingest_seconds_sum", kind="receiver") > 0
    assert sample(after, "hookport_ingest_seconds_bucket", kind="receiver", le="+Inf") == 2


async def test_verification_failures_by_endpoint_and_bounded_reason(tmp_path: Path) -> None:
    plugin = Plugin("v")
    plugin.receiver("/gh", verify=verify.github(secret="gh-secret-1"), name="gh")
    plugin.receiver("/tok", verify=verify.token(TOKEN), name="tok")
    plugin.receiver("/lan", verify=verify.ip_allow("10.0.0.0/8"), name="lan")
    async with HookportClient.create([plugin], tmp_path) as client:
        await client.http.post("/gh", content=b"{}")  # no signature header
        await client.http.post("/gh", content=b"{}", headers={"X-Hub-Signature-256": "sha256=zz"})
        signed = verify.github(secret="another").sign(b"{}", url="http://testserver/gh", now=0)
        await client.http.post("/gh", content=b"{}", headers=signed.headers)
        await client.http.post("/tok?access_token=wrong-token", content=b"{}")
        assert (await client.http.post("/lan", content=b"{}")).status_code == 403
        text = await scrape(client)
    failures = "hookport_verification_failures_total"
    assert sample(text, failures, endpoint="gh", reason="missing") == 1
    assert sample(text, failures, endpoint="gh", reason="malformed") == 1
    assert sample(text, failures, endpoint="gh", reason="mismatch") == 1
    assert sample(text, failures, endpoint="tok", reason="mismatch") == 1
    assert sample(text, failures, endpoint="lan", reason="forbidden") == 1


async def test_group_commit_batches_are_observed_for_appends_and_outcomes(tmp_path: Path) -> None:
    async with HookportClient.create([receiver_plugin()], tmp_path) as client:
        sent = await asyncio.gather(
            *(client.send("/jobs", b"{}", headers={"X-Type": "good"}) for _ in range(5))
        )
        assert {r.status_code for r in sent} == {202}
        assert await client.drain() == 5
        text = await scrape(client)
    assert sample(text, "hookport_commit_batch_size_sum", op="append") == 5
    batches = sample(text, "hookport_commit_batch_size_count", op="append")
    assert 1 <= batches <= 5
    assert sample(text, "hookport_commit_seconds_count", op="append") == batches
    assert sample(text, "hookport_commit_seconds_sum", op="append") > 0
    assert sample(text, "hookport_commit_batch_size_sum", op="finish") == 5


async def test_a_store_that_cannot_commit_counts_store_errors_and_503s(tmp_path: Path) -> None:
    async with HookportClient.create([receiver_plugin()], tmp_path) as client:
        assert (await client.send("/again", b"{}")).status_code == 202
        blocker = sqlite3.connect(tmp_path / "hookport-test.db", isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            assert (await client.send("/again", b"{}")).status_code == 503
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        text = await scrape(client)
    assert sample(text, "hookport_store_errors_total", op="append", kind="unavailable") == 1
    assert sample(text, "hookport_unavailable_total", endpoint="again") == 1
    assert (
        sample(text, "hookport_requests_total", endpoint="again", method="POST", status="503") == 1
    )


async def test_memory_budget_503s_are_counted(tmp_path: Path) -> None:
    client = HookportClient.create([receiver_plugin()], tmp_path, server={"max_buffered": 10})
    async with client:
        assert (await client.send("/again", b"x" * 100)).status_code == 503
        text = await scrape(client)
    assert sample(text, "hookport_unavailable_total", endpoint="again") == 1


async def test_store_gauges_count_events_by_status_and_age_the_oldest_due(
    tmp_path: Path,
) -> None:
    async with HookportClient.create([receiver_plugin()], tmp_path) as client:
        for _ in range(2):
            assert (await client.send("/again", b"{}")).status_code == 202
        assert (await client.send("/jobs", b"{}", headers={"X-Type": "good"})).status_code == 202
        # A worker that died 100 s ago holding the /jobs event: due again since then.
        lease = LeaseRequest("gone", 1, 0.0, time.time() - 100, endpoints=["jobs"])
        assert len(await client.app.store.lease(lease)) == 1
        text = await scrape(client)
    assert sample(text, "hookport_events", endpoint="again", status="queued") == 2
    assert sample(text, "hookport_events", endpoint="again", status="dead") == 0
    assert sample(text, "hookport_events", endpoint="jobs", status="processing") == 1
    assert sample(text, "hookport_events", endpoint="jobs", status="queued") == 0
    assert 100 <= sample(text, "hookport_oldest_due_seconds", endpoint="jobs") < 200
    assert 0 <= sample(text, "hookport_oldest_due_seconds", endpoint="again") < 100
    for name in ("jobs", "again", "slow"):
        assert sample(text, "hookport_endpoint_paused", endpoint=name) == 0


async def test_store_gauges_query_once_per_ttl() -> None:
    calls: list[float] = []
    now = [1000.0]

    async def read(at: float) -> list[Any]:
        calls.append(at)
        return []

    metrics = Metrics()
    metrics.watch_store(read, ["queued"], ttl=5.0)
    gauges = metrics._store
    assert gauges is not None
    gauges._clock = lambda: now[0]
    for _ in range(10):
        await metrics.exposition()
    assert calls == [1000.0]
    now[0] += 5.0
    await metrics.exposition()
    assert calls == [1000.0, 1005.0]


async def test_handler_runs_retries_dead_and_lease_expiries(tmp_path: Path) -> None:
    async with HookportClient.create(
        [receiver_plugin()], tmp_path, worker={"backoff": {"initial": 60, "max": 60}}
    ) as client:
        for kind in ("good", "bad"):
            sent = await client.send("/jobs", b"{}", headers={"X-Type": kind})
            assert sent.status_code == 202
        assert (await client.send("/again", b"{}")).status_code == 202
        assert (await client.send("/slow", b"{}")).status_code == 202
        assert await client.drain() == 4
        assert (await client.send("/jobs", b"{}", headers={"X-Type": "good"})).status_code == 202
        lease = LeaseRequest("gone", 1, 0.0, time.time() - 1, endpoints=["jobs"])
        assert len(await client.app.store.lease(lease)) == 1  # its worker then died
        assert await client.drain() == 1
        text = await scrape(client)
    runs = "hookport_handler_runs_total"
    assert sample(text, runs, endpoint="jobs", handler="works", outcome="ok") == 2
    assert sample(text, runs, endpoint="jobs", handler="breaks", outcome="error") == 1
    assert sample(text, runs, endpoint="again", handler="flaky", outcome="error") == 1
    assert sample(text, runs, endpoint="slow", handler="hangs", outcome="timeout") == 1
    assert sample(text, "hookport_handler_seconds_count", endpoint="jobs", handler="works") == 2
    assert sample(text, "hookport_handler_seconds_sum", endpoint="slow", handler="hangs") > 0.04
    assert sample(text, "hookport_dead_total", endpoint="jobs") == 1
    assert sample(text, "hookport_retries_total", endpoint="again") == 1
    assert sample(text, "hookport_retries_total", endpoint="slow") == 1
    assert sample(text, "hookport_lease_expiries_total", endpoint="jobs") == 1


async def test_notifications_by_channel_and_outcome(tmp_path: Path) -> None:
    plugin = Plugin("n", channels=["team", "broken"])
    inbox = plugin.receiver("/in", name="in", max_attempts=1)

    @inbox.on()
    async def tell(ctx: Context) -> None:
        await ctx.send("team", "one event")

    @inbox.on()
    async def tell_broken(ctx: Context) -> None:
        await ctx.send("broken", "one event")

    with notify_sink() as sink:
        channels = {
            "team": f"json://127.0.0.1:{sink.port}/ok",
            "broken": f"json://127.0.0.1:{sink.port}/fail",
        }
        async with HookportClient.create([plugin], tmp_path, channels=channels) as client:
            assert (await client.send("/in", b"{}")).status_code == 202
            assert await client.drain() == 1
            text = await scrape(client)
        assert len(sink.wait_for(2)) == 2
    assert sample(text, "hookport_notifications_total", channel="team", outcome="ok") == 1
    assert sample(text, "hookport_notifications_total", channel="broken", outcome="error") == 1


async def test_metrics_off_counts_nothing_and_answers_404_but_keeps_verification_counts(
    tmp_path: Path,
) -> None:
    async with HookportClient.create(
        [receiver_plugin()], tmp_path, server={"metrics": False}
    ) as client:
        assert (await client.send("/jobs", b"{}", headers={"X-Type": "good"})).status_code == 202
        assert (await client.http.post("/jobs", content=b"{}")).status_code == 401
        await client.drain()
        response = await client.http.get("/_hookport/metrics")
        assert response.status_code == 404
        assert response.json()["error"] == "metrics are off ([server] metrics = false)"
        metrics = client.app.metrics
        assert not metrics.enabled
        text = (await metrics.exposition()).decode()
    names = {name for name, _labels in samples(text)}
    assert "hookport_requests_total" not in names
    assert "hookport_handler_runs_total" not in names
    assert "hookport_ingest_seconds_count" not in names
    # [alerts] verification rules read these, so they are kept
    assert metrics.verification_totals() == {"jobs": 1.0}


async def test_unhandled_events_and_running_handlers(tmp_path: Path) -> None:
    plugin = Plugin("u")
    inbox = plugin.receiver("/in", name="in", event_type="X-Type")
    started, release = asyncio.Event(), asyncio.Event()

    @inbox.on("wait")
    async def waits(event: Event) -> None:
        started.set()
        await release.wait()

    async with HookportClient.create([plugin], tmp_path) as client:
        assert (await client.send("/in", b"{}", headers={"X-Type": "nobody"})).status_code == 202
        assert await client.drain() == 1
        assert (await client.send("/in", b"{}", headers={"X-Type": "wait"})).status_code == 202
        draining = asyncio.create_task(client.drain())
        await asyncio.wait_for(started.wait(), 10)
        during = await scrape(client)
        release.set()
        assert await asyncio.wait_for(draining, 10) == 1
        after = await scrape(client)
    assert sample(after, "hookport_unhandled_total", endpoint="in") == 1
    assert sample(during, "hookport_handlers_running") == 1
    assert sample(after, "hookport_handlers_running") == 0
    assert sample(after, "hookport_handlers_slow") == 0


async def wait_sample(client: HookportClient, name: str, want: float, **labels: str) -> str:
    """Scrape until ``name{labels}`` is ``want`` (10 s deadline); the last exposition."""
    deadline = time.monotonic() + 10
    while True:
        text = await scrape(client)
        found = samples(text).get((name, frozenset(labels.items())))
        if found == want:
            return text
        assert time.monotonic() < deadline, f"{name}{labels} is {found}, not {want}"
        await asyncio.sleep(0.05)  # polling interval, not synchronisation


async def test_outcomes_written_after_the_lease_was_taken_count_leases_lost(
    tmp_path: Path,
) -> None:
    plugin = Plugin("l")
    lost = plugin.receiver("/lost", name="lost", max_attempts=1)
    kept = plugin.receiver("/kept", name="kept", max_attempts=1)
    running = [0]
    both, release = asyncio.Event(), asyncio.Event()

    async def blocks(event: Event) -> None:
        running[0] += 1
        if running[0] == 3:
            both.set()
        await release.wait()

    lost.on()(blocks)
    kept.on()(blocks)
    async with HookportClient.create([plugin], tmp_path) as client:
        for path in ("/lost", "/lost", "/kept"):
            assert (await client.send(path, b"{}")).status_code == 202
        draining = asyncio.create_task(client.drain())
        await asyncio.wait_for(both.wait(), 10)
        # Another worker, whose clock is past the leases, takes the /lost events meanwhile.
        thief = LeaseRequest("thief", 10, 60.0, time.time() + 600, endpoints=["lost"])
        assert len(await client.app.store.lease(thief)) == 2
        release.set()
        assert await asyncio.wait_for(draining, 10) == 3
        text = await scrape(client)
    assert sample(text, "hookport_leases_lost_total", endpoint="lost") == 2
    assert ("hookport_leases_lost_total", frozenset({("endpoint", "kept")})) not in samples(text)


async def test_rejections_that_cannot_be_written_are_counted_as_dropped(tmp_path: Path) -> None:
    async with HookportClient.create([receiver_plugin()], tmp_path) as client:
        blocker = sqlite3.connect(tmp_path / "hookport-test.db", isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")  # the write lock, past the busy timeout
            for _ in range(3):
                assert (await client.http.post("/jobs", content=b"{}")).status_code == 401
            await client.app.rejections.flush()
            assert client.app.rejections.pending == 0
            during = await scrape(client)
            assert (await client.http.get("/hi")).status_code == 200  # still answering
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert (await client.http.post("/jobs", content=b"{}")).status_code == 401
        await client.app.rejections.flush()
        after = await scrape(client)
    assert sample(during, "hookport_rejections_dropped_total") == 3
    assert sample(after, "hookport_rejections_dropped_total") == 3  # the 4th was written
    assert client.app.rejections.dropped == 3


async def test_a_handler_past_its_slow_threshold_is_counted_while_it_runs(
    tmp_path: Path,
) -> None:
    plugin = Plugin("s")
    # slow after half the timeout (4 s); the watchdog looks every second
    inbox = plugin.receiver("/in", name="in", timeout=8.0, max_attempts=1)
    release = threading.Event()

    @inbox.on()
    def blocks(event: Event) -> None:
        release.wait(30)

    async with HookportClient.create([plugin], tmp_path) as client:
        assert client.app.worker is not None
        try:
            assert (await client.send("/in", b"{}")).status_code == 202
            await client.app.worker.start()
            await wait_sample(client, "hookport_handlers_running", 1)
            before = await scrape(client)
            await wait_sample(client, "hookport_handlers_slow", 1)
        finally:
            release.set()
        await wait_sample(client, "hookport_handlers_running", 0)
        after = await wait_sample(client, "hookport_handlers_slow", 0)
    assert sample(before, "hookport_handlers_slow") == 0  # not slow at once
    assert (
        sample(after, "hookport_handler_runs_total", endpoint="in", handler="blocks", outcome="ok")
        == 1
    )


def dead_alert_plugin() -> Plugin:
    plugin = Plugin("a")
    inbox = plugin.receiver("/in", name="in", max_attempts=1)

    @inbox.on()
    def fails(event: Event) -> None:
        raise RuntimeError("no")

    return plugin


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: connecting is refused


def alerting_client(tmp_path: Path) -> HookportClient:
    return HookportClient.create(
        [dead_alert_plugin()],
        tmp_path,
        channels={"ops": f"json://127.0.0.1:{closed_port()}/alerts"},
        alerts={"interval": "100ms", "rules": [{"kind": "dead", "channel": "ops"}]},
    )


async def test_alerts_a_channel_cannot_take_are_counted_as_errors(tmp_path: Path) -> None:
    async with alerting_client(tmp_path) as client:
        assert (await client.send("/in", b"{}")).status_code == 202
        assert await client.drain() == 1
        text = await wait_sample(
            client, "hookport_alerts_sent_total", 1, rule="dead", outcome="error"
        )
    assert samples(text).get(
        ("hookport_alerts_sent_total", frozenset({("rule", "dead"), ("outcome", "ok")}))
    ) in (None, 0)


async def test_alerts_past_the_queue_bound_are_counted_as_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alerting, "QUEUE_MAX", 0)  # a queue already full
    async with alerting_client(tmp_path) as client:
        assert (await client.send("/in", b"{}")).status_code == 202
        assert await client.drain() == 1
        text = await wait_sample(
            client, "hookport_alerts_sent_total", 1, rule="dead", outcome="dropped"
        )
    assert samples(text).get(
        ("hookport_alerts_sent_total", frozenset({("rule", "dead"), ("outcome", "error")}))
    ) in (None, 0)

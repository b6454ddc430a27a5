"""Prometheus metrics: every series hookport exports, owned here and nowhere else.

One :class:`Metrics` per app, on its own registry (no global state). Callers report what
happened through its methods (``count_request``, ``handler_ran``, ...); label children are
cached, so reporting on the hot path is a dict lookup and an increment.

Label values never come from request data: ``endpoint`` is a configured endpoint name, or
``unmatched`` for a path no endpoint serves (404, 405); ``method`` is one of the standard
methods or ``other``; ``reason`` is one of :data:`REASONS`; ``handler`` and ``channel`` are
configured names. Cardinality is therefore bounded by the configuration.

Gauges of the store (events per endpoint and status, the age of the oldest due event) are
computed when scraped, by one grouped query cached for ``store_ttl`` seconds (see
:class:`StoreGauges`), so scraping often costs the store nothing more.

Several processes (``serve --processes``, when it exists): prometheus-client keeps counters
and histograms in files under ``PROMETHEUS_MULTIPROC_DIR`` when that variable is set before
the processes start; :meth:`Metrics.exposition` then merges every process's files
(``MultiProcessCollector``) and adds the scraping process's scrape-time gauges (the store's
are the same from any process; the in-process handler gauges are that process's own).
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

UNMATCHED = "unmatched"
"""The ``endpoint`` label of requests no endpoint serves (404, 405, ``OPTIONS`` 204)."""

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REASONS = ("missing", "malformed", "stale", "mismatch", "forbidden", "other")
"""Verification failure reasons: credentials missing, malformed, too old (a timestamp outside
the tolerance), not matching, a client address not allowed (403), anything else."""

HandlerOutcome = Literal["ok", "error", "timeout", "interrupted"]
StoreOp = Literal["append", "finish", "lease", "read", "write"]

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_HANDLER = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
_BATCH = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def method_class(method: str) -> str:
    """The ``method`` label: the method if standard, else ``other``."""
    return method if method in METHODS else "other"


def failure_reason(status: int, message: str) -> str:
    """The bounded :data:`REASONS` label of a 401/403 answer with ``message``."""
    if status == 403:
        return "forbidden"
    text = message.lower()
    if "timestamp" in text and ("old" in text or "future" in text or "tolerance" in text):
        return "stale"
    if "missing" in text or text.startswith("no ") or "no accepted" in text:
        return "missing"
    if any(word in text for word in ("malformed", "expected", "conflicting", "cannot be parsed")):
        return "malformed"
    if "not match" in text or "invalid" in text:
        return "mismatch"
    return "other"


@dataclass(frozen=True, slots=True)
class EndpointCount:
    """One row of the store's grouped count: events of ``endpoint`` in ``status``.

    ``due_since``: when the oldest of them that is due now became due (Unix seconds), or
    ``None`` if none of them is due.
    """

    endpoint: str
    status: str
    count: int
    due_since: float | None


CountsFn = Callable[[float], Awaitable[Sequence[EndpointCount]]]
"""The store verb the gauges read: ``store.endpoint_counts(now)``."""


class StoreGauges(Collector):
    """``hookport_events`` and ``hookport_oldest_due_seconds`` from one cached store query.

    :meth:`refresh` (awaited by the scrape before rendering) runs the query when the last
    result is older than ``ttl``; :meth:`collect` renders the last result. If the query fails
    the last result stays, so a scrape never fails on it.
    """

    def __init__(
        self,
        read: CountsFn,
        statuses: Iterable[str],
        *,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._read = read
        self._statuses = tuple(statuses)
        self._ttl = ttl
        self._clock = clock
        self._rows: Sequence[EndpointCount] = ()
        self._at: float | None = None
        self._read_at = 0.0

    async def refresh(self) -> None:
        """Query the store if the cached rows are older than ``ttl``."""
        now = self._clock()
        if self._at is not None and now - self._at < self._ttl:
            return
        self._at = now
        try:
            self._rows = await self._read(now)
            self._read_at = now
        except Exception:  # noqa: S110 - the scrape goes on with the last rows (counted by the store)
            pass

    def collect(self) -> Iterator[Metric]:
        """The gauges of the last query (every known status of a listed endpoint: 0 if none)."""
        events = GaugeMetricFamily(
            "hookport_events",
            "Events in the store by endpoint and status (read at scrape time, cached)",
            labels=["endpoint", "status"],
        )
        oldest = GaugeMetricFamily(
            "hookport_oldest_due_seconds",
            "Age of the oldest event due now and not yet taken by a worker, per endpoint "
            "(0 when nothing is due)",
            labels=["endpoint"],
        )
        counts: dict[tuple[str, str], int] = {}
        due: dict[str, float] = {}
        for row in self._rows:
            counts[(row.endpoint, row.status)] = row.count
            if row.due_since is not None:
                due[row.endpoint] = min(due.get(row.endpoint, row.due_since), row.due_since)
        for endpoint in sorted({e for e, _ in counts}):
            for status in self._statuses:
                events.add_metric([endpoint, status], counts.get((endpoint, status), 0))
            since = due.get(endpoint)
            oldest.add_metric([endpoint], max(0.0, self._read_at - since) if since else 0.0)
        yield events
        yield oldest


class _Live(Collector):
    """Scrape-time gauges of this process: functions read when the exposition is rendered."""

    def __init__(self) -> None:
        self.readers: list[tuple[str, str, Callable[[], float]]] = []
        self.paused: Callable[[], Iterable[str]] | None = None
        self.endpoints: tuple[str, ...] = ()

    def collect(self) -> Iterator[Metric]:
        for name, doc, read in self.readers:
            yield GaugeMetricFamily(name, doc, value=read())
        paused = GaugeMetricFamily(
            "hookport_endpoint_paused",
            "1 while the endpoint is paused (hookport pause): a receiver stores but its events "
            "are held, a route answers 503",
            labels=["endpoint"],
        )
        held = set(self.paused()) if self.paused is not None else set()
        for endpoint in self.endpoints:
            paused.add_metric([endpoint], 1.0 if endpoint in held else 0.0)
        yield paused


class _Off:
    """The label child of a metric that is turned off: every report is dropped."""

    def inc(self, amount: float = 1.0) -> None:
        """Count nothing."""

    def observe(self, amount: float) -> None:
        """Observe nothing."""


_OFF = _Off()


class Metrics:
    """Every metric of one app (its own registry). See the module docstring for the rules.

    ``multiprocess_dir``: ``PROMETHEUS_MULTIPROC_DIR`` when several processes share metrics.
    ``enabled=False`` (``[server] metrics = false``): nothing is counted or observed and
    nothing is exported, except the verification-failure counts that ``[alerts]`` rules read.
    """

    def __init__(self, *, multiprocess_dir: str | None = None, enabled: bool = True) -> None:
        self.registry = CollectorRegistry()
        self.enabled = enabled
        self.multiprocess_dir = multiprocess_dir
        self._live = _Live()
        self.registry.register(self._live)
        self._store: StoreGauges | None = None
        self._children: dict[tuple[Any, ...], Any] = {}
        self._declare_ingest()
        self._declare_store()
        self._declare_worker()

    # -- declarations ------------------------------------------------------------------------

    def _counter(self, name: str, doc: str, labels: Sequence[str]) -> Counter:
        return Counter(name, doc, list(labels), registry=self.registry)

    def _histogram(
        self, name: str, doc: str, labels: Sequence[str], buckets: Sequence[float]
    ) -> Histogram:
        return Histogram(name, doc, list(labels), registry=self.registry, buckets=buckets)

    def _declare_ingest(self) -> None:
        self.requests = self._counter(
            "hookport_requests",
            "HTTP requests answered, by endpoint ('unmatched' for paths no endpoint serves), "
            "method and status",
            ["endpoint", "method", "status"],
        )
        self.ingest_seconds = self._histogram(
            "hookport_ingest_seconds",
            "Time from request start to the end of its handling, for requests an endpoint "
            "answered (receiver: the acknowledgement after the commit; route: the handler's "
            "response and its record); requests answered with an error are not observed",
            ["kind"],
            _LATENCY,
        )
        self.verification_failures = self._counter(
            "hookport_verification_failures",
            "Deliveries refused by their endpoint's verifier (401, 403), by endpoint and reason",
            ["endpoint", "reason"],
        )
        self.unavailable = self._counter(
            "hookport_unavailable",
            "Requests answered 503 (store cannot commit, write queue full, memory budget), "
            "by endpoint",
            ["endpoint"],
        )
        self.rejected = self._counter(
            "hookport_rejected",
            "Rejected deliveries (4xx answers, hook rule mismatches) by endpoint and status "
            "(endpoint 'unmatched': no endpoint serves the path)",
            ["endpoint", "status"],
        )
        self.rejections_dropped = self._counter(
            "hookport_rejections_dropped",
            "Rejected deliveries not recorded because the recording queue was full",
            [],
        )

        for kind in ("route", "receiver"):  # both series exist from the start, at 0
            self._child(self.ingest_seconds, kind)

    def _declare_store(self) -> None:
        self.commit_batch_size = self._histogram(
            "hookport_commit_batch_size",
            "Items per group-committed store transaction (append: deliveries; finish: outcomes)",
            ["op"],
            _BATCH,
        )
        self.commit_seconds = self._histogram(
            "hookport_commit_seconds",
            "Duration of one group-committed store transaction",
            ["op"],
            _LATENCY,
        )
        self.store_errors = self._counter(
            "hookport_store_errors",
            "Store operations that failed, by operation and kind (unavailable: could not "
            "commit or reach the store; error: refused)",
            ["op", "kind"],
        )

    def _declare_worker(self) -> None:
        self.handler_runs = self._counter(
            "hookport_handler_runs",
            "Handler runs by endpoint, handler and outcome (ok, error, timeout, interrupted)",
            ["endpoint", "handler", "outcome"],
        )
        self.handler_seconds = self._histogram(
            "hookport_handler_seconds",
            "Duration of one handler run",
            ["endpoint", "handler"],
            _HANDLER,
        )
        self.retries = self._counter(
            "hookport_retries", "Attempts that failed and were scheduled again", ["endpoint"]
        )
        self.dead = self._counter(
            "hookport_dead", "Events that went dead (attempts exhausted)", ["endpoint"]
        )
        self.unhandled = self._counter(
            "hookport_unhandled", "Events that matched no handler", ["endpoint"]
        )
        self.lease_expiries = self._counter(
            "hookport_lease_expiries",
            "Events claimed again after their lease expired (the worker holding them died or "
            "lost the store)",
            ["endpoint"],
        )
        self.leases_lost = self._counter(
            "hookport_leases_lost",
            "Outcomes not recorded because the lease was lost first (the event runs again)",
            ["endpoint"],
        )
        self.notifications = self._counter(
            "hookport_notifications",
            "Notifications sent through [channels], by channel and outcome (ok, error)",
            ["channel", "outcome"],
        )
        self.alerts_sent = self._counter(
            "hookport_alerts_sent",
            "[alerts] messages (alerts and recoveries) by rule and outcome (ok, error, "
            "dropped: the send queue was full)",
            ["rule", "outcome"],
        )

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            if self.enabled or metric is self.verification_failures:
                child = metric.labels(*labels)
            else:
                child = _OFF
            self._children[key] = child
        return child

    # -- ingest ------------------------------------------------------------------------------

    def count_request(self, endpoint: str | None, method: str, status: int) -> None:
        """Count one answered request; ``endpoint`` None: no endpoint serves its path."""
        name = UNMATCHED if endpoint is None else endpoint
        self._child(self.requests, name, method_class(method), str(status)).inc()

    def observe_ingest(self, kind: str, seconds: float) -> None:
        """Observe one handled request of a ``route`` or ``receiver`` endpoint."""
        self._child(self.ingest_seconds, kind).observe(seconds)

    def verification_failed(self, endpoint: str, status: int, message: str) -> None:
        """Count a 401/403 of ``endpoint``'s verifier (``message`` is classified, not kept)."""
        self._child(self.verification_failures, endpoint, failure_reason(status, message)).inc()

    def verification_totals(self) -> dict[str, float]:
        """Verification failures counted by this process so far, per endpoint (all reasons)."""
        totals: dict[str, float] = {}
        for family in self.verification_failures.collect():
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    endpoint = sample.labels["endpoint"]
                    totals[endpoint] = totals.get(endpoint, 0.0) + sample.value
        return totals

    def answered_unavailable(self, endpoint: str) -> None:
        """Count a 503 of ``endpoint``."""
        self._child(self.unavailable, endpoint).inc()

    def delivery_rejected(self, endpoint: str | None, status: int) -> None:
        """Count a rejected delivery (``endpoint`` None: no endpoint serves its path)."""
        self._child(self.rejected, UNMATCHED if endpoint is None else endpoint, str(status)).inc()

    def rejection_dropped(self) -> None:
        """Count a rejected delivery the recorder had no room for."""
        self.rejections_dropped.inc()

    # -- store (the store's observer) -----------------------------------------------------

    def committed(self, op: StoreOp, size: int, seconds: float) -> None:
        """Observe one committed batch of ``size`` items that took ``seconds``."""
        self._child(self.commit_batch_size, op).observe(size)
        self._child(self.commit_seconds, op).observe(seconds)

    def store_failed(self, op: StoreOp, unavailable: bool) -> None:
        """Count a failed store operation."""
        self._child(self.store_errors, op, "unavailable" if unavailable else "error").inc()

    def watch_store(self, read: CountsFn, statuses: Iterable[str], ttl: float = 5.0) -> None:
        """Scrape-time store gauges from ``read`` (``store.endpoint_counts``), cached ``ttl`` s."""
        # A failed read is counted by the store itself (hookport_store_errors_total, op=read).
        gauges = StoreGauges(read, statuses, ttl=ttl)
        self._store = gauges
        self.registry.register(gauges)

    # -- workers -----------------------------------------------------------------------------

    def handler_ran(
        self, endpoint: str, handler: str, outcome: HandlerOutcome, seconds: float
    ) -> None:
        """Count one handler run and observe its duration."""
        self._child(self.handler_runs, endpoint, handler, outcome).inc()
        self._child(self.handler_seconds, endpoint, handler).observe(seconds)

    def event_finished(self, endpoint: str, status: str) -> None:
        """Count an attempt's end when it retries, goes dead or matched no handler."""
        metric = {"retrying": self.retries, "dead": self.dead, "unhandled": self.unhandled}.get(
            status
        )
        if metric is not None:
            self._child(metric, endpoint).inc()

    def lease_expired(self, endpoint: str) -> None:
        """Count an event claimed again after its lease expired."""
        self._child(self.lease_expiries, endpoint).inc()

    def lease_lost(self, endpoint: str) -> None:
        """Count an outcome not recorded because the lease was lost."""
        self._child(self.leases_lost, endpoint).inc()

    def notification_sent(self, channel: str, ok: bool) -> None:
        """Count one notification through ``channel``."""
        self._child(self.notifications, channel, "ok" if ok else "error").inc()

    def alert_sent(self, rule: str, outcome: Literal["ok", "error", "dropped"]) -> None:
        """Count one ``[alerts]`` message of ``rule``."""
        self._child(self.alerts_sent, rule, outcome).inc()

    def watch_handlers(
        self,
        *,
        running: Callable[[], float],
        slow: Callable[[], float],
        stuck_threads: Callable[[], float],
    ) -> None:
        """Gauges read at scrape time from the in-process workers (what each slot is doing)."""
        self._live.readers += [
            ("hookport_handlers_running", "Handlers running now in this process", running),
            (
                "hookport_handlers_slow",
                "Handlers running past half their timeout (the watchdog warned about each)",
                slow,
            ),
            (
                "hookport_handler_threads_stuck",
                "Sync handler threads still running past their timeout (not free for others)",
                stuck_threads,
            ),
        ]

    def watch_pauses(self, endpoints: Iterable[str], paused: Callable[[], Iterable[str]]) -> None:
        """``hookport_endpoint_paused`` for each of ``endpoints``: 1 if in ``paused()`` (the
        endpoints paused now, read at scrape time), else 0."""
        self._live.paused = paused
        self._live.endpoints = tuple(sorted(endpoints))

    # -- exposition --------------------------------------------------------------------------

    async def exposition(self) -> bytes:
        """The Prometheus text of every metric (the store gauges refreshed if stale)."""
        if self._store is not None:
            await self._store.refresh()
        if not self.multiprocess_dir:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        merged.register(self._live)
        if self._store is not None:
            merged.register(self._store)
        return generate_latest(merged)


def multiprocess_dir(environ: dict[str, str] | None = None) -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR`` (or its old lower-case name), if set."""
    env = os.environ if environ is None else environ
    return env.get("PROMETHEUS_MULTIPROC_DIR") or env.get("prometheus_multiproc_dir") or None

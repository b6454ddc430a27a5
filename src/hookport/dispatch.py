"""Dispatch: one event -> its matching handlers -> one outcome per handler.

The dispatcher knows nothing of leases, retries or the store (that is the worker's job); it
calls handlers and reports what happened. Handlers of one event run sequentially, in
declaration order, which keeps side effects predictable; handlers that already succeeded in an
earlier attempt (``event.done_handlers``) are skipped, so a retry re-runs only the failures.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from hookport.assembly import Assembly, BoundHandler, ReceiverEndpoint
from hookport.context import Context
from hookport.errors import HandlerTimeout, ReportedFailure, WorkerStopped
from hookport.events import Event, HandlerOutcome, HandlerReport
from hookport.metrics import HandlerOutcome as OutcomeLabel
from hookport.metrics import Metrics
from hookport.threads import ThreadLane
from hookport.tracing import Tracing

log = logging.getLogger("hookport.dispatch")


@dataclass(frozen=True, slots=True)
class RunningHandler:
    """A handler running now: its event, endpoint, name, start (monotonic) and timeout, and
    the event's delivery id and attempt (for the log lines about it)."""

    event_id: str
    endpoint: str
    handler: str
    since: float
    timeout: float | None
    delivery_id: str | None = None
    attempt: int = 0

    def log_fields(self) -> dict[str, object]:
        """The fields of a log line about this run (an event's fields and the handler)."""
        return {
            "event_id": self.event_id,
            "endpoint": self.endpoint,
            "delivery_id": self.delivery_id,
            "attempt": self.attempt,
            "handler": self.handler,
        }

    def seconds(self, now: float | None = None) -> float:
        """How long it has been running."""
        return (time.monotonic() if now is None else now) - self.since


class Dispatcher:
    """Runs an event's matching handlers and reports one :class:`HandlerOutcome` each.

    Events are matched to ``assembly.receivers`` by ``Event.endpoint``; ``ctx.send`` goes
    through the assembly's notifier. ``tracing``: a ``hookport.handler`` span per handler run.
    """

    def __init__(
        self,
        assembly: Assembly,
        threads: ThreadLane,
        *,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._metrics = metrics
        self._tracing = tracing
        self._receivers = assembly.receivers
        self._notifier = assembly.notifier
        self._threads = threads
        self._clock = clock
        self._running: dict[int, RunningHandler] = {}

    @property
    def threads(self) -> ThreadLane:
        """The thread lane sync handlers run on."""
        return self._threads

    def running(self) -> list[RunningHandler]:
        """The handlers running now, oldest first (what the slots of a worker are doing)."""
        return sorted(self._running.values(), key=lambda r: r.since)

    def handles(self, event: Event) -> bool:
        """Whether some handler of the event's endpoint takes its type (filters aside): an event
        no handler takes is ``unhandled``, not ``done``."""
        endpoint = self._receivers.get(event.endpoint)
        return endpoint is not None and bool(endpoint.handlers_for(event.type))

    async def run(
        self, event: Event, outcomes: list[HandlerOutcome] | None = None
    ) -> list[HandlerOutcome]:
        """Run the handlers of ``event`` that have not succeeded yet, one after another.

        Never raises for a handler's failure: each failure (exception or timeout) becomes a
        failed outcome and the next handler still runs. No matching handler: no outcomes.
        Outcomes are appended to ``outcomes`` as handlers end, so a caller that cancels the
        run (a worker stopping) still has them; the handler cancelled mid-run gets an
        ``Interrupted`` outcome there before the cancellation propagates.
        """
        done = outcomes if outcomes is not None else []
        endpoint = self._receivers.get(event.endpoint)
        if endpoint is None:
            done.append(self._unknown_endpoint(event))
            return done
        handlers = [
            h
            for h in endpoint.handlers_for(event.type)
            if h.name not in event.done_handlers and self._accepts(h, event, done)
        ]
        if not handlers:
            log.info(
                "no handler to run for event %s (type %r)",
                event.id,
                event.type,
                extra=event.log_fields(),
            )
        for handler in handlers:
            started = self._clock()
            try:
                done.append(await self._call(endpoint, handler, event, started))
            except asyncio.CancelledError:
                error = WorkerStopped("the worker stopped while the handler was running")
                done.append(self._failure(handler, event, started, error, with_traceback=False))
                self._count(event, handler, "interrupted", started)
                raise
        return done

    def _accepts(self, handler: BoundHandler, event: Event, done: list[HandlerOutcome]) -> bool:
        """The handler's ``when=`` filter. A filter that raises fails the handler (a failed
        outcome in ``done``, so the event is retried and the error shown), never skips it."""
        if handler.when is None:
            return True
        started = self._clock()
        try:
            return bool(handler.when(event))
        except Exception as exc:
            done.append(self._failure(handler, event, started, exc, with_traceback=True))
            return False

    async def _call(
        self, endpoint: ReceiverEndpoint, handler: BoundHandler, event: Event, started: float
    ) -> HandlerOutcome:
        values = {**event.params, "event": event, "ctx": self._context(endpoint, handler, event)}
        key = id(values)
        run = RunningHandler(
            event.id,
            endpoint.name,
            handler.name,
            time.monotonic(),
            endpoint.timeout,
            event.delivery_id,
            event.attempt,
        )
        self._running[key] = run
        span = None if self._tracing is None else self._tracing.handler(event, handler.name)
        ended: tuple[OutcomeLabel, str | None] = ("interrupted", "WorkerStopped")
        fields = {**event.log_fields(), "handler": handler.name}
        try:
            if span is None:
                result = await handler.plan.call(
                    values, threads=self._threads, timeout=endpoint.timeout, log_fields=fields
                )
            else:
                with span.current():  # the handler's own spans are its children
                    result = await handler.plan.call(
                        values, threads=self._threads, timeout=endpoint.timeout, log_fields=fields
                    )
        except HandlerTimeout as exc:
            ended = ("timeout", type(exc).__name__)
            self._count(event, handler, "timeout", started)
            return self._failure(handler, event, started, exc, with_traceback=False)
        except Exception as exc:
            ended = ("error", type(exc).__name__)
            self._count(event, handler, "error", started)
            return self._failure(handler, event, started, exc, with_traceback=True)
        else:
            ended = ("ok", None)
        finally:
            del self._running[key]
            if span is not None:
                span.end(*ended)
        self._count(event, handler, "ok", started)
        report = result.text if isinstance(result, HandlerReport) else None
        return HandlerOutcome(
            handler.name, ok=True, started_at=started, finished_at=self._clock(), traceback=report
        )

    def _count(
        self, event: Event, handler: BoundHandler, outcome: OutcomeLabel, started: float
    ) -> None:
        if self._metrics is not None:
            seconds = max(0.0, self._clock() - started)
            self._metrics.handler_ran(event.endpoint, handler.name, outcome, seconds)

    def _context(self, endpoint: ReceiverEndpoint, handler: BoundHandler, event: Event) -> Context:
        return Context(
            plugin=endpoint.plugin,
            notifier=self._notifier,
            endpoint=endpoint.name,
            handler=handler.name,
            settings=endpoint.settings,
            event=event,
            attempt=event.attempt,
        )

    def _failure(
        self,
        handler: BoundHandler,
        event: Event,
        started: float,
        exc: BaseException,
        *,
        with_traceback: bool,
    ) -> HandlerOutcome:
        error = f"{type(exc).__name__}: {exc}"
        log.warning(
            "handler %s failed on event %s (attempt %d): %s",
            handler.name,
            event.id,
            event.attempt,
            error,
            extra={**event.log_fields(), "handler": handler.name},
        )
        return HandlerOutcome(
            handler.name,
            ok=False,
            started_at=started,
            finished_at=self._clock(),
            error=error,
            traceback=_detail(exc, with_traceback),
        )

    def _unknown_endpoint(self, event: Event) -> HandlerOutcome:
        # Workers only lease events of known endpoints; this guards direct callers.
        now = self._clock()
        error = f"LookupError: no receiver {event.endpoint!r} is loaded in this process"
        return HandlerOutcome("<dispatch>", ok=False, started_at=now, finished_at=now, error=error)


def _detail(exc: BaseException, with_traceback: bool) -> str | None:
    """What a failed attempt keeps: the failure's own report, else its traceback."""
    if isinstance(exc, ReportedFailure):
        return exc.report
    return "".join(traceback.format_exception(exc)) if with_traceback else None

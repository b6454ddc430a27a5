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

from hookport.assembly import Assembly, BoundHandler, ReceiverEndpoint
from hookport.context import Context
from hookport.errors import HandlerTimeout
from hookport.events import Event, HandlerOutcome

log = logging.getLogger("hookport.dispatch")


class Dispatcher:
    """Runs an event's matching handlers and reports one :class:`HandlerOutcome` each.

    Events are matched to ``assembly.receivers`` by ``Event.endpoint``; ``ctx.send`` goes
    through the assembly's notifier.
    """

    def __init__(self, assembly: Assembly, *, clock: Callable[[], float] = time.time) -> None:
        self._receivers = assembly.receivers
        self._notifier = assembly.notifier
        self._clock = clock

    async def run(self, event: Event) -> list[HandlerOutcome]:
        """Run the handlers of ``event`` that have not succeeded yet, one after another.

        Never raises for a handler's failure: each failure (exception or timeout) becomes a
        failed outcome and the next handler still runs. No matching handler: no outcomes.
        """
        endpoint = self._receivers.get(event.endpoint)
        if endpoint is None:
            return [self._unknown_endpoint(event)]
        handlers = [
            h for h in endpoint.handlers_for(event.type) if h.name not in event.done_handlers
        ]
        if not handlers:
            log.info(
                "no handler to run for event %s (type %r)",
                event.id,
                event.type,
                extra=_fields(event),
            )
        return [await self._call(endpoint, handler, event) for handler in handlers]

    async def _call(
        self, endpoint: ReceiverEndpoint, handler: BoundHandler, event: Event
    ) -> HandlerOutcome:
        started = self._clock()
        values = {**event.params, "event": event, "ctx": self._context(endpoint, handler, event)}
        deadline = asyncio.timeout(endpoint.timeout)
        try:
            async with deadline:
                await handler.plan.call(values)
        except Exception as exc:
            if deadline.expired():
                # A sync handler keeps running in its thread (threads cannot be killed); we
                # stop waiting for it and record the timeout.
                timeout = HandlerTimeout(f"handler ran longer than {endpoint.timeout:g}s")
                return self._failure(handler, event, started, timeout, with_traceback=False)
            return self._failure(handler, event, started, exc, with_traceback=True)
        return HandlerOutcome(handler.name, ok=True, started_at=started, finished_at=self._clock())

    def _context(
        self, endpoint: ReceiverEndpoint, handler: BoundHandler, event: Event
    ) -> Context:
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
            extra={**_fields(event), "handler": handler.name},
        )
        return HandlerOutcome(
            handler.name,
            ok=False,
            started_at=started,
            finished_at=self._clock(),
            error=error,
            traceback="".join(traceback.format_exception(exc)) if with_traceback else None,
        )

    def _unknown_endpoint(self, event: Event) -> HandlerOutcome:
        # Workers only lease events of known endpoints; this guards direct callers.
        now = self._clock()
        error = f"LookupError: no receiver {event.endpoint!r} is loaded in this process"
        return HandlerOutcome("<dispatch>", ok=False, started_at=now, finished_at=now, error=error)


def _fields(event: Event) -> dict[str, object]:
    return {
        "event_id": event.id,
        "endpoint": event.endpoint,
        "plugin": event.plugin,
        "delivery_id": event.delivery_id,
        "attempt": event.attempt,
    }

"""Dispatch: one event -> its matching handlers -> one outcome per handler.

The dispatcher knows nothing of leases, retries or the store (that is the worker's job); it
calls handlers and reports what happened. Handlers of one event run sequentially, in
declaration order, which keeps side effects predictable; handlers that already succeeded in an
earlier attempt (``event.done_handlers``) are skipped, so a retry re-runs only the failures.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from hookport.config import WorkerSettings
from hookport.context import Context
from hookport.errors import HandlerTimeout, PluginError
from hookport.events import Event, HandlerOutcome
from hookport.injection import CallPlan, prepare_call
from hookport.notify import Notifications
from hookport.plugin import HandlerSpec, Plugin, Receiver

log = logging.getLogger("hookport.dispatch")

_TEMPLATE_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z_]+)?\}")


@dataclass(frozen=True, slots=True)
class BoundHandler:
    """A receiver handler with its prepared call."""

    spec: HandlerSpec
    plan: CallPlan

    @property
    def name(self) -> str:
        """The handler's name, as recorded in outcomes and ``done_handlers``."""
        return self.spec.name


@dataclass(frozen=True, slots=True)
class ReceiverRuntime:
    """A receiver ready to run: its handlers prepared and its effective limits resolved.

    Built once at assembly with :meth:`build`. ``max_attempts`` and ``timeout`` come from the
    receiver, else from ``[worker]``; ``timeout=None`` means no limit.
    """

    receiver: Receiver
    handlers: tuple[BoundHandler, ...]
    max_attempts: int
    timeout: float | None

    @classmethod
    def build(
        cls,
        receiver: Receiver,
        settings: WorkerSettings,
        *,
        param_names: Iterable[str] | None = None,
    ) -> ReceiverRuntime:
        """Prepare ``receiver``'s handlers; ``PluginError`` for a handler hookport can't call.

        ``param_names``: the receiver path's parameters (parsed from the path if omitted).
        """
        names = set(param_names) if param_names is not None else path_params(receiver.path)
        available = {"event", "ctx"} | names
        handlers = tuple(_bind(receiver, spec, available) for spec in receiver.handlers)
        _check_unique_names(receiver, handlers)
        return cls(
            receiver=receiver,
            handlers=handlers,
            max_attempts=receiver.max_attempts or settings.max_attempts,
            timeout=receiver.timeout if receiver.timeout is not None else settings.timeout,
        )

    @property
    def endpoint(self) -> str:
        """The endpoint key events of this receiver carry (``Event.receiver``)."""
        return self.receiver.name

    @property
    def plugin(self) -> Plugin:
        """The plugin that declared the receiver."""
        return self.receiver.plugin

    @property
    def concurrency(self) -> int | None:
        """The receiver's cap on events in flight (1: one at a time, in order), or None."""
        return self.receiver.concurrency

    def handlers_for(self, event_type: str | None) -> list[BoundHandler]:
        """The handlers that run for ``event_type``, in declaration order."""
        by_name = {h.name: h for h in self.handlers}
        return [by_name[spec.name] for spec in self.receiver.handlers_for(event_type)]


def build_runtimes(
    plugins: Iterable[Plugin], settings: WorkerSettings
) -> dict[str, ReceiverRuntime]:
    """A :class:`ReceiverRuntime` per receiver of ``plugins``, keyed by endpoint name."""
    runtimes: dict[str, ReceiverRuntime] = {}
    for plugin in plugins:
        for receiver in plugin.receivers:
            if receiver.name in runtimes:
                raise PluginError(
                    plugin.name, f"two receivers are named {receiver.name!r}; names are unique"
                )
            runtimes[receiver.name] = ReceiverRuntime.build(receiver, settings)
    return runtimes


def path_params(path: str) -> set[str]:
    """Parameter names of a path template (``/x/{id:int}``) or ``^`` regular expression."""
    if path.startswith("^"):
        return set(re.compile(path).groupindex)
    return set(_TEMPLATE_PARAM.findall(path))


class Dispatcher:
    """Runs an event's matching handlers and reports one :class:`HandlerOutcome` each.

    ``runtimes`` is keyed by endpoint name (``Event.receiver``); ``plugin_settings`` by plugin
    name (a missing plugin gets ``ctx.settings = None``).
    """

    def __init__(
        self,
        runtimes: Mapping[str, ReceiverRuntime],
        *,
        notifier: Notifications,
        plugin_settings: Mapping[str, BaseModel | None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._runtimes = runtimes
        self._notifier = notifier
        self._plugin_settings = plugin_settings or {}
        self._clock = clock

    async def run(self, event: Event) -> list[HandlerOutcome]:
        """Run the handlers of ``event`` that have not succeeded yet, one after another.

        Never raises for a handler's failure: each failure (exception or timeout) becomes a
        failed outcome and the next handler still runs. No matching handler: no outcomes.
        """
        runtime = self._runtimes.get(event.receiver)
        if runtime is None:
            return [self._unknown_endpoint(event)]
        handlers = [
            h for h in runtime.handlers_for(event.type) if h.name not in event.done_handlers
        ]
        if not handlers:
            log.info(
                "no handler to run for event %s (type %r)",
                event.id,
                event.type,
                extra=_fields(event),
            )
        return [await self._call(runtime, handler, event) for handler in handlers]

    async def _call(
        self, runtime: ReceiverRuntime, handler: BoundHandler, event: Event
    ) -> HandlerOutcome:
        started = self._clock()
        values = {**event.params, "event": event, "ctx": self._context(runtime, handler, event)}
        deadline = asyncio.timeout(runtime.timeout)
        try:
            async with deadline:
                await handler.plan.call(values)
        except Exception as exc:
            if deadline.expired():
                # A sync handler keeps running in its thread (threads cannot be killed); we
                # stop waiting for it and record the timeout.
                timeout = HandlerTimeout(f"handler ran longer than {runtime.timeout:g}s")
                return self._failure(handler, event, started, timeout, with_traceback=False)
            return self._failure(handler, event, started, exc, with_traceback=True)
        return HandlerOutcome(handler.name, ok=True, started_at=started, finished_at=self._clock())

    def _context(self, runtime: ReceiverRuntime, handler: BoundHandler, event: Event) -> Context:
        return Context(
            plugin=runtime.plugin,
            notifier=self._notifier,
            endpoint=runtime.endpoint,
            handler=handler.name,
            settings=self._plugin_settings.get(runtime.plugin.name),
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
        error = f"LookupError: no receiver {event.receiver!r} is loaded in this process"
        return HandlerOutcome("<dispatch>", ok=False, started_at=now, finished_at=now, error=error)


def _bind(receiver: Receiver, spec: HandlerSpec, available: set[str]) -> BoundHandler:
    where = f"receiver {receiver.path} handler {spec.name}"
    plan = prepare_call(spec.func, available, plugin=receiver.plugin.name, where=where)
    return BoundHandler(spec, plan)


def _check_unique_names(receiver: Receiver, handlers: tuple[BoundHandler, ...]) -> None:
    # Outcomes and done_handlers are keyed by name: two handlers sharing one would be
    # indistinguishable, and a retry could skip the one that failed.
    seen: set[str] = set()
    for handler in handlers:
        if handler.name in seen:
            raise PluginError(
                receiver.plugin.name,
                f"receiver {receiver.path} has two handlers named {handler.name!r}; "
                "give each handler function its own name",
            )
        seen.add(handler.name)


def _fields(event: Event) -> dict[str, object]:
    return {
        "event_id": event.id,
        "endpoint": event.receiver,
        "plugin": event.plugin,
        "delivery_id": event.delivery_id,
        "attempt": event.attempt,
    }

"""The alert runner: feeds :class:`hookport.alerts.AlertBook` and sends what it returns.

The worker reports each attempt's end through :meth:`Alerter.event_finished` (synchronous,
never blocking: messages go on a bounded queue). :meth:`Alerter.run` is the app's background
task: every ``[alerts] interval`` it reads the backlog (the store's grouped count) and the
verification-failure counters if a rule needs them, lets held messages out, and sends queued
messages one at a time. Each condition that starts or clears is logged at once, whether its
message goes out now or is held by the rule's window. A message that cannot be sent is logged
(by channel name) and counted; it never fails an event or stops the loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from hookport.alerts import AlertBook, AlertMessage, Finished
from hookport.config import AlertSettings
from hookport.errors import ConfigError
from hookport.events import Event, HandlerOutcome
from hookport.metrics import CountsFn, Metrics
from hookport.notify import PLACEHOLDER, Notifications
from hookport.tasks import set_within

log = logging.getLogger("hookport.alerts")

QUEUE_MAX = 1000
"""Messages waiting to be sent; past it, new ones are dropped (and counted)."""


class Alerter:
    """Runs the ``[alerts]`` rules of one process.

    ``counts``: the store's ``endpoint_counts`` (backlog rules); ``verification``: the
    verification failures counted so far per endpoint (verification rules); ``clock``: Unix
    seconds, for backlog ages; ``monotonic``: the rules' windows.
    """

    def __init__(
        self,
        settings: AlertSettings,
        notifier: Notifications,
        *,
        counts: CountsFn | None = None,
        verification: Callable[[], Mapping[str, float]] | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.book = AlertBook(settings, clock=monotonic)
        self._monotonic = monotonic
        self._interval = settings.interval
        self._notifier = notifier
        self._counts = counts
        self._verification = verification
        self._metrics = metrics
        self._clock = clock
        self._queue: list[AlertMessage] = []
        self._wake = asyncio.Event()

    def event_finished(self, event: Event, status: str, outcomes: Sequence[HandlerOutcome]) -> None:
        """The worker's report of an attempt's end (``status``: the event's status after it)."""
        fact = Finished(
            event.id,
            event.endpoint,
            event.type,
            status,
            event.attempt,
            tuple((o.handler, o.ok) for o in outcomes),
        )
        self._enqueue(self.book.finished(fact))

    async def run(self) -> None:
        """Poll every ``interval``, send what is queued as it comes, until cancelled."""
        next_poll = self._monotonic()
        while True:
            self._wake.clear()
            try:
                if self._monotonic() >= next_poll:
                    next_poll = self._monotonic() + self._interval
                    await self.poll()
                await self.send_queued()
            except Exception:  # the rules must keep running whatever one step does
                log.exception("alerts: evaluation failed")
            await set_within(self._wake, max(0.0, next_poll - self._monotonic()))

    async def poll(self) -> None:
        """Evaluate the backlog and verification rules now, and the held messages."""
        if self._counts is not None and self.book.wants("backlog"):
            try:
                rows = await self._counts(self._clock())
            except Exception as exc:  # the store may be down; the next poll tries again
                log.warning("alerts: cannot read the backlog (%s)", type(exc).__name__)
            else:
                now = self._clock()
                ages: dict[str, float] = {}
                for row in rows:
                    if row.due_since is not None:
                        age = max(0.0, now - row.due_since)
                        ages[row.endpoint] = max(ages.get(row.endpoint, 0.0), age)
                self._enqueue(self.book.backlog(ages))
        if self._verification is not None and self.book.wants("verification"):
            self._enqueue(self.book.verification(self._verification()))
        self._enqueue(self.book.tick())

    async def send_queued(self) -> None:
        """Send the queued messages, in order."""
        while self._queue:
            message = self._queue.pop(0)
            ok = await self._send(message)
            if self._metrics is not None:
                self._metrics.alert_sent(message.rule, "ok" if ok else "error")

    async def _send(self, message: AlertMessage) -> bool:
        try:
            await self._notifier.send(
                message.channel, message.body, title=message.title, to=message.to
            )
        except Exception as exc:  # an alert must never stop the runner
            log.warning(
                "alert %s could not be sent through channel %r (%s)",
                message.rule,
                message.channel,
                type(exc).__name__,
            )
            return False
        log.info(
            "alert %s %s through channel %r",
            message.rule,
            "recovery sent" if message.recovery else "sent",
            message.channel,
        )
        return True

    def _enqueue(self, messages: Sequence[AlertMessage]) -> None:
        self._log_changes()
        for message in messages:
            if len(self._queue) >= QUEUE_MAX:
                if self._metrics is not None:
                    self._metrics.alert_sent(message.rule, "dropped")
                continue
            self._queue.append(message)
        if messages:
            self._wake.set()


    def _log_changes(self) -> None:
        """One line per condition that started or cleared: a held (throttled) alert is seen
        in the log at once, its message only when the window allows."""
        for change in self.book.changes():
            fields: dict[str, object] = {"rule": change.rule, "endpoint": change.subject[0]}
            if len(change.subject) > 1:
                fields["handler"] = change.subject[1]
            log.info(
                "alert %s %s for %s",
                change.rule,
                "firing" if change.firing else "cleared",
                " handler ".join(change.subject),
                extra=fields,
            )


def check_rules(
    settings: AlertSettings,
    channels: Mapping[str, str],
    endpoints: Sequence[str],
) -> None:
    """Raise ``ConfigError`` listing every rule whose channel ``[channels]`` does not define,
    whose ``to=`` does not fit its channel, or which names an endpoint that does not exist."""
    problems = []
    have = ", ".join(sorted(channels)) or "none"
    known = set(endpoints)
    for rule in settings.rules:
        where = f"[alerts] rule {rule.label!r}"
        url = channels.get(rule.channel)
        if url is None:
            problems.append(
                f"{where}: channel {rule.channel!r} is not defined in [channels] (defined: {have})"
            )
        elif (PLACEHOLDER in url) != (rule.to is not None):
            need = "needs to= (its URL has {to})" if rule.to is None else "takes no to="
            problems.append(f"{where}: channel {rule.channel!r} {need}")
        unknown = sorted(set(rule.endpoints) - known)
        if unknown:
            problems.append(f"{where}: no endpoint named {', '.join(map(repr, unknown))}")
    if problems:
        raise ConfigError("; ".join(problems))

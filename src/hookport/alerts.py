"""Alert rules evaluated: what happened -> the messages to send, throttled. Pure: no I/O.

:class:`AlertBook` is a state machine fed with facts (an event's attempt ended, the backlog's
age, the verification-failure counters) and an injected clock; each call returns the
:class:`AlertMessage` values due now, and :meth:`AlertBook.changes` says which conditions
started or cleared (sent or held). Sending and logging them is :mod:`hookport.alerting`'s job.

Per rule and *subject* (an endpoint, or an endpoint and a handler) it keeps one throttle: at
most one message per window. Occurrences inside the window are held and counted, and the next
message (when the window has passed, at the latest on the next :meth:`AlertBook.tick`) says how
many there were. When the condition clears, a recovery message follows (throttled alike).

Messages name only event ids, endpoint and handler names, event types and counts: never a
payload, a header value, an error text (it may quote either) or a secret.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from hookport.config import AlertSettings, BacklogRule, DeadRule, FailuresRule, VerificationRule

Rule = DeadRule | FailuresRule | BacklogRule | VerificationRule
Subject = tuple[str, ...]

_TYPE_MAX = 100


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One message to send: through ``channel`` (to ``to``), for ``rule``."""

    rule: str
    channel: str
    to: str | None
    title: str
    body: str
    recovery: bool


@dataclass(frozen=True, slots=True)
class Finished:
    """An event's attempt ended: its status after it and each handler's result (name, ok)."""

    event_id: str
    endpoint: str
    type: str | None
    status: str
    attempt: int
    handlers: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True, slots=True)
class Change:
    """A rule's condition started (``firing``) or cleared for ``subject``, whether or not a
    message goes out now (the window may hold it): what the runner logs."""

    rule: str
    subject: Subject
    firing: bool


@dataclass(slots=True)
class _State:
    active: bool = False
    notified: bool = False  # the last message sent said "firing"
    last_sent: float | None = None
    pending: int = 0  # occurrences not yet in a message
    latest: str = ""
    cleared: str = ""


@dataclass(slots=True)
class _Throttle:
    """The throttled states of one rule's subjects."""

    rule: Rule
    window: float
    states: dict[Subject, _State] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)

    def active(self, subject: Subject) -> bool:
        state = self.states.get(subject)
        return state is not None and state.active

    def occur(self, subject: Subject, text: str) -> None:
        state = self.states.setdefault(subject, _State())
        if not state.active:
            self.changes.append(Change(self.rule.label, subject, firing=True))
        state.active = True
        state.pending += 1
        state.latest = text

    def clear(self, subject: Subject, text: str) -> None:
        state = self.states.get(subject)
        if state is not None and state.active:
            state.active = False
            state.cleared = text
            self.changes.append(Change(self.rule.label, subject, firing=False))

    def flush(self, now: float) -> list[AlertMessage]:
        out = []
        for state in self.states.values():
            message = self._due(state, now)
            if message is not None:
                out.append(message)
        return out

    def _due(self, state: _State, now: float) -> AlertMessage | None:
        if state.last_sent is not None and now - state.last_sent < self.window:
            return None
        if state.pending:
            body = state.latest
            if state.pending > 1:
                body += f"\n{state.pending - 1} more since the last message (throttled)"
            if not state.active:
                body += f"\ncleared since: {state.cleared}"
            state.pending, state.last_sent, state.notified = 0, now, state.active
            return self._message(body, recovery=False)
        if state.notified and not state.active:
            state.notified, state.last_sent = False, now
            return self._message(state.cleared, recovery=True)
        return None

    def _message(self, body: str, *, recovery: bool) -> AlertMessage:
        name = self.rule.label
        title = f"hookport {'recovered' if recovery else 'alert'}: {name}"
        return AlertMessage(name, self.rule.channel, self.rule.to, title, body, recovery)


class AlertBook:
    """Every ``[alerts]`` rule's state. Feed it facts; send what each call returns.

    ``clock``: monotonic seconds (windows are measured with it).
    """

    def __init__(
        self, settings: AlertSettings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._started = clock()
        self._throttles = [_Throttle(r, settings.window_of(r)) for r in settings.rules]
        self._streaks: dict[tuple[str, Subject], int] = {}
        self._samples: dict[tuple[str, str], deque[tuple[float, float]]] = {}

    @property
    def rules(self) -> list[Rule]:
        """The rules, in configuration order."""
        return [t.rule for t in self._throttles]

    def wants(self, kind: str) -> bool:
        """Whether some rule is of ``kind`` (the runner polls only what a rule needs)."""
        return any(t.rule.kind == kind for t in self._throttles)

    def finished(self, fact: Finished) -> list[AlertMessage]:
        """An attempt ended: ``dead`` and ``failures`` rules."""
        for throttle in self._throttles:
            if not _selects(throttle.rule, fact.endpoint):
                continue
            if isinstance(throttle.rule, DeadRule):
                _dead(throttle, fact)
            elif isinstance(throttle.rule, FailuresRule):
                self._failures(throttle, throttle.rule, fact)
        return self.tick()

    def backlog(self, ages: Mapping[str, float]) -> list[AlertMessage]:
        """The age in seconds of each endpoint's oldest due event (absent: nothing due)."""
        for throttle in self._throttles:
            rule = throttle.rule
            if not isinstance(rule, BacklogRule):
                continue
            for endpoint in _subjects(rule, ages, throttle):
                age = ages.get(endpoint, 0.0)
                subject = (endpoint,)
                if age > rule.max_age:
                    if not throttle.active(subject):
                        throttle.occur(
                            subject,
                            f"the oldest due event of endpoint {endpoint} has waited "
                            f"{span(age)} (more than {span(rule.max_age)})",
                        )
                else:
                    throttle.clear(
                        subject,
                        f"the backlog of endpoint {endpoint} is under {span(rule.max_age)} "
                        f"again (oldest due: {span(age)})",
                    )
        return self.tick()

    def verification(self, totals: Mapping[str, float]) -> list[AlertMessage]:
        """The verification failures counted so far (since the process started), per endpoint."""
        now = self._clock()
        for throttle in self._throttles:
            rule = throttle.rule
            if not isinstance(rule, VerificationRule):
                continue
            for endpoint in _subjects(rule, totals, throttle):
                recent = self._recent(rule, endpoint, totals.get(endpoint, 0.0), now)
                subject = (endpoint,)
                if recent >= rule.count:
                    if not throttle.active(subject):
                        throttle.occur(
                            subject,
                            f"{recent:.0f} verification failures of endpoint {endpoint} in the "
                            f"last {span(rule.per)} (limit {rule.count})",
                        )
                else:
                    throttle.clear(
                        subject,
                        f"verification failures of endpoint {endpoint} are under "
                        f"{rule.count} per {span(rule.per)} again ({recent:.0f})",
                    )
        return self.tick()

    def changes(self) -> list[Change]:
        """The conditions that started or cleared since the last call (then forgotten)."""
        out = [change for throttle in self._throttles for change in throttle.changes]
        for throttle in self._throttles:
            throttle.changes.clear()
        return out

    def tick(self) -> list[AlertMessage]:
        """The held messages whose window has passed."""
        now = self._clock()
        return [m for throttle in self._throttles for m in throttle.flush(now)]

    def _failures(self, throttle: _Throttle, rule: FailuresRule, fact: Finished) -> None:
        for handler, ok in fact.handlers:
            subject = (fact.endpoint, handler)
            key = (rule.label, subject)
            if ok:
                self._streaks.pop(key, None)
                throttle.clear(
                    subject,
                    f"handler {handler} of endpoint {fact.endpoint} succeeded again "
                    f"(event {fact.event_id})",
                )
                continue
            streak = self._streaks[key] = self._streaks.get(key, 0) + 1
            if streak >= rule.count:
                throttle.occur(
                    subject,
                    f"handler {handler} of endpoint {fact.endpoint} failed {streak} times in a "
                    f"row (latest: event {fact.event_id}, type {safe_type(fact.type)}, "
                    f"attempt {fact.attempt})",
                )

    def _recent(self, rule: VerificationRule, endpoint: str, total: float, now: float) -> float:
        """Failures within the last ``rule.per`` seconds, from the cumulative ``total``."""
        samples = self._samples.setdefault((rule.label, endpoint), deque([(self._started, 0.0)]))
        samples.append((now, total))
        # Keep one sample at or before the window's start: the baseline the count starts from.
        while len(samples) > 1 and samples[1][0] <= now - rule.per:
            samples.popleft()
        return max(0.0, total - samples[0][1])


def _dead(throttle: _Throttle, fact: Finished) -> None:
    subject = (fact.endpoint,)
    if fact.status == "dead":
        throttle.occur(
            subject,
            f"event {fact.event_id} of endpoint {fact.endpoint} (type {safe_type(fact.type)}) "
            f"went dead after {fact.attempt} attempt(s)",
        )
    elif fact.status == "done":
        throttle.clear(
            subject,
            f"events of endpoint {fact.endpoint} are handled again (event {fact.event_id} done)",
        )


def _selects(rule: Rule, endpoint: str) -> bool:
    return not rule.endpoints or endpoint in rule.endpoints


def _subjects(rule: Rule, seen: Iterable[str], throttle: _Throttle) -> list[str]:
    """Endpoints to evaluate: those reported now and those in a state (so they can clear)."""
    known = {s[0] for s in throttle.states}
    return sorted(e for e in {*seen, *known} if _selects(rule, e))


def safe_type(value: str | None) -> str:
    """An event type fit for a message: printable, at most 100 characters, ``-`` if none."""
    if not value:
        return "-"
    text = "".join(c if c.isprintable() else "?" for c in value)
    return text if len(text) <= _TYPE_MAX else text[: _TYPE_MAX - 3] + "..."


def span(seconds: float) -> str:
    """``42s``, ``11m40s``, ``2h5m``, ``3d``: a duration as messages show it (seconds only
    under an hour)."""
    whole = round(seconds)
    units: list[tuple[int, str]] = [(86400, "d"), (3600, "h"), (60, "m")]
    if whole < 3600:
        units.append((1, "s"))
    out = ""
    for size, unit in units:
        if whole >= size:
            out += f"{whole // size}{unit}"
            whole %= size
    return out or "0s"

"""The chat command set, the same on every platform: parse, check the allow-list, run, record.

:meth:`Commands.run` takes an :class:`~hookport.chatops.answer.Invocation` and returns an
:class:`~hookport.chatops.answer.Answer`; it never raises. Every datum comes from
:class:`~hookport.operations.Operations`; ``test`` runs a trial delivery
(:class:`~hookport.trial.Trial`) that never writes to the real store. Every run is recorded
(the audit: time, platform, user, channel, command, result, summary). Bad input is answered
with what was wrong; a failure is answered with an error id to look up in the log, never a
traceback.
"""

from __future__ import annotations

import logging
import secrets
import shlex
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from hookport.chatops.access import Access
from hookport.chatops.answer import Answer, Invocation, failed, refused
from hookport.config import ChatopsSettings, parse_duration
from hookport.errors import NotFoundError, StoreUnavailable
from hookport.events import EventStatus
from hookport.operations import BULK_CAP, Operations, format_time
from hookport.store.base import ChatCommand, EventFilter
from hookport.trial import Trial, find_endpoint, sign_request

__all__ = ["Commands"]

log = logging.getLogger("hookport.chatops")

MAX_TEXT = 4000
"""Characters of a command's text read (a longer one is refused)."""
MAX_FIELD = 200
"""Characters of the user, channel and summary the audit keeps."""
MAX_COMMAND = 500
"""Characters of the command text the audit keeps."""
TEST_TIMEOUT = 20.0
"""Seconds a ``test`` has for its handlers."""
MAX_BODY_SHOWN = 300
"""Characters of a ``test`` answer's body shown."""

_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})  # chat clients type these

Handler = Callable[["Call"], Awaitable[Answer]]


@dataclass(frozen=True, slots=True)
class Call:
    """One parsed command: its words after the command name, and the raw rest of the text."""

    who: Invocation
    args: list[str]
    rest: str


@dataclass(frozen=True, slots=True)
class Spec:
    """A command: what runs it, whether it changes state, its usage and description."""

    run: Handler
    changes: bool
    usage: str
    about: str


class UsageError(ValueError):
    """The command's words do not fit its usage."""


@dataclass
class Commands:
    """The one command set over ``ops``, with each platform's allow-lists in ``access``.

    ``trial`` runs ``test`` (None: ``test`` is unavailable); ``base_url`` is the URL trial
    requests are signed for.
    """

    ops: Operations
    access: Mapping[str, Access]
    settings: ChatopsSettings = field(default_factory=ChatopsSettings)
    trial: Trial | None = None
    base_url: str = "http://127.0.0.1"
    clock: Callable[[], float] = time.time
    specs: dict[str, Spec] = field(init=False)

    def __post_init__(self) -> None:
        self.specs = {
            "help": Spec(self._help, False, "help", "this list"),
            "status": Spec(
                self._status, False, "status", "endpoints: backlog, oldest due, dead, paused"
            ),
            "routes": Spec(self._routes, False, "routes", "every endpoint: URL, verification"),
            "events": Spec(self._events, False, "events [ENDPOINT] [STATUS]", "recent deliveries"),
            "show": Spec(self._show, False, "show ID", "one delivery and its attempts"),
            "test": Spec(
                self._test,
                True,
                "test PATH [--event TYPE] [BODY]",
                "a signed trial delivery, not stored",
            ),
            "replay": Spec(self._replay, True, "replay ID|dead [ENDPOINT]", "run deliveries again"),
            "pause": Spec(
                self._pause, True, "pause ENDPOINT [DURATION]", "hold an endpoint's events"
            ),
            "resume": Spec(self._resume, True, "resume ENDPOINT", "release them, in order"),
        }

    async def run(self, invocation: Invocation) -> Answer:
        """Answer ``invocation`` (never raises) and record it."""
        name = ""
        try:
            name, answer = await self._answer(invocation)
        except Exception:  # a chat answer, never a traceback: the log has it under this id
            error_id = secrets.token_hex(4)
            log.exception("chat command failed (error id %s)", error_id)
            answer = failed("something went wrong running that command", error_id)
        log.info(
            "chat command %s from %s:%s in %s: %s",
            name or "?",
            invocation.platform,
            invocation.user,
            invocation.channel,
            answer.outcome,
        )
        await self._audit(invocation, name, answer)
        return answer

    async def _answer(self, who: Invocation) -> tuple[str, Answer]:
        text = who.text.strip()
        if len(text) > MAX_TEXT:
            return "", failed(f"that command is too long (over {MAX_TEXT} characters)")
        name, _, rest = text.partition(" ")
        name = name.lower() or "help"
        spec = self.specs.get(name)
        if spec is None:
            return name, failed(f"unknown command {name[:40]!r}; try help")
        access = self.access.get(who.platform, Access())
        if not (access.may_change(who) if spec.changes else access.may_read(who)):
            return name, refused(_refusal(name, spec.changes))
        return name, await self._call(name, spec, who, rest)

    async def _call(self, name: str, spec: Spec, who: Invocation, rest: str) -> Answer:
        try:
            words = shlex.split(rest.translate(_QUOTES))
        except ValueError as exc:
            return failed(f"could not read the command: {exc}")
        try:
            return await spec.run(Call(who, words, rest.strip()))
        except UsageError as exc:
            return failed(f"{exc}; usage: {spec.usage}")
        except (NotFoundError, ValueError) as exc:
            return failed(str(exc))
        except StoreUnavailable:
            error_id = secrets.token_hex(4)
            log.warning("chat command %s: store unavailable (error id %s)", name, error_id)
            return failed("the store is unavailable; try again shortly", error_id)

    async def _audit(self, who: Invocation, name: str, answer: Answer) -> None:
        text = who.text.strip()
        if name == "test":  # a trial body is not kept
            words = text.split()
            path = words[1] if len(words) > 1 else ""
            text = f"test {path} (body not kept)"
        record = ChatCommand(
            at=self.clock(),
            platform=who.platform[:32],
            user=who.user[:MAX_FIELD],
            channel=who.channel[:MAX_FIELD],
            command=text[:MAX_COMMAND],
            result=answer.outcome,
            summary=answer.summary[:MAX_FIELD],
        )
        try:
            await self.ops.record_chat_command(
                record, keep=self.settings.keep, max_age=self.settings.max_age
            )
        except Exception:  # the answer still goes out; the log says what was lost
            log.exception("could not record a chat command")

    # -- the commands ----------------------------------------------------------------------

    async def _help(self, call: Call) -> Answer:
        rows = tuple(
            (spec.usage + (" *" if spec.changes else ""), spec.about)
            for spec in self.specs.values()
        )
        note = "* changes state: only allowed users and channels may run it"
        return Answer("hookport commands", (note,), ("command", "what it does"), rows)

    async def _status(self, call: Call) -> Answer:
        _no_args(call)
        now = self.clock()
        load = await self.ops.endpoint_load()
        paused = await self.ops.paused()
        rows = []
        backlog = dead = 0
        for name, entry in load.items():
            statuses = entry["statuses"]
            backlog += entry["backlog"]
            dead += statuses.get("dead", 0)
            pause = paused.get(name)
            state = "active"
            if pause is not None:
                left = "" if pause.expires_at is None else f" ({age(pause.expires_at - now)} left)"
                state = "paused" + left
            since = entry["due_since"]
            rows.append(
                (
                    name,
                    state,
                    str(entry["backlog"]),
                    "-" if since is None else age(now - since),
                    str(statuses.get("dead", 0)),
                    str(statuses.get("done", 0)),
                )
            )
        title = f"{len(rows)} endpoints · backlog {backlog} · dead {dead} · paused {len(paused)}"
        columns = ("endpoint", "state", "backlog", "oldest due", "dead", "done")
        return Answer(title, columns=columns, rows=tuple(rows))

    async def _routes(self, call: Call) -> Answer:
        _no_args(call)
        routes = await self.ops.route_states()
        rows = tuple(
            (
                r["name"],
                ",".join(r["methods"]),
                r["url"] or r["pattern"] or r["path"],
                r["verification"],
                r["state"],
            )
            for r in routes
        )
        columns = ("endpoint", "methods", "url", "verification", "state")
        return Answer(f"{len(rows)} endpoints", columns=columns, rows=rows)

    async def _events(self, call: Call) -> Answer:
        if len(call.args) > 2:
            raise UsageError("too many words")
        endpoint = status = None
        for word in call.args:
            if word.lower() in _STATUSES and status is None:
                status = EventStatus(word.lower())
            elif endpoint is None:
                endpoint = self._endpoint_name(word)
            else:
                raise UsageError(f"{word[:40]!r} is neither a status nor the only endpoint")
        flt = EventFilter(endpoint=endpoint, status=status, limit=self.settings.max_rows)
        events = await self.ops.list_events(flt)
        total = await self.ops.count_events(flt, cap=BULK_CAP)
        now = self.clock()
        rows = tuple(
            (e.id[:16], e.endpoint, e.type or "", e.status.value, str(e.attempt),
             age(now - e.received_at) + " ago")
            for e in events
        )  # fmt: skip
        scope = " ".join(x for x in (endpoint, status.value if status else None) if x)
        title = f"{total}{'+' if total >= BULK_CAP else ''} events" + (
            f" ({scope})" if scope else ""
        )
        columns = ("id", "endpoint", "type", "status", "attempt", "received")
        return Answer(title, columns=columns, rows=rows, more=max(total - len(rows), 0))

    async def _show(self, call: Call) -> Answer:
        if len(call.args) != 1:
            raise UsageError("give one event id")
        event_id = await self.ops.find_event_id(call.args[0])
        event = await self.ops.get_event(event_id)
        if event is None:
            raise NotFoundError(f"no event {event_id}")
        data = self.ops.detail(event, await self.ops.paused())
        lines = [
            f"endpoint {data['endpoint']} · type {data['type'] or '-'} · "
            f"status {data['status']}{' (held: paused)' if data['held'] else ''}",
            f"received {format_time(data['received_at'])} UTC · attempt {data['attempt']}"
            f" · replays {data['replays']}",
        ]
        if data["next_attempt_at"] and data["status"] == "retrying":
            lines.append(f"next attempt {format_time(data['next_attempt_at'])} UTC")
        if data["last_error"]:
            lines.append(f"last error: {data['last_error'][:300]}")
        if "response" in data:
            lines.append(f"answered HTTP {data['response']['status']}")
        attempts = data["attempts"][-self.settings.max_rows :]
        rows = tuple(
            (str(a["attempt"]), a["handler"], "ok" if a["ok"] else "failed", a["error"] or "")
            for a in attempts
        )
        columns = ("attempt", "handler", "outcome", "error") if rows else ()
        more = len(data["attempts"]) - len(attempts)
        return Answer(f"event {event.id}", tuple(lines), columns, rows, more)

    async def _replay(self, call: Call) -> Answer:
        if not call.args or len(call.args) > 2:
            raise UsageError("give an event id, or dead")
        if call.args[0].lower() == "dead":
            endpoint = self._endpoint_name(call.args[1]) if len(call.args) == 2 else None
            flt = EventFilter(status=EventStatus.DEAD, endpoint=endpoint)
            ids = await self.ops.matching_ids(flt, cap=BULK_CAP)
            done = await self.ops.replay(ids)
            where = f" of {endpoint}" if endpoint else ""
            return Answer(f"replayed {len(done)} dead events{where}")
        if len(call.args) == 2:
            raise UsageError("an endpoint goes with dead, not with an id")
        event_id = await self.ops.find_event_id(call.args[0])
        if not await self.ops.replay([event_id]):
            return failed(f"event {event_id} is a route call: there is nothing to run again")
        return Answer(f"replaying event {event_id}")

    async def _pause(self, call: Call) -> Answer:
        if not call.args or len(call.args) > 2:
            raise UsageError("give an endpoint and maybe a duration")
        name = self._endpoint_name(call.args[0])
        duration = parse_duration(call.args[1]) if len(call.args) == 2 else None
        who = call.who
        await self.ops.pause(name, duration=duration, by=f"{who.platform}:{who.user}"[:MAX_FIELD])
        until = "until resumed" if duration is None else f"for {age(duration)}"
        return Answer(f"paused {name} {until}: deliveries are stored, nothing runs")

    async def _resume(self, call: Call) -> Answer:
        if len(call.args) != 1:
            raise UsageError("give one endpoint")
        name = self._endpoint_name(call.args[0])
        if not await self.ops.resume(name):
            return Answer(f"{name} was not paused")
        return Answer(f"resumed {name}: its held events run now, oldest first")

    async def _test(self, call: Call) -> Answer:
        path, _, body = call.rest.partition(" ")
        event_type = None
        if body.startswith("--event "):
            event_type, _, body = body.removeprefix("--event ").lstrip().partition(" ")
        if not path.startswith("/"):
            raise UsageError("give a path starting with /")
        if path.startswith("/_hookport/"):
            return failed("hookport's own endpoints cannot be tested from chat")
        if self.trial is None:
            return failed("test is not available here")
        endpoint = find_endpoint(self.ops.assembly, "POST", path)
        request = sign_request(
            endpoint,
            body.strip().encode(),
            target=path,
            event_type=event_type,
            base_url=self.base_url,
        )
        result = await self.trial.run(request, timeout=TEST_TIMEOUT)
        shown = " ".join(result.body.split())
        if len(shown) > MAX_BODY_SHOWN:
            shown = shown[: MAX_BODY_SHOWN - 1] + "…"
        lines = [f"answer: {shown}" if shown else "answer: (empty)"]
        if result.event_status is not None:
            lines.append(f"event {result.event_status} (trial store: nothing was kept)")
        rows = tuple(
            (run.handler, "ok" if run.ok else "failed", (run.error or "")[:200])
            for run in result.handlers
        )
        columns = ("handler", "outcome", "error") if rows else ()
        title = f"test {result.endpoint}: HTTP {result.status}"
        return Answer(title, tuple(lines), columns, rows)

    def _endpoint_name(self, given: str) -> str:
        """An endpoint's name from its name, its path, or a unique part of its name."""
        endpoints = self.ops.assembly.endpoints
        for ep in endpoints:
            if given in (ep.name, ep.path):
                return ep.name
        found = [ep.name for ep in endpoints if given.lower() in ep.name.lower()]
        if len(found) == 1:
            return found[0]
        if found:
            raise ValueError(f"{given[:60]!r} matches {len(found)} endpoints: be more precise")
        names = [ep.name for ep in endpoints]
        known = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        raise NotFoundError(f"no endpoint {given[:60]!r} (known: {known or 'none'})")


_STATUSES = frozenset(s.value for s in EventStatus)


def _no_args(call: Call) -> None:
    if call.args:
        raise UsageError("this command takes no arguments")


def _refusal(name: str, changes: bool) -> str:
    if changes:
        return (
            f"sorry, {name} changes state and you are not on this platform's allow-list "
            "here; ask an operator to add you (or this channel) to [chatops]"
        )
    return f"sorry, you are not on this platform's list of readers for {name}"


def age(seconds: float) -> str:
    """A span as people read it: ``45s``, ``12m``, ``3h``, ``2d``."""
    seconds = max(seconds, 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def plain_rows(answer: Answer) -> Sequence[str]:
    """The answer's rows as ``a | b | c`` strings (for logs and tests)."""
    return [" | ".join(row) for row in answer.rows]

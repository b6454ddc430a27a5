"""Every chat command, end to end: one table of steps that each platform's test runs against a
real ``hookport serve`` (``plugins/chatty.py``) through that platform's own transport.

A platform gives a :class:`Chat`: how to ask a command as a user (signed Slack form, Discord
interaction, Telegram update, IRC ``PRIVMSG``) and get the answer back as plain text (its markup
undone, so one table fits all four). :func:`run_every_command` runs :data:`STEPS` in order:
each step sends a command as an allowed user or a stranger, checks what the answer says, then
checks, through the admin API, that the command did what it said (a replay ran the handler
again, a pause held new deliveries, a resume ran them, a refusal changed nothing). At the end
the chat-ops audit must hold every command run, with who, where and the result.
"""

from __future__ import annotations

import asyncio
import string
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

ADMIN_TOKEN = "admin-token-for-chat-table"
"""``HOOKPORT_ADMIN_TOKEN`` of the servers these steps run against."""

CONFIG = """
[worker]
max_attempts = 1
poll_interval = "50ms"
"""
"""What every platform's config for the table adds (a failing handler goes dead at once)."""

COMMANDS = ("help", "status", "routes", "test", "events", "show", "replay", "pause", "resume")

Ask = Callable[[str, str, Callable[[str], bool]], Awaitable[str]]
"""``ask(text, user, done)``: send command ``text`` as ``user``; the answer as plain text.
Platforms whose answers arrive in pieces (IRC lines) wait until ``done(text_so_far)``."""


@dataclass
class Chat:
    """One platform under test."""

    platform: str
    ask: Ask
    allowed: str
    """A user on the platform's allow-list (``users``)."""
    stranger: str
    """A user on no list: read-only commands answer, the others are refused."""
    channel: str
    """The channel the audit records for the allowed user's commands."""
    endpoints: int
    """How many endpoints ``status`` counts (chatty's two, plus the chat endpoint if any)."""
    chat_path: str | None = None
    """The platform's own endpoint, which ``routes`` lists like any other (None: IRC)."""


@dataclass
class Run:
    """The state the steps share: the server, the events made, what ran."""

    chat: Chat
    url: str
    api: httpx.AsyncClient
    ids: dict[str, str] = field(default_factory=dict)
    asked: list[tuple[str, str, str]] = field(default_factory=list)  # (user, text, result)

    async def events(self, **query: str) -> list[dict[str, Any]]:
        response = await self.api.get("/_hookport/api/events", params=query)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()["events"]
        return found

    async def event(self, event_id: str) -> dict[str, Any]:
        response = await self.api.get(f"/_hookport/api/events/{event_id}")
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    async def deliver(self, body: dict[str, Any]) -> str:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(self.url + "/inbox", json=body)
        assert response.status_code == 202, response.text
        event_id: str = response.json()["id"]
        return event_id


async def until(condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 20) -> None:
    """Poll ``condition`` (every 50 ms) until it holds, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)  # polling a condition with a deadline


def _complete(says: Sequence[str], whole: Callable[[str], bool]) -> Callable[[str], bool]:
    """Whether an answer (so far) has every one of ``says`` and satisfies ``whole``."""
    return lambda text: all(part in text for part in says) and whole(text)


async def status_of(run: Run, name: str) -> str:
    return str((await run.event(run.ids[name]))["status"])


# -- the steps ---------------------------------------------------------------------------------

Check = Callable[[Run, str], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    """Ask ``text`` (``$ok``, ``$dead16``... filled in with event ids, see :func:`_fill`) as the allowed user or the
    stranger; the answer must contain every one of ``says`` (and satisfy ``whole``); then ``then`` checks the state."""

    text: str
    says: Sequence[str]
    stranger: bool = False
    result: str = "ok"
    whole: Callable[[str], bool] | None = None
    """A further condition on the whole answer (waited for, like ``says``)."""
    then: Check | None = None


def _lists_every_command(text: str) -> bool:
    """Every command is named, or the answer says how many rows it left out (IRC: 8 lines)."""
    return all(name in text for name in COMMANDS) or "more" in text


async def _counts_endpoints(run: Run, text: str) -> None:
    assert f"{run.chat.endpoints} endpoints · backlog 0 · dead 1" in text, text


async def _lists_the_chat_endpoint(run: Run, text: str) -> None:
    if run.chat.chat_path is not None:
        assert f"chatops:{run.chat.platform}" in text and run.chat.chat_path in text, text


async def _trial_kept_nothing(run: Run, text: str) -> None:
    assert len(await run.events(endpoint="inbox")) == 2, "a test delivery was stored"


async def _ok_ran_again(run: Run, text: str) -> None:
    async def done() -> bool:
        event = await run.event(run.ids["ok"])
        return bool(event["replays"] == 1 and event["status"] == "done")

    await until(done, "the replayed event to run again")
    assert [a["handler"] for a in (await run.event(run.ids["ok"]))["attempts"]] == ["note"] * 2


async def _dead_ran_again(run: Run, text: str) -> None:
    async def done() -> bool:
        event = await run.event(run.ids["dead"])
        return bool(event["replays"] == 1 and event["status"] == "dead")

    await until(done, "the dead event to run again (and fail again)")
    assert len((await run.event(run.ids["dead"]))["attempts"]) == 2


async def _nothing_replayed(run: Run, text: str) -> None:
    assert (await run.event(run.ids["ok"]))["replays"] == 1


async def _still_active(run: Run, text: str) -> None:
    run.ids["while_active"] = await run.deliver({"n": "active"})

    async def ran() -> bool:
        return await status_of(run, "while_active") == "done"

    await until(ran, "a delivery to an endpoint the stranger could not pause to run")


async def _holds_new_deliveries(run: Run, text: str) -> None:
    for n in range(3):
        run.ids[f"held{n}"] = await run.deliver({"n": f"held {n}"})
    held = [e for e in await run.events(endpoint="inbox") if e["held"]]
    assert {e["id"] for e in held} == {run.ids[f"held{n}"] for n in range(3)}
    assert {e["status"] for e in held} == {"queued"}


async def _still_held(run: Run, text: str) -> None:
    assert {await status_of(run, f"held{n}") for n in range(3)} == {"queued"}


async def _released(run: Run, text: str) -> None:
    async def ran() -> bool:
        return {await status_of(run, f"held{n}") for n in range(3)} == {"done"}

    await until(ran, "the held events to run once resumed")
    assert not any(e["held"] for e in await run.events(endpoint="inbox"))


STEPS: tuple[Step, ...] = (
    Step("help", ["hookport commands", "changes state", "help", "status"],
         whole=_lists_every_command),
    Step("status", ["endpoints", "dead 1", "paused 0", "inbox"], then=_counts_endpoints),
    Step("routes", ["inbox", "/inbox", "slow"], then=_lists_the_chat_endpoint),
    Step('test /inbox {"n": 2}', ["test inbox: HTTP 202", "note", "nothing was kept"],
         then=_trial_kept_nothing),
    Step("events inbox", ["2 events (inbox)", "$ok16", "$dead16"]),
    Step("events dead", ["1 events (dead)", "$dead16"]),
    Step("show $dead12", ["event $dead", "dead", "asked to fail"]),
    Step("replay $ok16", ["replaying event $ok"], then=_ok_ran_again),
    Step("replay dead inbox", ["replayed 1 dead events of inbox"], then=_dead_ran_again),
    # A stranger may read, but every command that changes state is refused and changes nothing.
    Step("status", ["endpoints", "inbox"], stranger=True),
    Step("test /inbox {}", ["sorry, test changes state"], stranger=True, result="refused"),
    Step("replay $ok16", ["sorry, replay changes state"], stranger=True, result="refused",
         then=_nothing_replayed),
    Step("pause inbox", ["sorry, pause changes state"], stranger=True, result="refused",
         then=_still_active),
    Step("pause inbox", ["paused inbox until resumed"], then=_holds_new_deliveries),
    Step("status", ["paused 1", "paused"]),
    Step("events inbox queued", ["3 events (inbox queued)", "$held0_16"]),
    Step("resume inbox", ["sorry, resume changes state"], stranger=True, result="refused",
         then=_still_held),
    Step("resume inbox", ["resumed inbox"], then=_released),
    Step("resume inbox", ["inbox was not paused"]),
)  # fmt: skip


def _fill(template: str, ids: dict[str, str]) -> str:
    """``$ok``, ``$ok16``, ``$ok12`` (``$held0_16``): an event's id, or its first 16/12
    characters (commands take a unique prefix)."""
    values: dict[str, str] = {}
    for name, event_id in ids.items():
        values[name] = event_id
        for n in (16, 12):
            values[f"{name}{n}"] = values[f"{name}_{n}"] = event_id[:n]
    return string.Template(template).substitute(values)


async def run_every_command(chat: Chat, url: str) -> None:
    """Run :data:`STEPS` on ``chat`` against the server at ``url``; then check the audit."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as api:
        run = Run(chat, url, api)
        run.ids["ok"] = await run.deliver({"n": 1})
        run.ids["dead"] = await run.deliver({"fail": True})

        async def settled() -> bool:
            return {await status_of(run, "ok"), await status_of(run, "dead")} == {"done", "dead"}

        await until(settled, "the first deliveries to settle")

        for step in STEPS:
            text = _fill(step.text, run.ids)
            says = [_fill(part, run.ids) for part in step.says]
            user = chat.stranger if step.stranger else chat.allowed
            whole = step.whole or (lambda _: True)
            answer = await chat.ask(text, user, _complete(says, whole))
            missing = [part for part in says if part not in answer]
            assert not missing, f"{chat.platform}: {text!r} answered {answer!r}, lacks {missing}"
            assert whole(answer), f"{chat.platform}: {text!r} answered {answer!r}"
            if step.then is not None:
                await step.then(run, answer)
            run.asked.append((user, text, step.result))

        await _check_audit(run)


async def _check_audit(run: Run) -> None:
    chat = run.chat
    response = await run.api.get(
        "/_hookport/api/chatops", params={"platform": chat.platform, "limit": "200"}
    )
    response.raise_for_status()
    records = response.json()["commands"]
    assert {r["platform"] for r in records} == {chat.platform}
    recorded = [
        (r["user"], r["command"], r["result"])
        for r in reversed(records)  # oldest first
    ]
    expected = [
        (user, "test /inbox (body not kept)" if text.startswith("test ") else text, result)
        for user, text, result in run.asked
    ]
    assert recorded == expected
    allowed = [r for r in records if r["user"] == chat.allowed]
    assert {r["channel"] for r in allowed} == {chat.channel}
    assert all(r["summary"] and r["at"] for r in records)

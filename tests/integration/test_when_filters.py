"""``when=`` on code receivers: the rule language of ``trigger-rule``, or a predicate."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookport import Event, Plugin, verify
from hookport.errors import PluginError
from hookport.store.base import EventFilter
from hookport.testing import HookportClient

MAIN_ONLY = {"match": {"type": "value", "value": "refs/heads/main",
                       "parameter": {"source": "payload", "name": "ref"}}}  # fmt: skip


@pytest.mark.anyio
async def test_rule_and_predicate_filters_choose_handlers(tmp_path: Path) -> None:
    calls: list[str] = []
    plugin = Plugin("filtered")
    gh = plugin.receiver("/gh", verify=verify.github(secret="s3cret"))

    @gh.on("push", when=MAIN_ONLY)
    def deploy(event: Event) -> None:
        calls.append(f"deploy {event.json['after']}")

    @gh.on("push", when=lambda event: event.json["after"].startswith("b"))
    def audit(event: Event) -> None:
        calls.append(f"audit {event.json['after']}")

    async with HookportClient.create([plugin], tmp_path) as client:
        for ref, after in (("refs/heads/main", "a1"), ("refs/heads/dev", "b2"),
                           ("refs/heads/main", "b3")):  # fmt: skip
            body = f'{{"ref": "{ref}", "after": "{after}"}}'.encode()
            answer = await client.send("/gh", body, event_type="push",
                                       headers={"Content-Type": "application/json"})  # fmt: skip
            assert answer.status_code == 202
        assert await client.drain() == 3
        stored = await client.app.ops.list_events(EventFilter())
        assert sorted(e.status for e in stored) == ["done"] * 3  # filtered out is still done
    # Events of one receiver may be handled in any order; each handler ran where it should.
    assert sorted(calls) == ["audit b2", "audit b3", "deploy a1", "deploy b3"]


@pytest.mark.anyio
async def test_a_predicate_that_raises_fails_the_handler(tmp_path: Path) -> None:
    plugin = Plugin("raising")
    r = plugin.receiver("/r", max_attempts=1)

    @r.on("*", when=lambda event: event.json["missing"])
    def never(event: Event) -> None:
        raise AssertionError("must not run")

    async with HookportClient.create([plugin], tmp_path) as client:
        answer = await client.send("/r", b"{}")
        await client.drain()
        event = await client.event(answer.json()["id"])
    assert event is not None and event.status == "dead"
    assert event.attempts[0].error == "KeyError: 'missing'"


def test_a_rule_that_cannot_work_is_an_assembly_error(tmp_path: Path) -> None:
    plugin = Plugin("broken")
    r = plugin.receiver("/r")
    bad = {
        "match": {"type": "regex", "regex": "(", "parameter": {"source": "payload", "name": "a"}}
    }

    @r.on("*", when=bad)
    def handle(event: Event) -> None: ...

    with pytest.raises(PluginError, match=r"handler handle when=: filter.match: regex '\(' does"):
        HookportClient.create([plugin], tmp_path)


def test_when_takes_a_rule_table_or_a_predicate() -> None:
    r = Plugin("typed").receiver("/r")
    with pytest.raises(TypeError, match="when= takes a predicate"):
        r.on("*", when="ref == main")  # type: ignore[arg-type]

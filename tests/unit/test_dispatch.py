"""Dispatcher: matching, injection, sync/async handlers, timeouts, per-handler outcomes."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from hookport.assembly import Assembly, ReceiverEndpoint, assemble
from hookport.config import WorkerSettings, load_settings
from hookport.context import Context
from hookport.dispatch import Dispatcher
from hookport.errors import PluginError
from hookport.events import Event, EventStatus
from hookport.notify import RecordingNotifier
from hookport.plugin import Plugin, Receiver
from hookport.threads import ThreadLane
from hookport.watchdog import HandlerWatchdog

SETTINGS = WorkerSettings(max_attempts=5, timeout=None)


def make_event(hook: Receiver, /, type: str | None = "push", **overrides: Any) -> Event:
    values: dict[str, Any] = {
        "id": "0190aaaa000000000000000000000001",
        "kind": "receiver",
        "plugin": hook.plugin.name,
        "endpoint": hook.name,
        "type": type,
        "delivery_id": "delivery-1",
        "received_at": 1_700_000_000.0,
        "method": "POST",
        "path": hook.path,
        "query_string": "",
        "headers": [("content-type", "application/json")],
        "body": b'{"ok": true}',
        "params": {},
        "sender": None,
        "source_ip": "127.0.0.1",
        "status": EventStatus.PROCESSING,
        "attempt": 1,
    }
    values.update(overrides)
    return Event(**values)


def short(handler: str) -> str:
    """A handler's name is its qualified name; tests compare the last part."""
    return handler.rsplit(".", 1)[-1]


def assembled(
    *receivers: Receiver,
    notifier: RecordingNotifier | None = None,
    settings: WorkerSettings = SETTINGS,
    plugins: dict[str, dict[str, Any]] | None = None,
) -> Assembly:
    """The receivers' plugins assembled as ``create_app`` does (``plugins``: their settings)."""
    owners = list(dict.fromkeys(r.plugin for r in receivers))
    config = load_settings(None, {}, worker=settings.model_dump(), plugins=plugins or {})
    return assemble(owners, config, notifier or RecordingNotifier())


def endpoint(receiver: Receiver, settings: WorkerSettings = SETTINGS) -> ReceiverEndpoint:
    return assembled(receiver, settings=settings).receivers[receiver.name]


def dispatcher(
    *receivers: Receiver,
    notifier: RecordingNotifier | None = None,
    settings: WorkerSettings = SETTINGS,
    plugins: dict[str, dict[str, Any]] | None = None,
) -> Dispatcher:
    assembly = assembled(*receivers, notifier=notifier, settings=settings, plugins=plugins)
    return Dispatcher(assembly, ThreadLane("handler", 4))


@pytest.mark.anyio
async def test_async_and_sync_handlers_run_in_declaration_order() -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    calls: list[tuple[str, bool]] = []
    main_thread = threading.get_ident()

    @hook.on("push")
    async def first(event: Event) -> None:
        calls.append(("first", threading.get_ident() == main_thread))

    @hook.on("push")
    def second(event: Event) -> None:
        calls.append(("second", threading.get_ident() == main_thread))

    outcomes = await dispatcher(hook).run(make_event(hook))

    assert calls == [("first", True), ("second", False)]  # sync handlers run in a thread
    assert [(short(o.handler), o.ok) for o in outcomes] == [("first", True), ("second", True)]
    assert all(o.started_at <= o.finished_at for o in outcomes)


@pytest.mark.anyio
async def test_parameters_are_injected_by_name_including_path_params() -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook/{org}/{repo:path}")
    seen: dict[str, Any] = {}

    @hook
    def handle(repo: str, ctx: Context, org: str, event: Event) -> None:
        seen.update(repo=repo, org=org, event=event, ctx=ctx)

    event = make_event(hook, params={"org": "octo-org", "repo": "a/b"})
    [outcome] = await dispatcher(hook).run(event)

    assert outcome.ok
    assert seen["org"] == "octo-org"
    assert seen["repo"] == "a/b"
    assert seen["event"] is event
    assert isinstance(seen["ctx"], Context)


def test_a_parameter_that_cannot_be_injected_is_a_plugin_error_at_build() -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook/{org}")

    @hook
    def handle(event: Event, request: object) -> None: ...

    with pytest.raises(PluginError, match=r"'p'.*receiver /hook/\{org\} handler .*handle.*request"):
        assembled(hook)


def test_two_handlers_with_one_name_are_a_plugin_error() -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    hook.on("a")(lambda event: None)
    hook.on("b")(lambda event: None)

    with pytest.raises(PluginError, match="two handlers named"):
        assembled(hook)


@pytest.mark.anyio
async def test_a_failure_is_recorded_and_later_handlers_still_run() -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    ran: list[str] = []

    @hook
    def broken(event: Event) -> None:
        raise ValueError("boom")

    @hook
    async def fine(event: Event) -> None:
        ran.append("fine")

    failed, ok = await dispatcher(hook).run(make_event(hook))

    assert not failed.ok
    assert failed.error == "ValueError: boom"
    assert failed.traceback is not None
    assert "broken" in failed.traceback
    assert "ValueError: boom" in failed.traceback
    assert ok.ok
    assert ok.error is None
    assert ran == ["fine"]


@pytest.mark.anyio
async def test_an_async_handler_past_its_timeout_is_cancelled_and_recorded() -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook", timeout=0.05)
    cancelled = asyncio.Event()

    @hook
    async def slow(event: Event) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    [outcome] = await dispatcher(hook).run(make_event(hook))

    assert not outcome.ok
    assert outcome.error == "HandlerTimeout: handler ran longer than 0.05s"
    assert cancelled.is_set()


@pytest.mark.anyio
async def test_a_sync_handler_past_its_timeout_is_recorded_and_dispatch_moves_on() -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    release = threading.Event()
    ran: list[str] = []

    @hook
    def stuck(event: Event) -> None:
        release.wait(10)

    @hook
    def after(event: Event) -> None:
        ran.append("after")

    settings = WorkerSettings(timeout=0.05)
    try:
        stuck_outcome, after_outcome = await dispatcher(hook, settings=settings).run(
            make_event(hook)
        )
    finally:
        release.set()  # let the abandoned thread finish

    assert stuck_outcome.error == (
        "HandlerTimeout: handler ran longer than 0.05s; its thread is still running"
    )
    assert after_outcome.ok
    assert ran == ["after"]


@pytest.mark.anyio
async def test_a_timeout_error_raised_by_the_handler_is_not_a_handler_timeout() -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook", timeout=30)

    @hook
    async def upstream(event: Event) -> None:
        raise TimeoutError("upstream API timed out")

    [outcome] = await dispatcher(hook).run(make_event(hook))

    assert outcome.error == "TimeoutError: upstream API timed out"
    assert outcome.traceback is not None


@pytest.mark.anyio
async def test_handlers_that_already_succeeded_are_skipped() -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    ran: list[str] = []

    @hook
    def one(event: Event) -> None:
        ran.append("one")

    @hook
    def two(event: Event) -> None:
        ran.append("two")

    event = make_event(hook, attempt=2, done_handlers=frozenset({hook.handlers[0].name}))
    outcomes = await dispatcher(hook).run(event)

    assert ran == ["two"]
    assert [o.handler for o in outcomes] == [hook.handlers[1].name]


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("issues.opened", ["every", "issues", "opened"]),
        ("issues.closed", ["every", "issues"]),
        ("issues", ["every", "issues"]),
        ("issue_comment.created", ["every"]),
        ("push", ["every", "push"]),
        (None, ["every"]),
    ],
)
@pytest.mark.anyio
async def test_star_and_sub_type_matching(event_type: str | None, expected: list[str]) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    ran: list[str] = []

    def recorder(name: str) -> Callable[[Event], None]:
        def handler(event: Event) -> None:
            ran.append(name)

        handler.__qualname__ = name
        return handler

    hook.on("*")(recorder("every"))
    hook.on("issues")(recorder("issues"))
    hook.on("issues.opened", "issues.reopened")(recorder("opened"))
    hook.on("push")(recorder("push"))

    outcomes = await dispatcher(hook).run(make_event(hook, type=event_type))

    assert ran == expected
    assert [o.handler for o in outcomes] == expected


@pytest.mark.anyio
async def test_no_matching_handler_gives_no_outcomes_and_an_info_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hookport.dispatch")
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    hook.on("push")(lambda event: None)

    outcomes = await dispatcher(hook).run(make_event(hook, type="ping"))

    assert outcomes == []
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert "no handler" in record.getMessage()
    assert record.event_id == "0190aaaa000000000000000000000001"  # type: ignore[attr-defined]


class RepoSettings(BaseModel):
    repo_filter: str = "octo-org/*"


@pytest.mark.anyio
async def test_context_carries_settings_plugin_event_attempt_and_a_bound_logger() -> None:
    plugin = Plugin("github-notify", settings=RepoSettings)
    hook = plugin.receiver("/github")
    seen: list[Context] = []

    @hook
    async def handle(ctx: Context) -> None:
        seen.append(ctx)

    settings = RepoSettings(repo_filter="mine/*")
    event = make_event(hook, attempt=3)
    await dispatcher(hook, plugins={"github-notify": {"repo_filter": "mine/*"}}).run(event)

    [ctx] = seen
    assert ctx.settings == settings
    assert ctx.plugin is plugin
    assert ctx.event is event
    assert ctx.attempt == 3
    assert ctx.log.extra == {
        "plugin": "github-notify",
        "endpoint": hook.name,
        "handler": "handle",
        "event_id": event.id,
        "delivery_id": "delivery-1",
        "attempt": 3,
    }


@pytest.mark.anyio
async def test_ctx_settings_is_none_without_plugin_settings() -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    seen: list[object] = []

    @hook
    async def handle(ctx: Context) -> None:
        seen.append(ctx.settings)

    await dispatcher(hook).run(make_event(hook))
    assert seen == [None]


@pytest.mark.anyio
async def test_ctx_send_goes_through_the_notifier_and_its_failure_fails_the_handler() -> None:
    plugin = Plugin("p", channels=["dev", "ops"])
    hook = plugin.receiver("/hook")
    notifier = RecordingNotifier(["dev", "ops"], failing=["ops"])

    @hook
    async def tell_dev(ctx: Context) -> None:
        await ctx.send("dev", "pushed", title="push")

    @hook
    async def tell_ops(ctx: Context) -> None:
        await ctx.send("ops", "pushed")

    ok, failed = await dispatcher(hook, notifier=notifier).run(make_event(hook))

    assert ok.ok
    assert notifier.messages("dev") == ["pushed"]
    assert notifier.sent[0].title == "push"
    assert not failed.ok
    assert failed.error == "NotifyError: notification through channel 'ops' failed"


def test_limits_come_from_the_receiver_else_from_worker_settings() -> None:
    plugin = Plugin("p")
    own = plugin.receiver("/own", max_attempts=2, timeout=3.0, concurrency=1)
    default = plugin.receiver("/default")
    settings = WorkerSettings(max_attempts=7, timeout=9.0)

    own_rt = endpoint(own, settings)
    default_rt = endpoint(default, settings)

    assert (own_rt.max_attempts, own_rt.timeout, own_rt.concurrency) == (2, 3.0, 1)
    assert (default_rt.max_attempts, default_rt.timeout, default_rt.concurrency) == (7, 9.0, None)
    assert own_rt.name == own.name
    assert own_rt.plugin is plugin


@pytest.mark.anyio
async def test_an_event_of_an_unknown_endpoint_fails_with_a_clear_error() -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    event = make_event(hook, endpoint="gone:/old")

    [outcome] = await dispatcher(hook).run(event)

    assert not outcome.ok
    assert outcome.error is not None
    assert "no receiver 'gone:/old'" in outcome.error


def test_assembly_keys_receivers_by_endpoint_name_and_rejects_duplicates() -> None:
    first = Plugin("a")
    first.receiver("/x", name="same")
    first.receiver("/y")
    config = load_settings(None, {})
    receivers = assemble([first], config, RecordingNotifier()).receivers
    assert sorted(receivers) == ["a:/y", "same"]

    first = Plugin("a")
    first.receiver("/x", name="same")
    second = Plugin("b")
    second.receiver("/z", name="same")
    with pytest.raises(PluginError, match="two endpoints are named 'same'"):
        assemble([first, second], config, RecordingNotifier())


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/plain", set()),
        ("/x/{name}", {"name"}),
        ("/x/{id:int}/{rest:path}", {"id", "rest"}),
        (r"^/repo/(?P<owner>[^/]+)/(?P<name>[^/]+)$", {"owner", "name"}),
    ],
)
def test_path_params(path: str, names: set[str]) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver(path)
    hook(lambda event, **params: None)
    assert set(endpoint(hook).handlers[0].plan.names) == names | {"event", "ctx"}


def test_handlers_have_a_default_timeout_of_five_minutes() -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    config = load_settings(None, {})
    assert config.worker.timeout == 300.0
    assert assemble([plugin], config, RecordingNotifier()).receivers[hook.name].timeout == 300.0


@pytest.mark.anyio
async def test_the_watchdog_names_a_handler_running_past_half_its_timeout_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook", timeout=10)
    entered = asyncio.Event()

    @hook
    async def slow(event: Event) -> None:
        entered.set()
        await asyncio.Event().wait()

    lane_dispatcher = dispatcher(hook)
    watchdog = HandlerWatchdog(lane_dispatcher)
    run = asyncio.create_task(lane_dispatcher.run(make_event(hook)))
    await entered.wait()
    [running] = lane_dispatcher.running()
    assert (running.handler.rsplit(".", 1)[-1], running.timeout) == ("slow", 10)

    assert watchdog.check(now=running.since + 4.9) == []
    with caplog.at_level(logging.WARNING, logger="hookport.worker"):
        assert len(watchdog.check(now=running.since + 5.1)) == 1
        watchdog.check(now=running.since + 6)  # warned once, not on every look
    warnings = [r.getMessage() for r in caplog.records if "has been running" in r.getMessage()]
    assert len(warnings) == 1
    assert "on event 0190aaaa000000000000000000000001" in warnings[0]
    assert "its timeout is 10s" in warnings[0]
    assert watchdog.slow == 1

    run.cancel()
    outcomes = await asyncio.gather(run, return_exceptions=True)
    assert isinstance(outcomes[0], asyncio.CancelledError)
    assert lane_dispatcher.running() == []
    assert watchdog.check() == [] and watchdog.slow == 0

"""``hookport events list / show / replay / rejected``: inspect and replay recorded deliveries,
and see the ones hookport refused."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.syntax import Syntax
from rich.table import Table

from hookport.app import HookportApp
from hookport.cli._common import build, common_options, run
from hookport.config import parse_duration
from hookport.events import Event, EventStatus
from hookport.operations import Operations, is_held
from hookport.operations import format_time as _when
from hookport.store.base import MAX_LIST, EventFilter, Pause, RejectionFilter

STATUSES = [s.value for s in EventStatus]
T = TypeVar("T")


@click.group()
def events() -> None:
    """Inspect and replay recorded deliveries."""


@events.command("list")
@common_options
@click.option("--endpoint", default=None, help="Only events of this endpoint (its name).")
@click.option("--receiver", "old_endpoint", default=None, hidden=True)  # the round-1 name
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--type", "event_type", default=None)
@click.option("--since", default=None, help="Only newer than this duration ago, e.g. 1h, 3d.")
@click.option("--limit", type=click.IntRange(1, MAX_LIST), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_events(
    config: str | None,
    plugins: tuple[str, ...],
    endpoint: str | None,
    old_endpoint: str | None,
    status: str | None,
    event_type: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List recorded deliveries, newest first."""
    import time

    try:
        since_ts = time.time() - parse_duration(since) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    flt = EventFilter(
        endpoint=endpoint or old_endpoint,
        status=EventStatus(status) if status else None,
        type=event_type,
        since=since_ts,
        limit=limit,
    )
    app = build(config, plugins)

    async def go(ops: Operations) -> tuple[list[Event], dict[str, Pause]]:
        return await ops.list_events(flt), await ops.paused()

    found, paused = run(_with_store(app, go))
    if as_json:
        click.echo(json.dumps([app.ops.summary(e, paused) for e in found], indent=2))
        return
    table = Table(title=f"{len(found)} events")
    for column in ("id", "received", "endpoint", "type", "status", "attempt", "delivery id"):
        table.add_column(column, overflow="fold")
    for e in found:  # stored values are text, never rich markup
        table.add_row(
            e.id,
            _when(e.received_at),
            escape(e.endpoint),
            escape(e.type or ""),
            e.status.value + (" (held: paused)" if is_held(e, paused) else ""),
            str(e.attempt),
            escape(e.delivery_id or ""),
        )
    Console(width=180).print(table)
    for name in sorted({e.endpoint for e in found} & paused.keys()):
        click.echo(f"{name} is paused ({pause_note(paused[name])}): hookport resume {name}")


def pause_note(pause: Pause) -> str:
    """``since ... until ...`` (or ``until resumed``), ``by ...``: one pause in a line."""
    until = _when(pause.expires_at) if pause.expires_at is not None else "resumed"
    by = f", by {pause.paused_by}" if pause.paused_by else ""
    return f"since {_when(pause.paused_at)} UTC until {until}{by}"


@events.command("show")
@common_options
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True)
def show_event(config: str | None, plugins: tuple[str, ...], event_id: str, as_json: bool) -> None:
    """Show one delivery: headers, body, status, attempts with errors, response."""
    app = build(config, plugins)

    async def go(ops: Operations) -> tuple[Event | None, dict[str, Pause]]:
        return await ops.get_event(event_id), await ops.paused()

    event, paused = run(_with_store(app, go))
    if event is None:
        raise click.ClickException(f"no event {event_id}")
    shown = app.ops.detail(event, paused)  # credentials redacted, as every surface shows them
    if as_json:
        click.echo(json.dumps(shown, indent=2))
        return
    _render(shown)
    if is_held(event, paused):
        click.echo(f"held: {event.endpoint} is paused ({pause_note(paused[event.endpoint])})")


def _render(event: dict[str, Any]) -> None:
    """Print an event's detail (as :meth:`Operations.detail` shows it). Every stored value is
    printed as text: ``[red]`` in a header or a type is not rich markup."""
    console = Console(width=160)
    e: dict[str, Any] = {k: escape(v) if isinstance(v, str) else v for k, v in event.items()}
    query = f"?{e['query_string']}" if e["query_string"] else ""
    console.print(
        f"[bold]event {e['id']}[/bold]  status [bold]{e['status']}[/bold]  "
        f"attempts {e['attempt']}"
    )
    console.print(
        f"endpoint {e['endpoint']}  plugin {e['plugin']}  type {e['type']}  "
        f"delivery {e['delivery_id']}  sender {e['sender']}"
    )
    console.print(
        f"received {_when(e['received_at'])}  from {e['source_ip']}  "
        f"{e['method']} {e['path']}{query}"
    )
    if e["next_attempt_at"] and e["status"] == EventStatus.RETRYING.value:
        console.print(f"next attempt {_when(e['next_attempt_at'])}")
    if e["last_error"]:
        console.print(f"[red]last error: {e['last_error']}[/red]")
    console.print("[bold]headers[/bold]")
    for name, value in event["headers"]:
        console.print(f"  {name}: {value}", markup=False, highlight=False)
    console.print("[bold]body[/bold]")
    try:
        console.print(Syntax(json.dumps(json.loads(event["body"]), indent=2), "json"))
    except ValueError:
        console.print(event["body"], markup=False, highlight=False)
    attempts = event["attempts"]
    if attempts:
        table = Table(title="attempts")
        for column in ("attempt", "handler", "result", "started", "seconds", "error"):
            table.add_column(column, overflow="fold")
        for a in attempts:
            table.add_row(
                str(a["attempt"]),
                escape(a["handler"]),
                "ok" if a["ok"] else "failed",
                _when(a["started_at"]),
                f"{a['finished_at'] - a['started_at']:.3f}",
                escape(a["error"] or ""),
            )
        console.print(table)
        last_tb = next((a["traceback"] for a in reversed(attempts) if a["traceback"]), None)
        if last_tb:
            label = "last traceback" if last_tb.startswith("Traceback") else "last report"
            console.print(f"[bold]{label}[/bold]")
            console.print(last_tb, markup=False, highlight=False)
    response = event.get("response")
    if response is not None:
        console.print(f"[bold]response[/bold] {response['status']}")
        for name, value in response["headers"]:
            console.print(f"  {name}: {value}", markup=False, highlight=False)
        console.print(response["body"], markup=False, highlight=False)


@events.command("replay")
@common_options
@click.argument("event_ids", nargs=-1)
@click.option(
    "--status",
    type=click.Choice(["dead", "done", "retrying", "unhandled"]),
    default=None,
    help="Replay every event with this status.",
)
def replay(
    config: str | None, plugins: tuple[str, ...], event_ids: tuple[str, ...], status: str | None
) -> None:
    """Make events due again; a running worker processes them."""
    if bool(event_ids) == bool(status):
        raise click.UsageError("give event ids or --status, not both and not neither")
    app = build(config, plugins)

    async def go(ops: Operations) -> tuple[list[str], list[str]]:
        ids = list(event_ids) or await ops.ids_with_status(EventStatus(status or "dead"))
        done: list[str] = []
        with Progress(transient=True) as progress:
            task = progress.add_task("replaying", total=len(ids))
            for start in range(0, len(ids), 200):
                chunk = ids[start : start + 200]
                done.extend(await ops.replay(chunk))
                progress.advance(task, len(chunk))
        return ids, done

    ids, done = run(_with_store(app, go))
    missing = sorted(set(ids) - set(done))
    click.echo(f"replayed {len(done)} event(s)")
    if missing:
        raise click.ClickException(f"no such event(s): {', '.join(missing)}")


async def _with_store(app: HookportApp, action: Callable[[Operations], Awaitable[T]]) -> T:
    async with app.ops.opened() as ops:
        return await action(ops)


@events.command("rejected")
@common_options
@click.option("--endpoint", default=None, help="Only rejections of this endpoint (its name).")
@click.option("--since", default=None, help="Only newer than this duration ago, e.g. 1h, 3d.")
@click.option("--limit", type=click.IntRange(1, MAX_LIST), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def rejected(
    config: str | None,
    plugins: tuple[str, ...],
    endpoint: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List rejected deliveries (4xx answers, hook rule mismatches): why didn't it fire?

    Metadata only: time, method, path, endpoint, status, reason, source address and the header
    names; never a body or a header's value.
    """
    import time

    try:
        since_ts = time.time() - parse_duration(since) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    flt = RejectionFilter(since=since_ts, endpoint=endpoint, limit=limit)
    app = build(config, plugins)
    found = run(_with_store(app, lambda ops: ops.rejections(flt)))
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    table = Table(title=f"{len(found)} rejected deliveries")
    for column in ("at", "status", "method", "path", "endpoint", "reason", "from", "headers"):
        table.add_column(column, overflow="fold")
    for r in found:  # request-controlled text: never rich markup
        table.add_row(
            _when(r["at"]),
            str(r["status"]),
            escape(r["method"]),
            escape(r["path"]),
            escape(r["endpoint"] or "(no endpoint)"),
            escape(r["reason"]),
            escape(r["source_ip"] or ""),
            escape(", ".join(r["header_names"])),
        )
    Console(width=180).print(table)

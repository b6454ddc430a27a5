"""``hookport events list / show / replay / rejected``: inspect and replay recorded deliveries,
and see the ones hookport refused."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.markup import escape
from rich.syntax import Syntax

from hookport.cli._common import (
    build,
    common_options,
    emit_json,
    interactive,
    print_table,
    resolve_event_id,
    run,
    with_store,
)
from hookport.cli._common import (
    console as plain_console,
)
from hookport.config import parse_duration
from hookport.events import Event, EventStatus
from hookport.operations import COUNT_CAP, Operations, is_held
from hookport.operations import format_time as _when
from hookport.store.base import MAX_LIST, EventFilter, Pause, RejectionFilter

STATUSES = [s.value for s in EventStatus]
CONFIRM_OVER = 20
"""Replaying more events than this asks first (``--yes`` does not)."""


@click.group()
def events() -> None:
    """Inspect and replay recorded deliveries."""


@events.command("list")
@common_options
@click.option("--endpoint", default=None, help="Only events of this endpoint (its exact name).")
@click.option("--receiver", "old_endpoint", default=None, hidden=True)  # the round-1 name
@click.option("--match", "contains", default=None, help="Endpoint names containing this text.")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only this status.")
@click.option("--type", "event_type", default=None, help="Only events of this type (e.g. push).")
@click.option("--since", default=None, help="Only newer than this duration ago, e.g. 1h, 3d.")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIST),
    default=50,
    show_default=True,
    help="Events on one page.",
)
@click.option("--before", default=None, metavar="EVENT_ID", help="The next page: older than this.")
@click.option("--json", "as_json", is_flag=True, help="Print the events as a JSON list.")
def list_events(
    config: str | None,
    plugins: tuple[str, ...],
    endpoint: str | None,
    old_endpoint: str | None,
    contains: str | None,
    status: str | None,
    event_type: str | None,
    since: str | None,
    limit: int,
    before: str | None,
    as_json: bool,
) -> None:
    """List recorded deliveries (and route calls), newest first, a page at a time."""
    flt = EventFilter(
        endpoint=endpoint or old_endpoint,
        endpoint_contains=contains,
        status=EventStatus(status) if status else None,
        type=event_type,
        since=_since(since),
        limit=limit,
        before_id=before,
    )
    app = build(config, plugins, inspect_only=True)

    async def go(ops: Operations) -> tuple[list[Event], int, dict[str, Pause]]:
        return await ops.list_events(flt), await ops.count_events(flt), await ops.paused()

    found, total, paused = run(with_store(app, go))
    if as_json:
        emit_json([app.ops.summary(e, paused) for e in found])
        return
    columns = ("id", "received", "endpoint", "type", "status", "attempt", "delivery id")
    print_table(
        "events",
        columns,
        (
            (
                e.id,
                _when(e.received_at),
                e.endpoint,
                "(route call)" if e.kind == "route" else e.type or "",
                e.status.value + (" (held: paused)" if is_held(e, paused) else ""),
                str(e.attempt),
                e.delivery_id or "",
            )
            for e in found
        ),
    )
    shown_total = f"{total:,}+" if total >= COUNT_CAP else f"{total:,}"
    click.echo(f"showing {len(found):,} of {shown_total}" if found else "no events match")
    if found and total > len(found) and len(found) == limit:
        click.echo(f"next page: --before {found[-1].id}")
    for name in sorted({e.endpoint for e in found} & paused.keys()):
        click.echo(f"{name} is paused ({pause_note(paused[name])}): hookport resume {name}")


def _since(since: str | None) -> float | None:
    import time

    try:
        return time.time() - parse_duration(since) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


def pause_note(pause: Pause) -> str:
    """``since ... until ...`` (or ``until resumed``), ``by ...``: one pause in a line."""
    until = _when(pause.expires_at) if pause.expires_at is not None else "resumed"
    by = f", by {pause.paused_by}" if pause.paused_by else ""
    return f"since {_when(pause.paused_at)} UTC until {until}{by}"


@events.command("show")
@common_options
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True, help="Print the event as a JSON object.")
def show_event(config: str | None, plugins: tuple[str, ...], event_id: str, as_json: bool) -> None:
    """Show one delivery: headers, body, status, attempts with errors, response.

    EVENT_ID: the id, or its first 8 or more characters (as the dashboard shows them).
    """
    app = build(config, plugins, inspect_only=True)

    async def go(ops: Operations) -> tuple[Event | None, dict[str, Pause]]:
        return await ops.get_event(await resolve_event_id(ops, event_id)), await ops.paused()

    event, paused = run(with_store(app, go))
    if event is None:
        raise click.ClickException(f"no event {event_id}")
    shown = app.ops.detail(event, paused)  # credentials redacted, as every surface shows them
    if as_json:
        emit_json(shown)
        return
    _render(shown)
    if is_held(event, paused):
        click.echo(f"held: {event.endpoint} is paused ({pause_note(paused[event.endpoint])})")


def _render(event: dict[str, Any]) -> None:
    """Print an event's detail (as :meth:`Operations.detail` shows it). Every stored value is
    printed as text: ``[red]`` in a header or a type is not rich markup."""
    console = plain_console()
    e: dict[str, Any] = {k: escape(v) if isinstance(v, str) else v for k, v in event.items()}
    query = f"?{e['query_string']}" if e["query_string"] else ""
    console.print(
        f"[bold]event {e['id']}[/bold]  status [bold]{e['status']}[/bold]  attempts {e['attempt']}"
    )
    kind = "(route call)" if e.get("kind") == "route" else e["type"] or ""
    console.print(
        f"endpoint {e['endpoint']}  plugin {e['plugin']}  type {kind}  "
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
        pretty = json.dumps(json.loads(event["body"]), indent=2)
    except ValueError:
        console.print(event["body"], markup=False, highlight=False)
    else:
        if interactive():
            console.print(Syntax(pretty, "json"))
        else:  # as is: Syntax would pad every line to the console's width
            click.echo(pretty)
    attempts = event["attempts"]
    if attempts:
        print_table(
            "attempts",
            ("attempt", "handler", "result", "started", "seconds", "error"),
            (
                (
                    str(a["attempt"]),
                    a["handler"],
                    "ok" if a["ok"] else "failed",
                    _when(a["started_at"]),
                    f"{a['finished_at'] - a['started_at']:.3f}",
                    a["error"] or "",
                )
                for a in attempts
            ),
        )
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
    help="Replay the events with this status (with the filters below).",
)
@click.option("--endpoint", default=None, help="Only events of this endpoint (its exact name).")
@click.option("--type", "event_type", default=None, help="Only events of this type.")
@click.option("--since", default=None, help="Only newer than this duration ago, e.g. 1h, 3d.")
@click.option("--dry-run", is_flag=True, help="Say what would be replayed; change nothing.")
@click.option("--yes", is_flag=True, help=f"Do not ask before replaying more than {CONFIRM_OVER}.")
@click.option("--json", "as_json", is_flag=True, help="Print the ids replayed as JSON.")
def replay(
    config: str | None,
    plugins: tuple[str, ...],
    event_ids: tuple[str, ...],
    status: str | None,
    endpoint: str | None,
    event_type: str | None,
    since: str | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Make events due again (by id or id prefix, or by filter); a running worker runs them."""
    by_filter = bool(status or endpoint or event_type or since)
    if bool(event_ids) == by_filter:
        raise click.UsageError("give event ids, or filters (--status, --endpoint, --type, --since)")
    flt = EventFilter(
        status=EventStatus(status) if status else None,
        endpoint=endpoint,
        type=event_type,
        since=_since(since),
        limit=MAX_LIST,
    )
    app = build(config, plugins, inspect_only=True)

    async def chosen(ops: Operations) -> list[str]:
        if event_ids:
            return [await resolve_event_id(ops, given) for given in event_ids]
        return await ops.matching_ids(flt)

    async def go(ops: Operations) -> tuple[list[str], list[str]]:
        ids = await chosen(ops)
        if dry_run or not ids:
            return ids, []
        if len(ids) > CONFIRM_OVER and not yes:
            if not interactive():
                raise click.ClickException(
                    f"{len(ids):,} events match; add --yes to replay them (or --dry-run)"
                )
            click.confirm(f"replay {len(ids):,} events?", abort=True)
        done: list[str] = []
        for start in range(0, len(ids), 200):
            done.extend(await ops.replay(ids[start : start + 200]))
        return ids, done

    ids, done = run(with_store(app, go))
    if as_json:
        emit_json({"matched": ids, "replayed": done, "dry_run": dry_run})
        return
    if dry_run:
        click.echo(f"would replay {len(ids):,} event(s)")
        for event_id in ids[:20]:
            click.echo(f"  {event_id}")
        if len(ids) > 20:
            click.echo(f"  ... and {len(ids) - 20:,} more")
        return
    click.echo(f"replayed {len(done):,} event(s)")
    missing = sorted(set(ids) - set(done))
    if missing:
        raise click.ClickException(f"no such event(s) to replay: {', '.join(missing)}")


@events.command("rejected")
@common_options
@click.option("--endpoint", default=None, help="Only rejections of this endpoint (its name).")
@click.option(
    "--no-endpoint", is_flag=True, help="Only requests to paths no endpoint serves (404, 405)."
)
@click.option(
    "--status", type=click.IntRange(100, 599), default=None, help="Only this HTTP status (401)."
)
@click.option("--since", default=None, help="Only newer than this duration ago, e.g. 1h, 3d.")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIST),
    default=50,
    show_default=True,
    help="Rejections to list, newest first.",
)
@click.option(
    "--before", type=click.IntRange(1), default=None, metavar="ID", help="The next page: older."
)
@click.option("--json", "as_json", is_flag=True, help="Print the rejections as a JSON list.")
def rejected(
    config: str | None,
    plugins: tuple[str, ...],
    endpoint: str | None,
    no_endpoint: bool,
    status: int | None,
    since: str | None,
    limit: int,
    before: int | None,
    as_json: bool,
) -> None:
    """List rejected deliveries (4xx answers, hook rule mismatches): why didn't it fire?

    Metadata only: time, method, path, endpoint, status, reason, source address and the header
    names; never a body or a header's value.
    """
    if endpoint and no_endpoint:
        raise click.UsageError("--endpoint and --no-endpoint exclude each other")
    flt = RejectionFilter(
        since=_since(since),
        endpoint=endpoint,
        no_endpoint=no_endpoint,
        status=status,
        limit=limit,
        before_id=before,
    )
    app = build(config, plugins, inspect_only=True)

    async def go(ops: Operations) -> tuple[list[dict[str, Any]], int]:
        return await ops.rejections(flt), await ops.count_rejections(flt)

    found, total = run(with_store(app, go))
    if as_json:
        emit_json(found)
        return
    print_table(  # request-controlled text: cells are never markup
        "rejected deliveries",
        ("id", "at", "status", "method", "path", "endpoint", "reason", "from", "headers"),
        (
            (
                str(r["id"]),
                _when(r["at"]),
                str(r["status"]),
                r["method"],
                r["path"],
                r["endpoint"] or "(no endpoint)",
                r["reason"],
                r["source_ip"] or "",
                ", ".join(r["header_names"]),
            )
            for r in found
        ),
    )
    shown_total = f"{total:,}+" if total >= COUNT_CAP else f"{total:,}"
    click.echo(f"showing {len(found):,} of {shown_total}" if found else "no rejected deliveries")
    if found and len(found) == limit and total > len(found):
        click.echo(f"next page: --before {found[-1]['id']}")

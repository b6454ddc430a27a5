"""``hookport routes``: every endpoint, as the route table will match it."""

from __future__ import annotations

from typing import Any

import click
from rich.text import Text

from hookport.app import HookportApp
from hookport.cli._common import build, common_options, emit_json, print_table, run, store_missing
from hookport.errors import StoreError
from hookport.operations import format_time

COLUMNS = ("methods", "path", "kind", "verification", "plugin", "name", "state", "description")


@click.command()
@common_options
@click.option(
    "--urls",
    is_flag=True,
    help=(
        "Print the URL of every endpoint from [server] base_url or [server.urls]: parameters as "
        "{name}, one line per access token, regular expressions as their pattern."
    ),
)
@click.option("--json", "as_json", is_flag=True, help="Print the endpoints as a JSON list.")
def routes(config: str | None, plugins: tuple[str, ...], urls: bool, as_json: bool) -> None:
    """List every endpoint: methods, path, kind, verification, plugin, name, state, description.

    Needs none of the plugins' secrets (except --urls, which prints the access tokens senders
    need) and never creates a store: without one, states are 'unknown'.
    """
    # --urls is how the operator gets the URLs to hand to senders: access tokens shown; every
    # other output redacts them, as the admin API does.
    reveal = urls and not as_json
    app = build(config, plugins, inspect_only=not reveal)
    if reveal:  # URLs only: no state, so no store to read
        for row in app.ops.routes(reveal=True):
            for url in row["urls"]:
                click.echo(url)
        return
    rows = run(_states(app, warn=not as_json))
    if as_json:
        emit_json(rows)
        return
    print_table("hookport endpoints", COLUMNS, (_cells(row) for row in rows))


def _cells(row: dict[str, Any]) -> list[str | Text]:
    verification = row["verification"]
    description = row["description"]
    if row["handlers"]:
        handled = "; ".join(f"{','.join(h['events'])} → {h['handler']}" for h in row["handlers"])
        description = f"{description}\n{handled}" if description else handled
    return [
        ",".join(row["methods"]),
        row["path"],
        row["kind"],
        Text(verification, style="yellow") if verification == "unverified" else verification,
        row["plugin"],
        row["name"],
        _state(row),
        description,
    ]


async def _states(app: HookportApp, *, warn: bool) -> list[dict[str, Any]]:
    """Rows with their pause state; without a store to read it from, ``state`` is unknown.

    A missing SQLite file stays missing: listing endpoints must not create a store. ``warn``:
    say so on standard error (JSON output says it by the state alone)."""
    missing = store_missing(app)
    if missing is not None:
        if warn:
            click.echo(f"note: no store at {missing}: pause states unknown", err=True)
        return _unknown(app)
    try:
        async with app.ops.opened() as ops:
            return await ops.route_states()
    except StoreError as exc:
        if warn:
            click.echo(f"warning: pause states unknown, the store cannot be read: {exc}", err=True)
        return _unknown(app)


def _unknown(app: HookportApp) -> list[dict[str, Any]]:
    return [{**row, "state": "unknown"} for row in app.ops.routes()]


def _state(row: dict[str, Any]) -> str | Text:
    if row["state"] != "paused":
        return str(row["state"])
    until = row["paused_until"]
    return Text("paused" + (f" until {format_time(until)}" if until else ""), style="red")

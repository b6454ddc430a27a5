"""``hookport routes``: every endpoint, as the route table will match it."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from hookport.app import HookportApp
from hookport.cli._common import build, common_options, run
from hookport.errors import StoreError
from hookport.operations import format_time


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
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
def routes(config: str | None, plugins: tuple[str, ...], urls: bool, as_json: bool) -> None:
    """List every endpoint: methods, path, kind, verification, plugin, name, description."""
    # --urls is how the operator gets the URLs to hand to senders: access tokens shown; every
    # other output redacts them, as the admin API does.
    app = build(config, plugins)
    rows = run(_states(app, reveal=urls and not as_json))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if urls:
        for row in rows:
            for url in row["urls"]:
                click.echo(url)
        return
    table = Table(title="hookport endpoints", show_lines=False)
    columns = ("methods", "path", "kind", "verification", "plugin", "name", "state", "description")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        verification = row["verification"]
        if verification == "unverified":
            verification = "[yellow]unverified[/yellow]"
        description = row["description"]
        if row["handlers"]:
            handled = "; ".join(
                f"{','.join(h['events'])} → {h['handler']}" for h in row["handlers"]
            )
            description = f"{description}\n{handled}" if description else handled
        table.add_row(
            ",".join(row["methods"]),
            row["path"],
            row["kind"],
            verification,
            row["plugin"],
            row["name"],
            _state(row),
            description,
        )
    Console(width=160).print(table)


async def _states(app: HookportApp, *, reveal: bool = False) -> list[dict[str, Any]]:
    """Rows with their pause state; without a store to read it from, ``state`` is unknown."""
    try:
        async with app.ops.opened() as ops:
            return await ops.route_states(reveal=reveal)
    except StoreError as exc:
        click.echo(f"warning: pause states unknown, the store cannot be read: {exc}", err=True)
        return [{**row, "state": "unknown"} for row in app.ops.routes(reveal=reveal)]


def _state(row: dict[str, Any]) -> str:
    if row["state"] != "paused":
        return str(row["state"])
    until = row["paused_until"]
    return "[red]paused[/red]" + (f" until {format_time(until)}" if until else "")

"""``hookport routes``: every endpoint, as the route table will match it."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from hookport.cli._common import build, common_options


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
    rows = build(config, plugins).ops.routes()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if urls:
        for row in rows:
            for url in row["urls"]:
                click.echo(url)
        return
    table = Table(title="hookport endpoints", show_lines=False)
    for column in ("methods", "path", "kind", "verification", "plugin", "name", "description"):
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
            description,
        )
    Console(width=160).print(table)

"""``hookport routes``: every endpoint, as the route table will match it."""

from __future__ import annotations

import time

import click
from rich.console import Console
from rich.table import Table

from hookport.cli._common import build, common_options


@click.command()
@common_options
@click.option(
    "--urls",
    is_flag=True,
    help="Print full URLs from [server] base_url (with access tokens where needed).",
)
def routes(config: str | None, plugins: tuple[str, ...], urls: bool) -> None:
    """List every endpoint: methods, path, kind, verification, plugin, name, description."""
    app = build(config, plugins)
    endpoints = app.assembly.endpoints
    if urls:
        base = (
            app.settings.server.base_url
            or f"http://{app.settings.server.host}:{app.settings.server.port}"
        ).rstrip("/")
        for ep in endpoints:
            url = base + ep.path
            if ep.verifier is not None:
                query = ep.verifier.sign(b"", url=url, now=time.time()).query
                if query:
                    url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
            click.echo(url)
        return
    table = Table(title="hookport endpoints", show_lines=False)
    for column in ("methods", "path", "kind", "verification", "plugin", "name", "description"):
        table.add_column(column, overflow="fold")
    for ep in endpoints:
        verification = ep.scheme if ep.verifier else "[yellow]unverified[/yellow]"
        description = ep.description
        if ep.handlers:
            handled = "; ".join(f"{','.join(t)} → {n}" for t, n in ep.handlers)
            description = f"{description}\n{handled}" if description else handled
        table.add_row(
            ",".join(ep.methods),
            ep.path,
            ep.kind,
            verification,
            ep.plugin.name,
            ep.name,
            description,
        )
    Console(width=160).print(table)

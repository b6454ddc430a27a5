"""``hookport pause NAME [--for 30m]`` and ``hookport resume NAME``.

A paused receiver goes on verifying, storing and acknowledging; its events wait until it is
resumed, then run oldest first. A paused route answers 503 with ``Retry-After``. The pause is
in the store: it holds across restarts and for every process sharing that store.
"""

from __future__ import annotations

import getpass
import json

import click

from hookport.cli._common import build, common_options, run
from hookport.config import parse_duration
from hookport.operations import format_time, pause_fields


@click.command()
@common_options
@click.argument("name")
@click.option("--for", "duration", default=None, help="Resume by itself after this, e.g. 30m.")
@click.option("--json", "as_json", is_flag=True)
def pause(
    config: str | None, plugins: tuple[str, ...], name: str, duration: str | None, as_json: bool
) -> None:
    """Pause the endpoint NAME: receivers store and hold their events, routes answer 503."""
    try:
        seconds = parse_duration(duration) if duration is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--for") from None
    app = build(config, plugins)

    async def go() -> None:
        async with app.ops.opened() as ops:
            done = await ops.pause(name, duration=seconds, by=f"cli:{_user()}")
        if as_json:
            click.echo(json.dumps({"endpoint": name, **pause_fields(done)}))
            return
        until = f"until {format_time(done.expires_at)} UTC" if done.expires_at else "until resumed"
        click.echo(f"paused {name} {until}")

    try:
        run(go())
    except ValueError as exc:  # a duration that is not positive
        raise click.BadParameter(str(exc), param_hint="--for") from None


@click.command()
@common_options
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def resume(config: str | None, plugins: tuple[str, ...], name: str, as_json: bool) -> None:
    """Resume the endpoint NAME: its held events run, oldest first."""
    app = build(config, plugins)

    async def go() -> bool:
        async with app.ops.opened() as ops:
            return await ops.resume(name)

    lifted = run(go())
    if as_json:
        click.echo(json.dumps({"endpoint": name, "state": "active", "was_paused": lifted}))
    else:
        click.echo(f"resumed {name}" if lifted else f"{name} was not paused")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown"

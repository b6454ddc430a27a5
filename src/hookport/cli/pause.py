"""``hookport pause NAME [--for 30m]`` and ``hookport resume NAME``.

A paused receiver goes on verifying, storing and acknowledging; its events wait until it is
resumed, then run oldest first. A paused route answers 503 with ``Retry-After``. The pause is
in the store: it holds across restarts and for every process sharing that store.

Both need none of the plugins' secrets and never create a store (no store: nothing to hold).
"""

from __future__ import annotations

import getpass

import click

from hookport.cli._common import build, common_options, emit_json, run, with_store
from hookport.config import parse_duration
from hookport.operations import format_time, pause_fields


@click.command()
@common_options
@click.argument("name")
@click.option("--for", "duration", default=None, help="Resume by itself after this, e.g. 30m.")
@click.option("--json", "as_json", is_flag=True, help="Print the endpoint's state as JSON.")
def pause(
    config: str | None, plugins: tuple[str, ...], name: str, duration: str | None, as_json: bool
) -> None:
    """Pause the endpoint NAME: receivers store and hold their events, routes answer 503."""
    try:
        seconds = parse_duration(duration) if duration is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--for") from None
    app = build(config, plugins, inspect_only=True)
    try:
        done = run(
            with_store(app, lambda ops: ops.pause(name, duration=seconds, by=f"cli:{_user()}"))
        )
    except ValueError as exc:  # a duration that is not positive
        raise click.BadParameter(str(exc), param_hint="--for") from None
    if as_json:
        emit_json({"endpoint": name, **pause_fields(done)})
        return
    until = f"until {format_time(done.expires_at)} UTC" if done.expires_at else "until resumed"
    click.echo(f"paused {name} {until}")


@click.command()
@common_options
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the endpoint's state as JSON.")
def resume(config: str | None, plugins: tuple[str, ...], name: str, as_json: bool) -> None:
    """Resume the endpoint NAME: its held events run, oldest first."""
    app = build(config, plugins, inspect_only=True)
    lifted = run(with_store(app, lambda ops: ops.resume(name)))
    if as_json:
        emit_json({"endpoint": name, "state": "active", "was_paused": lifted})
    else:
        click.echo(f"resumed {name}" if lifted else f"{name} was not paused")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown"

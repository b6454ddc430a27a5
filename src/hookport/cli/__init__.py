"""The ``hookport`` command line: thin commands over the same runtime ``serve`` uses."""

from __future__ import annotations

import sys

import click

from hookport.cli.cert import cert
from hookport.cli.events import events
from hookport.cli.hooks import hooks
from hookport.cli.pause import pause, resume
from hookport.cli.project import check, init
from hookport.cli.routes import routes
from hookport.cli.send import send, sign
from hookport.cli.serve import serve, worker
from hookport.errors import HookportError


class _Group(click.Group):
    """Turns hookport's own errors into one clear line and exit status 1 (no traceback)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except HookportError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hookport")
def cli() -> None:
    """hookport: receive webhooks, verified, durably recorded and dispatched at least once."""


for command in (
    serve, worker, routes, send, sign, events, init, check, hooks, cert, pause, resume
):  # fmt: skip
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="hookport")
    sys.exit(0)

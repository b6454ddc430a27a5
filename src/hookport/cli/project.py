"""``hookport init`` (scaffold a config and a plugin) and ``hookport check`` (validate them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import click

from hookport.assembly import Endpoint, RouteEndpoint
from hookport.cli._common import build, common_options, run
from hookport.http import ANSWERABLE, unanswerable_return
from hookport.notify import PLACEHOLDER
from hookport.sends import channel_sends
from hookport.templating import TemplateResponse

CONFIG_TEMPLATE = """\
# hookport configuration. Every key can also be set as HOOKPORT_<SECTION>__<KEY>.
[server]
host = "127.0.0.1"
port = 8080
max_body_size = "25MB"
# base_url = "https://hooks.example.com"

[store]
url = "sqlite:///./hookport.db"

[worker]
concurrency = 16
max_attempts = 8

[plugins]
load = ["plugins/hello.py"]

[channels]
# Where ctx.send("dev", ...) goes: any Apprise URL (slack://, discord://, mailto://, ...).
# This one posts JSON back to the plugin's own /hello route, so nothing outside is needed.
dev = "json://127.0.0.1:8080/hello/dev"
"""

PLUGIN_TEMPLATE = """\
# plugins/hello.py
from hookport import Plugin, verify

plugin = Plugin("hello", description="My first plugin")


@plugin.route("/hello/{name}", methods=["GET", "POST"])
def hello(name: str) -> str:
    return f"hello {name}"                      # str -> 200 text/plain; dict -> JSON


github = plugin.receiver("/github", verify=verify.github(secret_env="GITHUB_SECRET"))


@github.on("push")
def on_push(event, ctx) -> None:                # runs in a worker, at least once
    ctx.log.info("%s pushed to %s", event.json["pusher"]["name"],
                 event.json["repository"]["full_name"])


@github.on("issues.opened")
async def on_issue(event, ctx) -> None:
    await ctx.send("dev", event.json["issue"]["title"])   # the "dev" channel of hookport.toml
"""


@click.command()
@click.option("--directory", type=click.Path(file_okay=False), default=".", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def init(directory: str, force: bool) -> None:
    """Write a starter hookport.toml and plugins/hello.py."""
    root = Path(directory)
    files = {
        root / "hookport.toml": CONFIG_TEMPLATE,
        root / "plugins" / "hello.py": PLUGIN_TEMPLATE,
    }
    existing = [str(p) for p in files if p.exists()]
    if existing and not force:
        raise click.ClickException(f"{', '.join(existing)} already exist(s); use --force")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        click.echo(f"wrote {path}")
    click.echo("next: GITHUB_SECRET=change-me hookport serve")


@click.command()
@common_options
def check(config: str | None, plugins: tuple[str, ...]) -> None:
    """Validate the config, the plugins, their secrets and the store's migrations."""
    app = build(config, plugins)
    endpoints = app.assembly.endpoints
    problems = channel_send_problems(endpoints, app.settings.channels)
    if problems:
        for line in problems:
            click.echo(f"error: {line}", err=True)
        raise click.ClickException(
            f"{len(problems)} send(s) that the notification channels of [channels] cannot deliver"
        )
    click.echo(f"config ok; {len(app.assembly.plugins)} plugin(s), {len(endpoints)} endpoint(s)")
    unverified = [ep for ep in endpoints if ep.verifier is None]
    for ep in unverified:
        click.echo(f"warning: {ep.kind} {ep.path} ({ep.name}) is unverified")
    for name in sorted(set(app.settings.server.urls) - {ep.name for ep in endpoints}):
        click.echo(f"warning: [server.urls] sets a URL for {name!r}, which is no endpoint")
    for ep in endpoints:
        if not isinstance(ep, RouteEndpoint):
            continue
        problem = unanswerable_return(ep.call.func, also=(TemplateResponse,))
        if problem:
            click.echo(
                f"warning: route {ep.path} ({ep.name}): handler {ep.handler} is annotated to "
                f"return {problem}, which a route cannot answer; return {ANSWERABLE}"
            )

    async def store_ok() -> None:
        async with app.ops.opened() as ops:
            ok, reason = await ops.ready()
        if not ok:
            raise click.ClickException(f"store not ready: {reason}")

    run(store_ok())
    click.echo(f"store ok: {app.settings.store.url}")


def channel_send_problems(endpoints: list[Endpoint], channels: Mapping[str, str]) -> list[str]:
    """One line per ``ctx.send`` known from the source that its channel cannot deliver.

    ``channels``: ``[channels]`` (name to URL). A send is a problem when its channel is not
    defined, when it passes ``to=`` to a channel whose URL has no ``{to}``, or when it passes
    none to a channel whose URL has one. Only what :func:`hookport.sends.channel_sends` can
    know: literal channel names (and ``ctx.settings.NAME`` strings) in the handlers' own
    bodies; other sends are not checked.
    """
    problems: list[str] = []
    have = ", ".join(sorted(channels)) or "none"
    for ep in endpoints:
        funcs = (
            [ep.call.func] if isinstance(ep, RouteEndpoint) else [h.plan.func for h in ep.handlers]
        )
        for func in funcs:
            for send in channel_sends(func, ep.settings):
                if send.channel is None:
                    continue
                url = channels.get(send.channel)
                if url is None:
                    why = f"which [channels] does not define (defined: {have})"
                elif send.targeted and PLACEHOLDER not in url:
                    why = f"with to=, but its URL has no {PLACEHOLDER} to put the target in"
                elif not send.targeted and PLACEHOLDER in url:
                    why = f"without to=, but its URL takes a target ({PLACEHOLDER})"
                else:
                    continue
                where = f"{_shown(send.file)}:{send.line}"
                problems.append(
                    f"{where}: {ep.kind} {ep.path} ({ep.name}): handler {func.__name__} "
                    f"sends to channel {send.channel!r}, {why}"
                )
    return problems


def _shown(file: str) -> str:
    """``file`` relative to the working directory when it is below it."""
    relative = os.path.relpath(file)
    return file if relative.startswith("..") else relative

"""``hookport init`` (scaffold a config and a plugin) and ``hookport check`` (validate them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from hookport.app import HookportApp
from hookport.assembly import Endpoint, RouteEndpoint
from hookport.cli._common import build, common_options, emit_json, run, store_missing
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


NEXT = "GITHUB_SECRET=change-me hookport serve"


@click.command()
@click.option(
    "--directory",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Where to write the files.",
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option("--json", "as_json", is_flag=True, help="Print the files written as JSON.")
def init(directory: str, force: bool, as_json: bool) -> None:
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
    if as_json:
        emit_json({"written": [str(p) for p in files], "next": NEXT})
        return
    for path in files:
        click.echo(f"wrote {path}")
    click.echo(f"next: {NEXT}")


@click.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON object.")
def check(config: str | None, plugins: tuple[str, ...], as_json: bool) -> None:
    """Validate the config, the plugins, their secrets and the store's migrations.

    Never creates a store: a SQLite file that does not exist yet is checked for a directory it
    can be created in (serve creates it).
    """
    app = build(config, plugins)
    endpoints = app.assembly.endpoints
    errors = channel_send_problems(endpoints, app.settings.channels)
    warnings = [] if errors else check_warnings(app)
    store = None if errors else run(store_state(app))
    if as_json:
        emit_json(
            {
                "ok": not errors and store is not None and store["ok"],
                "plugins": len(app.assembly.plugins),
                "endpoints": len(endpoints),
                "errors": errors,
                "warnings": warnings,
                "store": store,
            }
        )
        if errors or (store is not None and not store["ok"]):
            raise SystemExit(1)
        return
    if errors:
        for line in errors:
            click.echo(f"error: {line}", err=True)
        raise click.ClickException(
            f"{len(errors)} send(s) that the notification channels of [channels] cannot deliver"
        )
    click.echo(f"config ok; {len(app.assembly.plugins)} plugin(s), {len(endpoints)} endpoint(s)")
    for line in warnings:
        click.echo(f"warning: {line}")
    assert store is not None
    if not store["ok"]:
        raise click.ClickException(f"store not ready: {store['reason']}")
    note = "" if store["exists"] else " (not created yet: hookport serve creates it)"
    click.echo(f"store ok: {store['url']}{note}")


def check_warnings(app: HookportApp) -> list[str]:
    """What ``check`` warns about: unverified endpoints, URLs for no endpoint, route handlers
    annotated to return what a route cannot answer."""
    endpoints = app.assembly.endpoints
    out = [
        f"{ep.kind} {ep.path} ({ep.name}) is unverified" for ep in endpoints if ep.verifier is None
    ]
    for name in sorted(set(app.settings.server.urls) - {ep.name for ep in endpoints}):
        out.append(f"[server.urls] sets a URL for {name!r}, which is no endpoint")
    for ep in endpoints:
        if not isinstance(ep, RouteEndpoint):
            continue
        problem = unanswerable_return(ep.call.func, also=(TemplateResponse,))
        if problem:
            out.append(
                f"route {ep.path} ({ep.name}): handler {ep.handler} is annotated to "
                f"return {problem}, which a route cannot answer; return {ANSWERABLE}"
            )
    return out


async def store_state(app: HookportApp) -> dict[str, Any]:
    """Whether the store answers (and is migrated); a SQLite file that does not exist is not
    created, only its directory checked."""
    url = app.settings.store.url
    missing = store_missing(app)
    if missing is not None:
        where = missing.parent
        ok = where.is_dir() and os.access(where, os.W_OK | os.X_OK)
        reason = "ok" if ok else f"cannot create {missing}: {where} is not a writable directory"
        return {"url": url, "exists": False, "ok": ok, "reason": reason}
    async with app.ops.opened() as ops:
        ok, reason = await ops.ready()
    return {"url": url, "exists": True, "ok": ok, "reason": reason}


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

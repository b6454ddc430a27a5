"""``hookport send`` (a test delivery that passes the endpoint's verifier) and ``hookport sign``."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import click
import httpx

from hookport.app import HookportApp
from hookport.cli._common import build, common_options, read_data, run
from hookport.errors import HookportError
from hookport.forms import guess_content_type
from hookport.routing import Match
from hookport.verify import SCHEMES, for_scheme


def _parse_headers(values: tuple[str, ...]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw in values:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"{raw!r} is not 'Name: value'", param_hint="-H")
        headers[name.strip()] = value.strip()
    return headers


@click.command()
@common_options
@click.argument("path")
@click.option("--data", "-d", default=None, help="Body: @file, @- for stdin, or literal text.")
@click.option("-H", "--header", "headers", multiple=True, help="Extra header 'Name: value'.")
@click.option("--method", "-X", default=None, help="HTTP method (default: POST).")
@click.option("--event", "event_type", default=None, help="Event type to send (e.g. push).")
@click.option("--url", "base_url", default=None, help="Send to a running server at this URL.")
@click.option("--local", is_flag=True, help="Run the endpoint in-process, without HTTP.")
@click.option("--timeout", type=float, default=30.0, show_default=True)
def send(
    config: str | None,
    plugins: tuple[str, ...],
    path: str,
    data: str | None,
    headers: tuple[str, ...],
    method: str | None,
    event_type: str | None,
    base_url: str | None,
    local: bool,
    timeout: float,
) -> None:
    """Deliver a test webhook to PATH, signed so that the endpoint's verifier accepts it."""
    if local == (base_url is not None):
        raise click.UsageError("give exactly one of --local or --url BASE_URL")
    body = read_data(data)
    app = build(config, plugins, workers=local)
    method = (method or "POST").upper()
    path_only, _, query = path.partition("?")
    found = app.assembly.table.match(method, path_only)
    if found.kind is not Match.FULL or found.target is None:
        allowed = f" (allowed: {', '.join(found.allow)})" if found.allow else ""
        raise click.ClickException(f"no endpoint for {method} {path_only}{allowed}")
    ep = found.target
    extra = _parse_headers(headers)
    if body and not any(k.lower() == "content-type" for k in extra):
        extra["Content-Type"] = guess_content_type(body)
    base = (base_url or app.settings.server.base_url or "http://127.0.0.1").rstrip("/")
    url = base + path
    if ep.verifier is not None:
        signed = ep.verifier.sign(
            body, url=url, now=time.time(), event_type=event_type, headers=extra
        )
        extra.update(signed.headers)
        if signed.query:
            query = "&".join(q for q in (query, urlencode(signed.query)) if q)
    elif event_type:
        extra["X-Hookport-Event"] = event_type
    target = path_only + (f"?{query}" if query else "")
    if local:
        run(
            _send_local(
                app,
                method,
                target,
                extra,
                body,
                drain_timeout=timeout,
                receiver=ep.kind == "receiver",
            )
        )
    else:
        _send_http(base + target, method, extra, body, timeout)


def _print_response(response: httpx.Response) -> None:
    click.echo(f"HTTP {response.status_code} {response.reason_phrase}")
    text = response.text
    click.echo(text if text.endswith("\n") or not text else text + "\n", nl=False)


def _send_http(url: str, method: str, headers: dict[str, str], body: bytes, timeout: float) -> None:
    try:
        response = httpx.request(method, url, headers=headers, content=body, timeout=timeout)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach {url}: {exc}") from None
    _print_response(response)
    if response.status_code >= 400:
        raise SystemExit(1)


async def _send_local(
    app: HookportApp,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes,
    drain_timeout: float,
    receiver: bool,
) -> None:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    await app.startup(start_workers=False)
    failed = False
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            response = await client.request(method, target, headers=headers, content=body)
        _print_response(response)
        failed = response.status_code >= 400
        if receiver and response.status_code == 202 and app.worker is not None:
            event_id = response.json()["id"]
            await app.worker.drain(drain_timeout)
            event = await app.ops.get_event(event_id)
            if event is not None:
                click.echo(f"event {event.id} {event.status.value} (attempt {event.attempt})")
                for attempt in event.attempts:
                    mark = "ok" if attempt.ok else f"failed: {attempt.error}"
                    click.echo(f"  {attempt.handler}: {mark}")
                failed = event.status.value not in ("done",)
    finally:
        await app.shutdown()
    if failed:
        raise SystemExit(1)


@click.command()
@click.option(
    "--scheme",
    required=True,
    type=click.Choice(list(SCHEMES)),
    help="Signature scheme of the sender to imitate.",
)
@click.option("--secret", "secrets", multiple=True, help="Secret (repeat to sign for rotation).")
@click.option(
    "--secret-env", "secret_envs", multiple=True, help="Environment variable holding the secret."
)
@click.option("--data", "-d", default=None, help="Body: @file, @- for stdin, or literal text.")
@click.option(
    "--url",
    default="http://127.0.0.1:8080/",
    show_default=True,
    help="The URL the request goes to (signed by Twilio's scheme).",
)
@click.option("--event", "event_type", default=None, help="Event type header to include.")
@click.option("--json", "as_json", is_flag=True, help="Print the headers as a JSON object.")
def sign(
    scheme: str,
    secrets: tuple[str, ...],
    secret_envs: tuple[str, ...],
    data: str | None,
    url: str,
    event_type: str | None,
    as_json: bool,
) -> None:
    """Print the headers a sender would send with this body, one 'Name: value' a line."""
    import os

    values = list(secrets)
    for name in secret_envs:
        value = os.environ.get(name)
        if not value:
            raise click.ClickException(f"environment variable {name} is not set")
        values.append(value)
    if not values:
        raise click.UsageError("give --secret or --secret-env")
    body = read_data(data)
    try:
        verifier = for_scheme(scheme, values)
        signed = verifier.sign(body, url=url, now=time.time(), event_type=event_type)
    except HookportError as exc:
        raise click.ClickException(str(exc)) from None
    out: dict[str, Any] = dict(signed.headers)
    if as_json:
        if signed.query:
            out = {"headers": out, "query": signed.query}
        click.echo(json.dumps(out, indent=2))
        return
    for name, value in out.items():
        click.echo(f"{name}: {value}")
    if signed.query:
        click.echo(f"# query: ?{urlencode(signed.query)}", err=True)

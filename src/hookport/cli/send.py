"""``hookport send`` (a test delivery that passes the endpoint's verifier) and ``hookport sign``."""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import click
import httpx

from hookport.app import HookportApp
from hookport.cli._common import build, common_options, emit_json, read_data, run
from hookport.errors import HookportError, NotFoundError
from hookport.trial import find_endpoint, sign_request
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
@click.option(
    "--event", "event_type", default=None, help="Event type to send (default: from the body)."
)
@click.option("--url", "base_url", default=None, help="Send to a running server at this URL.")
@click.option("--local", is_flag=True, help="Run the endpoint in-process, without HTTP.")
@click.option(
    "--keep",
    is_flag=True,
    help="With --local: record into the configured store ([store] url), not a throwaway one.",
)
@click.option(
    "--store",
    "store_url",
    default=None,
    metavar="URL",
    help="With --local: record into this store (sqlite:///file.db, postgresql://...).",
)
@click.option(
    "--timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds to wait: for the answer, and (--local) for the handlers to finish.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as a JSON object.")
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
    keep: bool,
    store_url: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Deliver a test webhook to PATH, signed so that the endpoint's verifier accepts it.

    --local records into a throwaway store (deleted afterwards) unless --keep or --store URL
    says where: a test delivery never lands in the real store by accident.
    """
    if local == (base_url is not None):
        raise click.UsageError("give exactly one of --local or --url BASE_URL")
    if (keep or store_url) and not local:
        raise click.UsageError("--keep and --store go with --local")
    if keep and store_url:
        raise click.UsageError("give --keep or --store URL, not both")
    body = read_data(data)
    with contextlib.ExitStack() as stack:
        overrides: dict[str, Any] = {}
        throwaway = local and not keep and store_url is None
        if throwaway:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="hookport-send-"))
            store_url = f"sqlite:///{scratch}/send.db"
        if store_url is not None:
            overrides["store"] = {"url": store_url}
        app = build(config, plugins, workers=local, **overrides)
        prepared = _prepare(app, path, body, headers, method, event_type, base_url)
        if local:
            outcome = run(_send_local(app, prepared, drain_timeout=timeout))
            outcome["store"] = None if throwaway else app.settings.store.url
        else:
            outcome = _send_http(prepared, timeout)
    _report(outcome, as_json)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A signed request to one endpoint."""

    method: str
    target: str  # path and query
    url: str  # the full URL (for --url)
    headers: dict[str, str]
    body: bytes
    receiver: bool


def _prepare(
    app: HookportApp,
    path: str,
    body: bytes,
    headers: tuple[str, ...],
    method: str | None,
    event_type: str | None,
    base_url: str | None,
) -> _Prepared:
    method = (method or "POST").upper()
    try:
        ep = find_endpoint(app.assembly, method, path)
    except NotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    base = (base_url or app.settings.server.base_url or "http://127.0.0.1").rstrip("/")
    signed = sign_request(
        ep,
        body,
        target=path,
        method=method,
        event_type=event_type,
        headers=_parse_headers(headers),
        base_url=base,
    )
    return _Prepared(
        method, signed.target, base + signed.target, signed.headers, body, ep.kind == "receiver"
    )


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        parsed: Any = response.json()
    except ValueError:
        parsed = None
    return {
        "status": response.status_code,
        "reason": response.reason_phrase,
        "headers": dict(response.headers),
        "body": response.text,
        "json": parsed,
        "ok": response.status_code < 400,
    }


def _report(outcome: dict[str, Any], as_json: bool) -> None:
    """Print the answer (and, --local, the event's outcome); exit 1 when it failed."""
    if as_json:
        emit_json(outcome)
    else:
        click.echo(f"HTTP {outcome['status']} {outcome['reason']}")
        text = outcome["body"]
        click.echo(text if text.endswith("\n") or not text else text + "\n", nl=False)
        event = outcome.get("event")
        if event is not None:
            click.echo(f"event {event['id']} {event['status']} (attempt {event['attempt']})")
            for attempt in event["attempts"]:
                mark = "ok" if attempt["ok"] else f"failed: {attempt['error']}"
                click.echo(f"  {attempt['handler']}: {mark}")
        if "store" in outcome and outcome["store"] is None:
            click.echo("(recorded in a throwaway store, now deleted; --keep records it)", err=True)
    if not outcome["ok"]:
        raise SystemExit(1)


def _send_http(prepared: _Prepared, timeout: float) -> dict[str, Any]:
    try:
        response = httpx.request(
            prepared.method,
            prepared.url,
            headers=prepared.headers,
            content=prepared.body,
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach {prepared.url}: {exc}") from None
    return _answer(response)


async def _send_local(
    app: HookportApp, prepared: _Prepared, drain_timeout: float
) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    await app.startup(start_workers=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            response = await client.request(
                prepared.method, prepared.target, headers=prepared.headers, content=prepared.body
            )
        outcome = _answer(response)
        outcome["event"] = None
        if prepared.receiver and response.status_code == 202 and app.worker is not None:
            event_id = response.json()["id"]
            await app.worker.drain(drain_timeout)
            event = await app.ops.get_event(event_id)
            if event is not None:
                outcome["event"] = {
                    "id": event.id,
                    "status": event.status.value,
                    "attempt": event.attempt,
                    "attempts": [
                        {"handler": a.handler, "ok": a.ok, "error": a.error} for a in event.attempts
                    ],
                }
                outcome["ok"] = event.status.value == "done"
    finally:
        await app.shutdown()
    return outcome


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
@click.option(
    "--event",
    "event_type",
    default=None,
    help="Event type header to include (default: GitHub's and Gitea's from the body's shape).",
)
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
        emit_json(out)
        return
    for name, value in out.items():
        click.echo(f"{name}: {value}")
    if signed.query:
        click.echo(f"# query: ?{urlencode(signed.query)}", err=True)

"""A plugin that tries its best to leak its secrets into the log (tests/e2e/test_logs.py).

Its handlers log the secrets in messages and fields, and raise exceptions that carry them.
"""

from __future__ import annotations

import os

from hookport import Event, Plugin, Request, verify
from hookport.context import Context

plugin = Plugin("leaky")
hooks = plugin.receiver("/leaky", verify=verify.github(secret_env="LEAKY_SECRET"), max_attempts=1)


def _secrets() -> list[str]:
    return [os.environ[name] for name in ("LEAKY_SECRET", "LEAKY_TOKEN", "HOOKPORT_ADMIN_TOKEN")]


@hooks.on("*")
def handle(event: Event, ctx: Context) -> None:
    ctx.log.info(
        "handling with %s",
        _secrets(),
        extra={"leak_header": event.header("x-leak"), "leak_body": event.text},
    )
    raise RuntimeError(f"cannot use {os.environ['LEAKY_SECRET']}")


@plugin.route("/leaky-route", methods=["POST"], verify=verify.token(tokens_env="LEAKY_TOKEN"))
def route(request: Request, ctx: Context) -> str:
    ctx.log.warning("route got %s", request.text, extra={"leak_query": request.query.get("leak")})
    raise RuntimeError(f"route failed: {request.text} {_secrets()}")

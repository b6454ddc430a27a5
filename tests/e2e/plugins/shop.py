"""The plugin the dashboard's browser tests serve: two receivers a shop might have.

``shop:/stripe`` fails its deliveries (``{"fail": true}``) while the file named by
``SHOP_FAIL_FLAG`` exists, once (dead at once), so a test can replay them after removing it;
``shop:/flaky`` fails them the same way but retries (retrying, with a next attempt time).
``shop:/signed`` takes only GitHub-signed deliveries (secret ``SHOP_SIGNED_SECRET``), and the
route ``shop:ping`` answers ``GET /ping`` (a route call, recorded with no event type).
"""

from __future__ import annotations

import os
from pathlib import Path

from hookport import Event, Plugin, verify

plugin = Plugin("shop")
FLAG = Path(os.environ.get("SHOP_FAIL_FLAG", "fail.flag"))

stripe = plugin.receiver("/stripe", event_type="X-Event-Type", max_attempts=1)
github = plugin.receiver("/github", event_type="X-Event-Type")
flaky = plugin.receiver("/flaky", event_type="X-Event-Type", max_attempts=5)
signed = plugin.receiver("/signed", verify=verify.github(secret_env="SHOP_SIGNED_SECRET"))


@plugin.route("/ping", methods=["GET"])
def ping() -> str:
    return "pong"


def _maybe_fail(event: Event) -> None:
    body = event.json
    if isinstance(body, dict) and body.get("fail") and FLAG.exists():
        raise RuntimeError("card declined")


@stripe
def on_stripe(event: Event) -> None:
    _maybe_fail(event)


@github
def on_github(event: Event) -> None:
    _maybe_fail(event)


@flaky
def on_flaky(event: Event) -> None:
    _maybe_fail(event)


@signed
def on_signed(event: Event) -> None:
    _maybe_fail(event)

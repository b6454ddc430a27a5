"""Receivers for tests/e2e/test_alerts.py: ``/orders`` fails orders marked ``"fail": true``.

Its failures quote the secret, a header value and the payload, so a test can check that alert
messages carry none of them.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from hookport import Event, Plugin, verify

plugin = Plugin("alarming")
orders = plugin.receiver(
    "/orders", verify=verify.token(secret_env="ALARM_TOKEN"), max_attempts=2, event_type="X-Kind"
)


@orders.on("*")
def handle(event: Event) -> None:
    if event.json.get("fail"):
        raise RuntimeError(
            f"refused {event.text} with {event.header('x-private')} {os.environ['ALARM_TOKEN']}"
        )


# A receiver whose one slot is held while the file $ALARM_HOLD exists: the events behind it
# wait, due, so the test controls the backlog.
gated = plugin.receiver("/gated", concurrency=1, max_attempts=1, timeout=None)
HOLD_LIMIT = 60.0


@gated.on("*")
async def wait_while_held(event: Event) -> None:
    deadline = time.monotonic() + HOLD_LIMIT
    while Path(os.environ["ALARM_HOLD"]).exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)

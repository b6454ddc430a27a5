"""A receiver whose handler fails on orders marked ``"fail": true`` (tests/e2e/test_alerts.py).

Its failures quote the secret, a header value and the payload, so a test can check that alert
messages carry none of them.
"""

from __future__ import annotations

import os

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

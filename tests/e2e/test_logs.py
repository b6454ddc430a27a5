"""Logs of a real ``hookport serve``: fields rendered, and no secret in any line.

The server gets a GitHub secret, a token and an admin token; deliveries carry them in headers,
the query and the body, one with a bad signature, and the plugin's handlers log them and raise
exceptions holding them. Every expected line must be there, and no secret in any of them.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookport import verify

PLUGIN = str(Path(__file__).parent / "plugins" / "leaky.py")
SECRET = "gh-Secret-7f1c9a+e2e"  # "+" also shows that the URL-encoded form is masked
TOKEN = "route-token-3b8d55"
ADMIN = "admin-token-c0ffee42"
ALL = (SECRET, TOKEN, ADMIN)
ANNOUNCEMENTS = ("hookport listening on ",)


def _start(serve: Any, tmp_path: Path, log_format: str) -> Any:
    (tmp_path / "hookport.toml").write_text(f'[store]\nurl = "sqlite:///{tmp_path}/leaky.db"\n')
    return serve(
        "--config",
        str(tmp_path / "hookport.toml"),
        "--plugin",
        PLUGIN,
        "--log-format",
        log_format,
        env={"LEAKY_SECRET": SECRET, "LEAKY_TOKEN": TOKEN, "HOOKPORT_ADMIN_TOKEN": ADMIN},
    )


def _send_leaks(url: str) -> str:
    """Every kind of delivery; returns the id of the accepted one."""
    body = json.dumps({"leak": SECRET, "token": TOKEN, "admin": ADMIN}).encode()
    leak = {"X-Leak": SECRET, "X-Admin": ADMIN, "Content-Type": "application/json"}
    with httpx.Client(base_url=url) as c:
        forged = verify.github(secret="not-the-secret").sign(body, url=url, now=time.time())
        r = c.post(
            "/leaky", params={"leak": SECRET}, content=body, headers={**leak, **forged.headers}
        )
        assert r.status_code == 401, r.text

        signed = verify.github(secret=SECRET).sign(
            body, url=url, now=time.time(), event_type="push"
        )
        r = c.post(
            "/leaky", params={"leak": SECRET}, content=body, headers={**leak, **signed.headers}
        )
        assert r.status_code == 202, r.text
        event_id: str = r.json()["id"]

        r = c.post(
            "/leaky-route",
            params={"access_token": TOKEN, "leak": SECRET},
            content=body,
            headers=leak,
        )
        assert r.status_code == 500, r.text

        r = c.get("/_hookport/api/stats", headers={"Authorization": f"Bearer {ADMIN}"})
        assert r.status_code == 200, r.text
    return event_id


def _records(output: list[str], log_format: str) -> list[dict[str, Any]]:
    """The log records as {"message", "logger", fields..., "exception"} (text lines parsed
    loosely: the whole line and its traceback in "line")."""
    lines = [line for line in output if not line.startswith(ANNOUNCEMENTS)]
    if log_format == "json":
        return [json.loads(line) for line in lines]  # every line is one JSON object
    records: list[dict[str, Any]] = []
    for line in lines:
        parts = line.rstrip("\n").split(" ", 3)
        if len(parts) == 4 and parts[0][:4].isdigit() and parts[0].endswith("Z"):
            records.append({"level": parts[1], "logger": parts[2], "line": parts[3]})
        else:  # a traceback line belongs to the record before it
            assert records, f"not a log line: {line!r}"
            records[-1]["line"] += "\n" + line.rstrip("\n")
    return records


def _find(records: list[dict[str, Any]], logger: str, text: str) -> dict[str, Any]:
    for record in records:
        if record["logger"] == logger and text in json.dumps(record):
            return record
    raise AssertionError(f"no {logger} record with {text!r} in {records}")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_secrets_are_in_no_log_line_and_the_expected_lines_are(
    serve: Any, tmp_path: Path, log_format: str
) -> None:
    server = _start(serve, tmp_path, log_format)
    event_id = _send_leaks(server.url)
    server.wait_for_line("unhandled error")
    server.wait_for_line(f"event {event_id} dead")
    assert server.stop(signal.SIGTERM) == 0
    server.close()  # joins the reader: every line the process wrote is in server.output

    output = "".join(server.output)
    for secret in ALL:
        assert secret not in output
    assert "gh-Secret-7f1c9a%2Be2e" not in output
    records = _records(server.output, log_format)

    rejected = _find(records, "hookport.ingest", "rejected")
    handled = _find(records, "hookport.plugin.leaky", "handling with")
    failed = _find(records, "hookport.dispatch", "RuntimeError: cannot use ***")
    route_log = _find(records, "hookport.plugin.leaky", "route got")
    crash = _find(records, "hookport.ingest", "unhandled error")
    if log_format == "json":
        assert rejected["endpoint"] == "leaky:/leaky" and rejected["status"] == 401
        assert rejected["level"] == "WARNING" and rejected["reason"] == "signature does not match"
        assert handled["message"] == "handling with ['***', '***', '***']"
        assert handled["plugin"] == "leaky" and handled["handler"] == "handle"
        assert handled["event_id"] == event_id
        assert handled["leak_header"] == "***" and SECRET not in handled["leak_body"]
        assert failed["event_id"] == event_id
        assert route_log["leak_query"] == "***" and route_log["endpoint"] == "leaky:route"
        assert crash["endpoint"] == "leaky:route" and crash["path"] == "/leaky-route"
        assert "RuntimeError: route failed:" in crash["exception"]
        assert "***" in crash["exception"]
        uvicorn = [r for r in records if r["logger"].startswith("uvicorn")]
        assert uvicorn, "uvicorn's records go through the same formatter"
    else:
        assert "endpoint=leaky:/leaky status=401 reason=" in rejected["line"]
        assert handled["line"].startswith("handling with ['***', '***', '***'] plugin=leaky ")
        assert f"event_id={event_id}" in handled["line"] and "leak_header=***" in handled["line"]
        assert f"event_id={event_id}" in failed["line"]
        assert "leak_query=***" in route_log["line"]
        assert "endpoint=leaky:route path=/leaky-route" in crash["line"]
        assert "Traceback (most recent call last)" in crash["line"]
        assert "RuntimeError: route failed:" in crash["line"]


TRACED = str(Path(__file__).parent / "plugins" / "traced.py")
DELIVERY_FIELDS = ("endpoint", "event_id", "delivery_id", "attempt")


def _start_traced(serve: Any, tmp_path: Path) -> Any:
    config = tmp_path / "traced.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/traced.db"\n'
        '[worker]\npoll_interval = "100ms"\nlease = "1s"\n'
        'backoff = { initial = "100ms", max = "100ms" }\n'
    )
    return serve(
        "--config", str(config), "--plugin", TRACED, "--log-format", "json",
        env={"TRACED_RELEASE": str(tmp_path / "release")},
    )  # fmt: skip


def _deliver(server: Any, path: str, delivery_id: str) -> str:
    answer = httpx.post(server.url + path, json={}, headers={"Idempotency-Key": delivery_id})
    assert answer.status_code == 202, answer.text
    event_id: str = answer.json()["id"]
    return event_id


def _delivery_records(server: Any, deliveries: dict[str, str]) -> list[dict[str, Any]]:
    """Every record of ``server`` that names one of ``deliveries`` (event id -> delivery id),
    each checked to carry all the delivery fields, and that they are this delivery's."""
    server.close()  # joins the reader: every line the process wrote is in server.output
    found = []
    for record in _records(server.output, "json"):
        named = [e for e in deliveries if e in json.dumps(record)]
        if not named:
            continue
        missing = [name for name in DELIVERY_FIELDS if record.get(name) is None]
        assert missing == [], f"{missing} missing from {record}"
        assert record["event_id"] in named, record
        assert record["delivery_id"] == deliveries[record["event_id"]], record
        assert isinstance(record["attempt"], int) and record["attempt"] >= 1, record
        found.append(record)
    return found


def _one(records: list[dict[str, Any]], logger: str, text: str) -> dict[str, Any]:
    [record] = [r for r in records if r["logger"] == logger and text in r["message"]]
    return record


def test_every_line_about_a_delivery_carries_endpoint_event_delivery_and_attempt(
    serve: Any, tmp_path: Path
) -> None:
    server = _start_traced(serve, tmp_path)
    flaky = _deliver(server, "/flaky", "delivery-flaky-1")
    stuck = _deliver(server, "/stuck", "delivery-stuck-1")
    server.wait_for_line(f"event {flaky} done")
    server.wait_for_line("still running past its 3s timeout")
    (tmp_path / "release").touch()
    server.wait_for_line(f"event {stuck} done")
    server.wait_for_line("returned after")
    assert server.stop(signal.SIGTERM) == 0
    records = _delivery_records(server, {flaky: "delivery-flaky-1", stuck: "delivery-stuck-1"})

    plugin_log = "hookport.plugin.traced"
    second = _one(records, plugin_log, "flaky handler on attempt 2")  # ctx.log after a retry
    assert second["attempt"] == 2 and second["handler"] == "on_flaky"
    assert second["endpoint"] == "traced:/flaky" and second["event_id"] == flaky
    assert _one(records, plugin_log, "flaky handler on attempt 1")["attempt"] == 1
    failed = _one(records, "hookport.dispatch", "handler on_flaky failed")
    assert failed["attempt"] == 1 and failed["handler"] == "on_flaky"
    retrying = _one(records, "hookport.worker", f"event {flaky} retrying")
    assert retrying["attempt"] == 1
    assert _one(records, "hookport.worker", f"event {flaky} done")["attempt"] == 2

    slow = _one(records, "hookport.worker", "handler on_stuck has been running")  # the watchdog
    over = _one(records, "hookport.threads", "still running past its 3s timeout")
    back = _one(records, "hookport.threads", "returned after")
    for record in (slow, over, back):
        assert record["event_id"] == stuck and record["attempt"] == 1, record
        assert record["handler"] == "on_stuck" and record["endpoint"] == "traced:/stuck"


def test_a_claim_after_an_expired_lease_is_logged_with_the_delivery_fields(
    serve: Any, tmp_path: Path
) -> None:
    first = _start_traced(serve, tmp_path)
    held = _deliver(first, "/hold", "delivery-hold-1")
    first.wait_for_line("holding the event")
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL  # died holding the lease
    (tmp_path / "release").touch()

    second = _start_traced(serve, tmp_path)
    second.wait_for_line(f"event {held} claimed again")
    second.wait_for_line(f"event {held} done")
    assert second.stop(signal.SIGTERM) == 0
    records = _delivery_records(second, {held: "delivery-hold-1"})
    claim = _one(records, "hookport.worker", "claimed again: the lease of its last worker")
    assert claim["level"] == "WARNING" and claim["endpoint"] == "traced:/hold"
    done = _one(records, "hookport.worker", f"event {held} done")
    holding = _one(records, "hookport.plugin.traced", "holding the event")
    assert claim["attempt"] == done["attempt"] == holding["attempt"]

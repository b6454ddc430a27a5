"""[alerts] end to end: a real ``hookport serve`` sends each rule's messages to a local
``json://`` service (Apprise, posting to a loopback capture server). For every rule kind
(dead, failures, backlog, verification): it fires at once, further occurrences within the
window are held and the next message counts them, and a recovery follows when the condition
clears, one window after the last message. No message carries the token, a header value or
the payload. Waits poll the capture server or the server's log with a deadline."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.capture_server import Capture
from tests.e2e.conftest import start
from tests.notify_sink import notify_sink

PLUGIN = str(Path(__file__).parent / "plugins" / "alarming.py")
TOKEN = "tok-3f9a1c-very-secret"
PAYLOAD_MARK = "payload-mark-77b2"
HEADER_MARK = "header-mark-51e0"
SECRETS = (TOKEN, PAYLOAD_MARK, HEADER_MARK, "refused", "wrong-token")
HELD = "\n1 more since the last message (throttled)"


def config(tmp_path: Path, port: int, rules: str, window: str = "1s") -> Path:
    path = tmp_path / "hookport.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/e2e.db"\n'
        '[worker]\npoll_interval = "100ms"\nbackoff = { initial = "100ms", max = "100ms" }\n'
        f'[channels]\nops = "json://127.0.0.1:{port}/alerts"\n'
        f'[alerts]\nwindow = "{window}"\ninterval = "100ms"\n' + rules
    )
    return path


DEAD = '[[alerts.rules]]\nkind = "dead"\nchannel = "ops"\n'
VERIFICATION = (
    '[[alerts.rules]]\nname = "bad-signatures"\nkind = "verification"\nchannel = "ops"\n'
    'count = 3\nper = "1m"\n'
)


def post(server: Any, body: dict[str, Any], token: str = TOKEN, path: str = "/orders") -> str:
    answer = httpx.post(
        server.url + path,
        json={**body, "note": PAYLOAD_MARK},
        headers={"X-Hook-Token": token, "X-Private": HEADER_MARK, "X-Kind": "order.paid"},
    )
    if token != TOKEN:
        assert answer.status_code == 401, answer.text
        return ""
    assert answer.status_code == 202, answer.text
    event_id: str = answer.json()["id"]
    return event_id


def serve_alarming(serve: Any, tmp_path: Path, capture: Capture, rules: str, window: str) -> Any:
    port = int(capture.url.rsplit(":", 1)[1])
    toml = config(tmp_path, port, rules, window)
    env = {"ALARM_TOKEN": TOKEN, "ALARM_HOLD": str(tmp_path / "hold")}
    return serve("--config", str(toml), "--plugin", PLUGIN, env=env)


def messages(capture: Capture, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The first ``count`` messages posted (title, message, and ``at``: monotonic arrival)."""
    got = capture.wait_for("/alerts", count, timeout)
    return [{**json.loads(r.body), "at": r.at} for r in got[:count]]


def wait_lines(server: Any, text: str, count: int, timeout: float = 20.0) -> None:
    """Wait until the server has logged ``count`` lines containing ``text``."""
    deadline = time.monotonic() + timeout
    while sum(text in line for line in list(server.output)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} lines with {text!r}"
        time.sleep(0.02)


def assert_throttled(first: dict[str, Any], later: dict[str, Any], window: float) -> None:
    """``later`` went out no sooner than one window after ``first`` (a little slack for the
    capture server's clock being read after the post arrived)."""
    assert later["at"] - first["at"] >= window - 0.2, (first, later)


def assert_clean(capture: Capture) -> None:
    for received in capture.at("/alerts"):
        text = received.body.decode()
        for mark in SECRETS:
            assert mark not in text, (mark, text)


def test_a_dead_event_alerts_throttles_then_recovers_without_secrets_or_payload(
    serve: Any, tmp_path: Path, capture: Capture
) -> None:
    server = serve_alarming(serve, tmp_path, capture, DEAD, window="3s")
    event_id = post(server, {"fail": True})
    [alert] = messages(capture, 1)
    assert alert["title"] == "hookport alert: dead"
    assert alert["message"] == (
        f"event {event_id} of endpoint alarming:/orders (type order.paid) went dead "
        "after 2 attempt(s)"
    )
    more = [post(server, {"fail": True}) for _ in range(2)]
    for other in more:
        server.wait_for_line(f"event {other} dead")
    assert len(capture.at("/alerts")) == 1  # both held by the window
    _, held = messages(capture, 2)
    assert held["title"] == "hookport alert: dead"
    assert held["message"].endswith(" went dead after 2 attempt(s)" + HELD)
    assert any(f"event {other} of endpoint alarming:/orders" in held["message"] for other in more)
    assert_throttled(alert, held, 3.0)

    good = post(server, {"fail": False})
    server.wait_for_line("alert dead cleared for alarming:/orders")
    _, _, recovery = messages(capture, 3)
    assert recovery["title"] == "hookport recovered: dead"
    assert recovery["message"] == (
        f"events of endpoint alarming:/orders are handled again (event {good} done)"
    )
    assert_throttled(held, recovery, 3.0)
    assert_clean(capture)
    server.wait_for_line("alert dead recovery sent through channel 'ops'")
    metrics = httpx.get(server.url + "/_hookport/metrics").text
    assert 'hookport_alerts_sent_total{outcome="ok",rule="dead"} 3.0' in metrics


def test_consecutive_handler_failures_alert_throttle_and_recover(
    serve: Any, tmp_path: Path, capture: Capture
) -> None:
    rules = '[[alerts.rules]]\nkind = "failures"\nchannel = "ops"\ncount = 2\n'
    server = serve_alarming(serve, tmp_path, capture, rules, window="3s")
    failing = [post(server, {"fail": True}) for _ in range(2)]  # 2 attempts each: 4 failures
    [alert] = messages(capture, 1)
    assert alert["title"] == "hookport alert: failures"
    assert alert["message"].startswith(
        "handler handle of endpoint alarming:/orders failed 2 times in a row (latest: event "
    )
    for event_id in failing:
        server.wait_for_line(f"event {event_id} dead")
    assert len(capture.at("/alerts")) == 1
    _, held = messages(capture, 2)
    assert held["message"].startswith(
        "handler handle of endpoint alarming:/orders failed 4 times in a row (latest: event "
    )
    assert held["message"].endswith(", type order.paid, attempt 2)" + HELD)
    assert_throttled(alert, held, 3.0)

    good = post(server, {"fail": False})
    _, _, recovery = messages(capture, 3)
    assert recovery["title"] == "hookport recovered: failures"
    assert recovery["message"] == (
        f"handler handle of endpoint alarming:/orders succeeded again (event {good})"
    )
    assert_throttled(held, recovery, 3.0)
    assert_clean(capture)


def test_a_backlog_over_its_age_alerts_throttles_and_recovers(
    serve: Any, tmp_path: Path, capture: Capture
) -> None:
    rules = (
        '[[alerts.rules]]\nkind = "backlog"\nchannel = "ops"\nmax_age = "300ms"\n'
        'endpoints = ["alarming:/gated"]\n'
    )
    server = serve_alarming(serve, tmp_path, capture, rules, window="5s")
    hold = tmp_path / "hold"
    firing, cleared = "alert backlog firing for alarming:/gated", "alert backlog cleared"
    for cycle in (1, 2, 3):  # the backlog builds up and drains, three times in one window
        hold.touch()
        for _ in range(2):  # one event holds the only slot, the other waits behind it
            post(server, {}, path="/gated")
        wait_lines(server, firing, cycle)
        if cycle == 1:
            [alert] = messages(capture, 1)
        if cycle < 3:
            hold.unlink()
            wait_lines(server, cleared, cycle)
    assert alert["title"] == "hookport alert: backlog"
    assert alert["message"].startswith(
        "the oldest due event of endpoint alarming:/gated has waited "
    )
    assert alert["message"].endswith(" (more than 0s)")
    assert len(capture.at("/alerts")) == 1  # the two later builds-up are held
    _, held = messages(capture, 2)
    assert held["title"] == "hookport alert: backlog"
    assert held["message"].endswith(" (more than 0s)" + HELD)
    assert_throttled(alert, held, 5.0)

    hold.unlink()  # the backlog drains and stays drained
    _, _, recovery = messages(capture, 3)
    assert recovery["title"] == "hookport recovered: backlog"
    assert recovery["message"].startswith(
        "the backlog of endpoint alarming:/gated is under 0s again (oldest due: "
    )
    assert_throttled(held, recovery, 5.0)
    assert_clean(capture)


def test_verification_failures_over_the_rate_alert_throttle_and_recover(
    serve: Any, tmp_path: Path, capture: Capture
) -> None:
    rules = (
        '[[alerts.rules]]\nname = "bad-signatures"\nkind = "verification"\nchannel = "ops"\n'
        'count = 2\nper = "1s"\n'
    )
    server = serve_alarming(serve, tmp_path, capture, rules, window="6s")
    firing = "alert bad-signatures firing for alarming:/orders"
    cleared = "alert bad-signatures cleared for alarming:/orders"
    for cycle in (1, 2, 3):  # a burst, then quiet for more than `per`: three times
        for _ in range(2):
            post(server, {}, token="wrong-token")
        wait_lines(server, firing, cycle)
        if cycle == 1:
            [alert] = messages(capture, 1)
        if cycle < 3:
            wait_lines(server, cleared, cycle)
    assert alert["title"] == "hookport alert: bad-signatures"
    assert alert["message"] == (
        "2 verification failures of endpoint alarming:/orders in the last 1s (limit 2)"
    )
    deadline = time.monotonic() + 30
    while len(capture.at("/alerts")) < 2:  # keep the rate up until the window lets one out
        assert time.monotonic() < deadline, "no second message"
        post(server, {}, token="wrong-token")
        time.sleep(0.05)  # the rate of the traffic, not a wait for the server
    _, held = messages(capture, 2)
    # Each start of the condition after the first message is held and counted (the rate may
    # have dipped under the limit and come back while the test kept it up: each is counted).
    sent = "alert bad-signatures sent through channel 'ops'"
    wait_lines(server, sent, 2)
    output = "".join(server.output)
    before = output[: output.index(sent, output.index(sent) + 1)]
    starts = before.count(firing)
    assert starts >= 3
    head, count = held["message"].rsplit("\n", 1)
    assert head.endswith(
        " verification failures of endpoint alarming:/orders in the last 1s (limit 2)"
    )
    assert count == f"{starts - 2} more since the last message (throttled)"
    assert_throttled(alert, held, 6.0)

    _, _, recovery = messages(capture, 3)  # quiet now: it clears, then recovers
    assert recovery["title"] == "hookport recovered: bad-signatures"
    assert recovery["message"].startswith(
        "verification failures of endpoint alarming:/orders are under 2 per 1s again ("
    )
    assert_throttled(held, recovery, 6.0)
    assert_clean(capture)


def test_hookport_worker_sends_the_alerts_of_the_events_it_runs(serve: Any, tmp_path: Path) -> None:
    with notify_sink() as sink:
        toml = str(config(tmp_path, sink.port, DEAD + VERIFICATION))
        env = {"ALARM_TOKEN": TOKEN}
        server = serve("--config", toml, "--plugin", PLUGIN, "--no-workers", env=env)
        worker = start(
            ["worker", "--config", toml, "--plugin", PLUGIN],
            cwd=tmp_path, env=env, announce="hookport worker running",
        )  # fmt: skip
        try:
            event_id = post(server, {"fail": True})
            [(_, alert)] = sink.wait_for(1, timeout=20)
            assert alert["title"] == "hookport alert: dead"
            assert f"event {event_id} of endpoint alarming:/orders" in alert["message"]
            worker.wait_for_line("alert dead sent through channel 'ops'")
        finally:
            worker.close()

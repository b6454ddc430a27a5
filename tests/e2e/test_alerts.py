"""[alerts] end to end: a real ``hookport serve`` whose handler fails sends a dead alert to a
local ``json://`` service (Apprise), then a recovery once an event of the endpoint is done
again, and neither message carries the token, a header value or the payload. Also a
verification-failure rule fed by the server's own counters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import start
from tests.notify_sink import notify_sink

PLUGIN = str(Path(__file__).parent / "plugins" / "alarming.py")
TOKEN = "tok-3f9a1c-very-secret"
PAYLOAD_MARK = "payload-mark-77b2"
HEADER_MARK = "header-mark-51e0"


def config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "hookport.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/e2e.db"\n'
        '[worker]\npoll_interval = "100ms"\nbackoff = { initial = "100ms", max = "100ms" }\n'
        f'[channels]\nops = "json://127.0.0.1:{port}/alerts"\n'
        '[alerts]\nwindow = "1s"\ninterval = "100ms"\n'
        '[[alerts.rules]]\nkind = "dead"\nchannel = "ops"\n'
        '[[alerts.rules]]\nname = "bad-signatures"\nkind = "verification"\nchannel = "ops"\n'
        'count = 3\nper = "1m"\n'
    )
    return path


def post(server: Any, body: dict[str, Any], token: str = TOKEN) -> httpx.Response:
    return httpx.post(
        server.url + "/orders",
        json={**body, "note": PAYLOAD_MARK},
        headers={"X-Hook-Token": token, "X-Private": HEADER_MARK, "X-Kind": "order.paid"},
    )


def test_a_dead_event_alerts_then_recovers_without_secrets_or_payload(
    serve: Any, tmp_path: Path
) -> None:
    with notify_sink() as sink:
        server = serve(
            "--config", str(config(tmp_path, sink.port)), "--plugin", PLUGIN,
            env={"ALARM_TOKEN": TOKEN},
        )  # fmt: skip
        failing = post(server, {"fail": True})
        assert failing.status_code == 202, failing.text
        event_id = failing.json()["id"]
        [(path, alert)] = sink.wait_for(1, timeout=20)
        assert path == "/alerts"
        assert alert["title"] == "hookport alert: dead"
        assert alert["message"] == (
            f"event {event_id} of endpoint alarming:/orders (type order.paid) went dead "
            "after 2 attempt(s)"
        )
        good = post(server, {"fail": False})
        assert good.status_code == 202, good.text
        _, recovery = sink.wait_for(2, timeout=20)[1]
        assert recovery["title"] == "hookport recovered: dead"
        assert recovery["message"] == (
            "events of endpoint alarming:/orders are handled again "
            f"(event {good.json()['id']} done)"
        )
        for _, doc in sink.received:
            text = str(doc)
            for mark in (TOKEN, PAYLOAD_MARK, HEADER_MARK, "refused"):
                assert mark not in text
        server.wait_for_line("alert dead recovery sent through channel 'ops'")
        metrics = httpx.get(server.url + "/_hookport/metrics").text
        assert 'hookport_alerts_sent_total{outcome="ok",rule="dead"} 2.0' in metrics


def test_verification_failures_over_the_rate_alert(serve: Any, tmp_path: Path) -> None:
    with notify_sink() as sink:
        server = serve(
            "--config", str(config(tmp_path, sink.port)), "--plugin", PLUGIN,
            env={"ALARM_TOKEN": TOKEN},
        )  # fmt: skip
        for _ in range(3):
            assert post(server, {}, token="wrong-token").status_code == 401
        [(_, alert)] = sink.wait_for(1, timeout=20)
        assert alert["title"] == "hookport alert: bad-signatures"
        assert alert["message"] == (
            "3 verification failures of endpoint alarming:/orders in the last 1m (limit 3)"
        )
        assert "wrong-token" not in str(alert)


def test_hookport_worker_sends_the_alerts_of_the_events_it_runs(serve: Any, tmp_path: Path) -> None:
    with notify_sink() as sink:
        toml = str(config(tmp_path, sink.port))
        env = {"ALARM_TOKEN": TOKEN}
        server = serve("--config", toml, "--plugin", PLUGIN, "--no-workers", env=env)
        worker = start(
            ["worker", "--config", toml, "--plugin", PLUGIN],
            cwd=tmp_path, env=env, announce="hookport worker running",
        )  # fmt: skip
        try:
            event_id = post(server, {"fail": True}).json()["id"]
            [(_, alert)] = sink.wait_for(1, timeout=20)
            assert alert["title"] == "hookport alert: dead"
            assert f"event {event_id} of endpoint alarming:/orders" in alert["message"]
            worker.wait_for_line("alert dead sent through channel 'ops'")
        finally:
            worker.close()

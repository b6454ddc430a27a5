"""deploy/: the Grafana dashboard and the Prometheus alert rules use only metrics hookport
exports, and promtool accepts the rules (required in CI: HOOKPORT_REQUIRE_PROMTOOL=1)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hookport.metrics import EndpointCount, Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "hookport.json"
pytestmark = pytest.mark.anyio
_NAME = re.compile(r"\bhookport_[a-z_]+")


async def _exported() -> set[str]:
    """Every sample name of a fully wired Metrics' exposition (store and live gauges too)."""
    metrics = Metrics()

    async def counts(now: float) -> list[EndpointCount]:
        return [EndpointCount("shop:/hook", "queued", 1, now - 5)]

    metrics.watch_store(counts, ["queued", "done"])
    metrics.watch_handlers(running=lambda: 0, slow=lambda: 0, stuck_threads=lambda: 0)
    metrics.watch_pauses(["shop:/hook"], list)
    metrics.count_request("shop:/hook", "POST", 202)
    metrics.verification_failed("shop:/hook", 401, "signature does not match")
    metrics.answered_unavailable("shop:/hook")
    metrics.rejection_dropped()
    metrics.committed("append", 1, 0.001)
    metrics.store_failed("append", True)
    metrics.handler_ran("shop:/hook", "on_push", "ok", 0.01)
    for status in ("retrying", "dead", "unhandled"):
        metrics.event_finished("shop:/hook", status)
    metrics.lease_expired("shop:/hook")
    metrics.lease_lost("shop:/hook")
    metrics.notification_sent("dev", True)
    text = (await metrics.exposition()).decode()
    names = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    # Labelled series not reported above are declared all the same (their TYPE line).
    names.update(re.findall(r"^# TYPE (hookport_\w+) ", text, re.MULTILINE))
    return names


def _used(text: str) -> set[str]:
    return set(_NAME.findall(text))


async def test_dashboard_and_rules_use_only_exported_metrics() -> None:
    exported = await _exported()
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = _used("\n".join(exprs)) | _used(RULES.read_text())
    assert len(used) >= 15  # the files cover the metric families, not a token few
    missing = sorted(
        n for n in used if n not in exported and n.removesuffix("_total") not in exported
    )
    assert missing == [], f"not exported by hookport: {missing}"


def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("HOOKPORT_REQUIRE_PROMTOOL") == "1":
            pytest.fail(
                "promtool required (HOOKPORT_REQUIRE_PROMTOOL=1): apt-get install prometheus"
            )
        pytest.skip("promtool not installed (Debian: apt-get install prometheus)")
    done = subprocess.run(
        [promtool, "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 6 rules found" in done.stdout

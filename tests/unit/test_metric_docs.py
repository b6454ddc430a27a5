"""docs/operations.md lists every metric family hookport exports."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily

from hookport.metrics import EndpointCount, Metrics

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _families() -> set[str]:
    metrics = Metrics()

    async def counts(now: float) -> list[EndpointCount]:
        return []

    metrics.watch_store(counts, ["queued"])
    metrics.watch_handlers(running=lambda: 0, slow=lambda: 0, stuck_threads=lambda: 0)
    metrics.watch_pauses(["e"], list)
    names = set()
    for collector in list(metrics.registry._collector_to_names):
        for family in collector.collect():
            total = family.type == "counter" and not isinstance(family, GaugeMetricFamily)
            names.add(family.name + ("_total" if total else ""))
    return names


def test_every_exported_metric_is_documented() -> None:
    families = _families()
    assert len(families) >= 24
    text = DOCS.read_text()
    documented = set(re.findall(r"`(hookport_[a-z_]+)`", text))
    assert sorted(families - documented) == []

"""``/_hookport/metrics`` after real requests through the in-process app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hookport import Plugin, verify
from hookport.testing import HookportClient


def _sample(exposition: str, name: str, labels: str) -> float:
    match = re.search(rf"^{name}\{{{labels}\}} (\S+)$", exposition, re.MULTILINE)
    assert match, f"no {name}{{{labels}}} in:\n{exposition}"
    return float(match.group(1))


@pytest.mark.anyio
async def test_ingest_seconds_observes_each_answered_request_by_kind(tmp_path: Path) -> None:
    plugin = Plugin("timed")
    plugin.receiver("/in", verify=verify.token("tok-value-1"))

    @plugin.route("/hi")
    def hi() -> str:
        return "hi"

    async with HookportClient.create([plugin], tmp_path) as client:
        before = (await client.http.get("/_hookport/metrics")).text
        assert _sample(before, "hookport_ingest_seconds_count", 'kind="receiver"') == 0
        assert _sample(before, "hookport_ingest_seconds_count", 'kind="route"') == 0

        assert (await client.send("/in", b"{}")).status_code == 202
        assert (await client.send("/in", b"{}")).status_code == 202
        assert (await client.http.post("/in", content=b"{}")).status_code == 401  # not observed
        assert (await client.http.get("/hi")).status_code == 200

        after = (await client.http.get("/_hookport/metrics")).text
    assert _sample(after, "hookport_ingest_seconds_count", 'kind="receiver"') == 2
    assert _sample(after, "hookport_ingest_seconds_count", 'kind="route"') == 1
    assert _sample(after, "hookport_ingest_seconds_sum", 'kind="receiver"') > 0
    # Every observation falls in some bucket: the +Inf bucket counts them all.
    assert _sample(after, "hookport_ingest_seconds_bucket", 'kind="receiver",le="\\+Inf"') == 2
    assert _sample(after, "hookport_requests_total", 'endpoint="timed:/in",status="401"') == 1

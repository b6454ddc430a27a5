"""metrics.py alone: bounded labels, and counters shared by several processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.metrics_support import sample

from hookport.metrics import REASONS, failure_reason, method_class


@pytest.mark.parametrize(
    ("status", "message", "reason"),
    [
        (401, "missing X-Hub-Signature-256 header", "missing"),
        (401, "no signature to check", "missing"),
        (401, "missing token", "missing"),
        (401, "malformed X-Hub-Signature-256 header: expected sha256=...", "malformed"),
        (401, "conflicting X-Gitea-Signature headers", "malformed"),
        (401, "timestamp is too old (outside the tolerance)", "stale"),
        (401, "timestamp is in the future (outside the tolerance)", "stale"),
        (401, "signature does not match", "mismatch"),
        (401, "invalid token", "mismatch"),
        (403, "client address not allowed", "forbidden"),
        (401, "something new", "other"),
    ],
)
def test_failure_reasons_are_a_bounded_set(status: int, message: str, reason: str) -> None:
    assert failure_reason(status, message) == reason
    assert reason in REASONS


def test_method_labels_are_bounded() -> None:
    assert method_class("POST") == "POST"
    assert method_class("BREW") == "other"
    assert method_class("post") == "other"  # methods are case-sensitive; ours come upper-case


_COUNT = """
from hookport.metrics import Metrics
m = Metrics(multiprocess_dir={d!r})
m.count_request("ep", "POST", 202)
m.handler_ran("ep", "h", "ok", 0.01)
"""
_SHOW = """
import asyncio
from hookport.metrics import Metrics
print(asyncio.run(Metrics(multiprocess_dir={d!r}).exposition()).decode())
"""


def test_several_processes_share_counters_through_the_multiprocess_dir(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):  # two worker processes each count one request and one handler run
        subprocess.run([sys.executable, "-c", _COUNT.format(d=str(tmp_path))], env=env, check=True)
    shown = subprocess.run(
        [sys.executable, "-c", _SHOW.format(d=str(tmp_path))],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    labels = {"endpoint": "ep", "method": "POST", "status": "202"}
    assert sample(shown, "hookport_requests_total", **labels) == 2
    assert sample(shown, "hookport_handler_seconds_count", endpoint="ep", handler="h") == 2

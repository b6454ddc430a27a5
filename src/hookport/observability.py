"""Logging and metrics: structured ``key=value`` log lines that never carry secrets.

Secrets are removed twice: they are never passed to log calls, and :class:`RedactingFilter`
masks every registered secret value that slips into a message anyway.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class RedactingFilter(logging.Filter):
    """Replaces any known secret value in a record's message with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            for secret in self._secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


def setup_logging(level: str = "info", secrets: Iterable[str] = ()) -> None:
    """Configure the ``hookport`` logger tree once for a process (CLI entry points call it)."""
    root = logging.getLogger("hookport")
    root.setLevel(level.upper())
    if not any(getattr(h, "_hookport", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler._hookport = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False
    for existing in root.handlers:
        existing.filters = [f for f in existing.filters if not isinstance(f, RedactingFilter)]
        existing.addFilter(RedactingFilter(secrets))


def kv(**fields: object) -> str:
    """Format fields as ``k=v`` pairs for a log line (values with spaces are quoted)."""
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        text = str(value)
        if not text or any(c in text for c in ' "='):
            text = '"' + text.replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


class Metrics:
    """Prometheus metrics of one app (its own registry: no global state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hookport_requests",
            "HTTP requests answered by endpoint and status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.ingest_seconds = Histogram(
            "hookport_ingest_seconds",
            "Time from request start to acknowledgement",
            ["kind"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
        )
        self._request_counters: dict[tuple[str, int], Any] = {}

    def count_request(self, endpoint: str, status: int) -> None:
        """Count one answered request (label children cached: this runs on every request)."""
        key = (endpoint, status)
        counter = self._request_counters.get(key)
        if counter is None:
            counter = self._request_counters[key] = self.requests.labels(endpoint, str(status))
        counter.inc()

"""Shared by the bare baselines: the secret, the signature check and the uvicorn runner."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
from typing import Any

import uvicorn

SECRET = os.environ.get("BENCH_SECRET", "").encode()


def signature_ok(body: bytes, header: str | None) -> bool:
    """GitHub's check: ``sha256=<hex HMAC-SHA256(secret, raw body)>``, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


def serve(app: Any) -> None:
    """Run ``app`` on uvicorn with uvloop + httptools, one worker, no access log."""
    if not SECRET:
        raise SystemExit("set BENCH_SECRET")
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        server_header=False,
    )

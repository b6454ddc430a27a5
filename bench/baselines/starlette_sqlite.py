"""Baseline (d): the Starlette app committing one SQLite row per request, the naive way.

WAL mode, ``synchronous=FULL``, one transaction (and so one fsync) per request, on one
connection confined to a single-thread executor. Deduplicates by delivery id like a careful
receiver would (UNIQUE constraint). The file is ``$BENCH_DB``.
Run: BENCH_SECRET=... BENCH_DB=/tmp/d.db python bench/baselines/starlette_sqlite.py --port 8001
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from _common import serve, signature_ok  # the script's own folder is on sys.path
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    delivery_id TEXT UNIQUE,
    type TEXT,
    received_at REAL NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL
)
"""

executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite")


def _connect() -> sqlite3.Connection:
    conn = sqlite3.connect(os.environ["BENCH_DB"], isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(SCHEMA)
    return conn


conn = executor.submit(_connect).result()


def _insert(row: tuple[str, str | None, str | None, float, str, bytes]) -> bool:
    try:
        conn.execute(  # autocommit: one transaction per request
            "INSERT INTO events (id, delivery_id, type, received_at, headers, body)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            row,
        )
    except sqlite3.IntegrityError:
        return False
    return True


async def github(request: Request) -> Response:
    body = await request.body()
    if not signature_ok(body, request.headers.get("x-hub-signature-256")):
        return JSONResponse({"error": "bad signature"}, status_code=401)
    event_id = uuid.uuid4().hex
    row = (
        event_id,
        request.headers.get("x-github-delivery"),
        request.headers.get("x-github-event"),
        time.time(),
        json.dumps(request.headers.items()),
        body,
    )
    fresh = await asyncio.get_running_loop().run_in_executor(executor, _insert, row)
    if not fresh:
        return JSONResponse({"status": "duplicate"}, status_code=200)
    return JSONResponse({"id": event_id, "status": "queued"}, status_code=202)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/github", github, methods=["POST"]), Route("/health", health)])

if __name__ == "__main__":
    serve(app)

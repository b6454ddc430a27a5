"""Baseline (h): the Starlette app committing one PostgreSQL row per request through an
asyncpg pool, the naive way (each INSERT its own transaction, ``synchronous_commit=on``).

The DSN is ``$BENCH_PG_DSN``; the pool has 10 connections (hookport's default ``pool_size``).
Run: BENCH_SECRET=... BENCH_PG_DSN=postgresql://postgres@127.0.0.1/db \
    python bench/baselines/starlette_postgres.py --port 8001
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
from _common import serve, signature_ok  # the script's own folder is on sys.path
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    delivery_id TEXT UNIQUE,
    type TEXT,
    received_at DOUBLE PRECISION NOT NULL,
    headers JSONB NOT NULL,
    body BYTEA NOT NULL
)
"""
INSERT = """
INSERT INTO events (id, delivery_id, type, received_at, headers, body)
VALUES ($1, $2, $3, $4, $5::jsonb, $6)
ON CONFLICT (delivery_id) DO NOTHING
"""

pool: asyncpg.Pool | None = None


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(os.environ["BENCH_PG_DSN"], min_size=10, max_size=10)
    await pool.execute(SCHEMA)
    try:
        yield
    finally:
        await pool.close()


async def github(request: Request) -> Response:
    body = await request.body()
    if not signature_ok(body, request.headers.get("x-hub-signature-256")):
        return JSONResponse({"error": "bad signature"}, status_code=401)
    assert pool is not None
    event_id = uuid.uuid4().hex
    status = await pool.execute(
        INSERT,
        event_id,
        request.headers.get("x-github-delivery"),
        request.headers.get("x-github-event"),
        time.time(),
        json.dumps(request.headers.items()),
        body,
    )
    if status.endswith(" 0"):
        return JSONResponse({"status": "duplicate"}, status_code=200)
    return JSONResponse({"id": event_id, "status": "queued"}, status_code=202)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[Route("/github", github, methods=["POST"]), Route("/health", health)],
    lifespan=lifespan,
)

if __name__ == "__main__":
    serve(app)

"""Baseline (d'): bare Starlette with a simple SQLite group commit.

Each verified request puts its row on an asyncio queue and waits; one writer thread takes up to
512 queued rows, writes them with ``executemany`` inside one ``BEGIN .. COMMIT`` (WAL,
``synchronous=FULL``) and then answers every request of the batch. Deduplicates by delivery id
with one lookup per batch inside the same transaction. The file is ``$BENCH_DB``.
Run: BENCH_SECRET=... BENCH_DB=/tmp/d.db python bench/baselines/starlette_groupcommit.py --port 8001
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

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
BATCH = 512
Row = tuple[str, str | None, str | None, float, str, bytes]


class GroupCommit:
    """One writer thread; requests wait on a future resolved after their batch commits."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute(SCHEMA)
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self.queue: asyncio.Queue[tuple[Row, asyncio.Future[bool]]] = asyncio.Queue()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self.queue.get()
            batch = [first]
            while len(batch) < BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                rows = [row for row, _ in batch]
                fresh = await loop.run_in_executor(self.thread, self._write, rows)
            except sqlite3.Error as exc:
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), ok in zip(batch, fresh, strict=True):
                future.set_result(ok)

    def _write(self, rows: list[Row]) -> list[bool]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            wanted = [row[1] for row in rows if row[1] is not None]
            seen: set[str] = set()
            if wanted:
                marks = ",".join("?" * len(wanted))
                seen = {
                    r[0]
                    for r in conn.execute(
                        f"SELECT delivery_id FROM events WHERE delivery_id IN ({marks})",
                        wanted,
                    )
                }
            fresh: list[bool] = []
            keep: list[Row] = []
            for row in rows:
                ok = row[1] is None or row[1] not in seen
                if ok and row[1] is not None:
                    seen.add(row[1])
                fresh.append(ok)
                if ok:
                    keep.append(row)
            conn.executemany(
                "INSERT INTO events (id, delivery_id, type, received_at, headers, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                keep,
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return fresh

    async def append(self, row: Row) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self.queue.put((row, future))
        return await future


writer = GroupCommit(os.environ["BENCH_DB"])


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
    if not await writer.append(row):
        return JSONResponse({"status": "duplicate"}, status_code=200)
    return JSONResponse({"id": event_id, "status": "queued"}, status_code=202)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    task = asyncio.create_task(writer.run())
    yield
    task.cancel()


app = Starlette(
    routes=[Route("/github", github, methods=["POST"]), Route("/health", health)],
    lifespan=lifespan,
)

if __name__ == "__main__":
    serve(app)

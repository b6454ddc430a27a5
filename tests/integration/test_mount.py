"""hookport mounted under FastAPI and Starlette at a prefix, served by a real uvicorn."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount

from hookport import Plugin
from hookport.app import create_app
from hookport.config import load_settings


def build_plugin() -> Plugin:
    plugin = Plugin("mounted")

    @plugin.route("/hello/{name}")
    def hello(name: str) -> str:
        return f"hello {name}"

    inbox = plugin.receiver("/inbox")

    @inbox
    def handle(event: Any) -> None:
        return None

    return plugin


class _Server(uvicorn.Server):
    """uvicorn's server with an event set once it accepts connections."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.up = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.up.set()


@asynccontextmanager
async def running(app: Any) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await asyncio.wait_for(server.up.wait(), 10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.mark.anyio
@pytest.mark.parametrize("framework", ["fastapi", "starlette"])
async def test_mounted_at_a_prefix(framework: str, tmp_path: Path) -> None:
    settings = load_settings(None, {}, store={"url": f"sqlite:///{tmp_path}/m.db"})
    hooks = create_app(settings, [build_plugin()])
    if framework == "fastapi":
        host: Any = FastAPI()

        @host.get("/own")
        def own() -> dict[str, str]:
            return {"own": "route"}

        host.mount("/hooks", hooks)
    else:
        host = Starlette(routes=[Mount("/hooks", app=hooks)])
    try:
        async with running(host) as url, httpx.AsyncClient(base_url=url) as client:
            r = await client.get("/hooks/hello/world")
            assert (r.status_code, r.text) == (200, "hello world")
            r = await client.post("/hooks/inbox", content=b"{}")
            assert (r.status_code, r.json()["status"]) == (202, "queued")
            assert (await client.get("/hooks/_hookport/health")).json() == {"status": "ok"}
            assert (await client.get("/hooks/nope")).status_code == 404
            if framework == "fastapi":
                assert (await client.get("/own")).json() == {"own": "route"}
            assert await hooks.ops.get_event(r.json()["id"]) is not None
    finally:
        await hooks.shutdown()

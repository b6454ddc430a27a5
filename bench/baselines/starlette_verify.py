"""Baseline (c): a bare Starlette app that verifies the GitHub signature and answers 202.

No storage: this is the floor of what a Python ASGI receiver costs on this machine.
Run: BENCH_SECRET=... python bench/baselines/starlette_verify.py --port 8001
"""

from __future__ import annotations

from _common import serve, signature_ok  # the script's own folder is on sys.path
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def github(request: Request) -> Response:
    body = await request.body()
    if not signature_ok(body, request.headers.get("x-hub-signature-256")):
        return JSONResponse({"error": "bad signature"}, status_code=401)
    return JSONResponse({"status": "accepted"}, status_code=202)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/github", github, methods=["POST"]), Route("/health", health)])

if __name__ == "__main__":
    serve(app)

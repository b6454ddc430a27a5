"""Baseline (e'): FastAPI verify-only, as its docs suggest writing a webhook endpoint.

``await request.body()``, the signature header by ``Header()`` injection, no JSON parsing, 202.
No storage.
Run: BENCH_SECRET=... python bench/baselines/fastapi_header.py --port 8001
"""

from __future__ import annotations

from typing import Annotated

from _common import serve, signature_ok  # the script's own folder is on sys.path
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/github", status_code=202)
async def hook(
    request: Request, x_hub_signature_256: Annotated[str | None, Header()] = None
) -> JSONResponse:
    body = await request.body()
    if not signature_ok(body, x_hub_signature_256):
        raise HTTPException(status_code=401, detail="bad signature")
    return JSONResponse({"status": "accepted"}, status_code=202)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    serve(app)

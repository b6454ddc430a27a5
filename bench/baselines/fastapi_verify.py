"""Baseline (e): the same check as a typical FastAPI endpoint, as bot frameworks write it.

Reads the body, verifies the signature, parses the JSON with ``await request.json()``, answers
202. No storage.
Run: BENCH_SECRET=... python bench/baselines/fastapi_verify.py --port 8001
"""

from __future__ import annotations

from _common import serve, signature_ok  # the script's own folder is on sys.path
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/github", status_code=202)
async def hook(request: Request) -> JSONResponse:
    body = await request.body()
    if not signature_ok(body, request.headers.get("x-hub-signature-256")):
        raise HTTPException(status_code=401, detail="bad signature")
    payload = await request.json()
    event = request.headers.get("x-github-event", "")
    return JSONResponse(
        {"status": "accepted", "event": event, "ref": payload.get("ref")}, status_code=202
    )


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    serve(app)

"""Baseline (r): raw ASGI on uvicorn, no framework: read the body, compare the HMAC, answer 202.

No storage and no framework objects: the Python ceiling for a verifying receiver on this machine.
Run: BENCH_SECRET=... python bench/baselines/raw_asgi.py --port 8001
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from _common import serve, signature_ok  # the script's own folder is on sys.path

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = [(b"content-type", b"application/json")]
ACCEPTED = b'{"status":"accepted"}'
BAD = b'{"error":"bad signature"}'
OK = b'{"status":"ok"}'


async def answer(send: Send, status: int, body: bytes) -> None:
    headers = [*JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] != "/github":
        await answer(send, 200, OK)
        return
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    signature = None
    for name, value in scope["headers"]:
        if name == b"x-hub-signature-256":
            signature = value.decode("latin-1")
            break
    if not signature_ok(body, signature):
        await answer(send, 401, BAD)
        return
    await answer(send, 202, ACCEPTED)


if __name__ == "__main__":
    serve(app)

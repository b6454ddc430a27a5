"""`hookport serve` for real: routes, verifiers, bad input, and the server keeps serving."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import socket
import uuid
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

PLUGIN = str(Path(__file__).parent / "plugins" / "site.py")
SECRET = "e2e-github-secret"


@pytest.fixture
def site(serve: Any, tmp_path: Path) -> Any:
    (tmp_path / "hookport.toml").write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/site.db"\n'
        '[server]\nmax_body_size = "1MB"\n'
        '[channels]\nout = "json://127.0.0.1:9/none"\n'
    )
    return serve(
        "--config",
        str(tmp_path / "hookport.toml"),
        "--plugin",
        PLUGIN,
        env={"SITE_GITHUB_SECRET": SECRET, "SITE_RESULTS": str(tmp_path / "results.log")},
    )


def github_headers(body: bytes, secret: str = SECRET, event: str = "push") -> dict[str, str]:
    sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={sig}",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }


def assert_still_serving(client: httpx.Client) -> None:
    response = client.get("/hello/again")
    assert (response.status_code, response.text) == (200, "hello again")


def test_routes_answer_with_mapped_return_values(site: Any) -> None:
    with httpx.Client(base_url=site.url) as c:
        r = c.get("/hello/world")
        assert (r.status_code, r.text, r.headers["content-type"]) == (
            200,
            "hello world",
            "text/plain; charset=utf-8",
        )
        assert c.post("/hello/post").text == "hello post"
        assert c.get("/items/21").json() == {"id": 21, "double": 42}
        assert c.post("/echo", json={"a": [1, {}]}).json() == {"json": {"a": [1, {}]}}
        r = c.get("/page", params={"who": "<script>"})
        assert r.headers["content-type"].startswith("text/html")
        assert "&lt;script&gt;" in r.text  # autoescaped
        assert c.get("/bytes").content == b"\x00\x01"
        r = c.get("/teapot")
        assert (r.status_code, r.json()) == (418, {"error": "short and stout"})
        r = c.head("/hello/x")
        assert (r.status_code, r.content) == (200, b"")


def test_form_and_multipart(site: Any) -> None:
    with httpx.Client(base_url=site.url) as c:
        r = c.post("/form", data={"a": "1", "b": "2"})
        assert r.json() == {"fields": {"a": ["1"], "b": ["2"]}, "files": []}
        r = c.post("/form", data={"a": "x"}, files={"f": ("n.txt", b"content", "text/plain")})
        assert r.json() == {"fields": {"a": ["x"]}, "files": ["n.txt"]}


def test_unhandled_error_is_500_without_details_and_server_lives(site: Any) -> None:
    with httpx.Client(base_url=site.url) as c:
        r = c.get("/boom")
        assert (r.status_code, r.json()) == (500, {"error": "internal server error"})
        assert "secret-internal-detail" not in r.text
        assert_still_serving(c)


def test_basic_token_ip_and_combinators(site: Any) -> None:
    with httpx.Client(base_url=site.url) as c:
        r = c.post("/private")
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Basic")
        assert "error" in r.json()
        assert c.post("/private", auth=("alice", "wrong")).status_code == 401
        assert c.post("/private", auth=("alice", "wonderland")).text == "welcome"
        assert c.post("/tokened").status_code == 401
        assert c.post("/tokened", params={"access_token": "tok-ops-456"}).text == "token ok"
        assert c.post("/tokened", params={"access_token": "nope"}).status_code == 401
        r = c.get("/internal")
        assert (r.status_code, "error" in r.json()) == (403, True)
        assert c.get("/local-only").text == "local"
        assert c.post("/either", auth=("bob", "builder")).text == "either ok"
        assert c.post("/either").status_code == 401
        assert c.post("/both").status_code == 401
        assert_still_serving(c)


def test_github_signature_accepts_and_rejects(site: Any) -> None:
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    with httpx.Client(base_url=site.url) as c:
        r = c.post("/github", content=body, headers=github_headers(body))
        assert r.status_code == 202
        assert r.json()["status"] == "queued"
        tampered = body.replace(b"main", b"evil")
        r = c.post("/github", content=tampered, headers=github_headers(body))
        assert r.status_code == 401
        assert SECRET not in r.text
        r = c.post("/github", content=body, headers=github_headers(body, secret="wrong"))
        assert r.status_code == 401
        headers = github_headers(body)
        conflicting = [*headers.items(), ("X-Hub-Signature-256", "sha256=" + "0" * 64)]
        assert c.post("/github", content=body, headers=conflicting).status_code == 401
        for bad in ("", "sha256=", "sha256=zz", "md5=abc", "sha256=" + "a" * 63, "sha256=\u00e9"):
            h = {**headers, "X-Hub-Signature-256": bad.encode("utf-8")}
            r = c.post("/github", content=body, headers=h)
            assert r.status_code == 401, bad
        assert_still_serving(c)


def test_receiver_dedupes_by_delivery_id(site: Any) -> None:
    body = b'{"zen": "x"}'
    headers = github_headers(body, event="ping")
    with httpx.Client(base_url=site.url) as c:
        first = c.post("/github", content=body, headers=headers)
        again = c.post("/github", content=body, headers=headers)
        assert first.status_code == 202
        assert (again.status_code, again.json()) == (
            200,
            {"id": first.json()["id"], "status": "duplicate"},
        )


BAD_INPUT = [
    # (name, request kwargs, path, method, status, message fragment)
    ("unknown path", {}, "/nowhere", "GET", 404, "no endpoint"),
    ("wrong method", {}, "/echo", "GET", 405, "not allowed"),
    ("malformed JSON", {"content": b'{"a":'}, "/echo", "POST", 400, "malformed JSON"),
    ("JSON with trailing data", {"content": b'{"a":1} {}'}, "/echo", "POST", 400, "malformed JSON"),
    ("invalid UTF-8", {"content": b'{"a":"\xff"}'}, "/echo", "POST", 400, "UTF-8"),
    (
        "100,000-deep array",
        {"content": b"[" * 100_000 + b"]" * 100_000},
        "/echo",
        "POST",
        400,
        "nesting",
    ),
    ("body too large", {"content": b"x" * 1_000_001}, "/echo", "POST", 413, "larger than"),
    (
        "unknown encoding",
        {"content": b"x", "headers": {"Content-Encoding": "br"}},
        "/echo",
        "POST",
        415,
        "Content-Encoding",
    ),
    (
        "corrupt gzip",
        {"content": b"nope", "headers": {"Content-Encoding": "gzip"}},
        "/echo",
        "POST",
        400,
        "corrupt",
    ),
    (
        "gzip over the limit",
        {"content": gzip.compress(b"0" * 2_000_000), "headers": {"Content-Encoding": "gzip"}},
        "/echo",
        "POST",
        413,
        "larger than",
    ),
    (
        "deflate over the limit",
        {"content": zlib.compress(b"0" * 2_000_000), "headers": {"Content-Encoding": "deflate"}},
        "/echo",
        "POST",
        413,
        "larger than",
    ),
    ("no credentials", {}, "/private", "POST", 401, ""),
    ("bad basic header", {"headers": {"Authorization": "Basic !!!"}}, "/private", "POST", 401, ""),
    (
        "basic not base64 of user:pass",
        {"headers": {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}},
        "/private",
        "POST",
        401,
        "",
    ),
    ("ip not allowed", {}, "/internal", "GET", 403, ""),
    ("unsigned receiver call", {"content": b"{}"}, "/github", "POST", 401, ""),
    (
        "overlong delivery id",
        {"content": b"{}", "headers": {"Idempotency-Key": "x" * 300}},
        "/inbox",
        "POST",
        400,
        "delivery id",
    ),
    (
        "non-printable delivery id",
        {"content": b"{}", "headers": {"Idempotency-Key": "a\tb"}},
        "/inbox",
        "POST",
        400,
        "delivery id",
    ),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "path", "method", "status", "fragment"),
    BAD_INPUT,
    ids=[b[0] for b in BAD_INPUT],
)
def test_bad_input_gets_a_clear_4xx_and_the_server_keeps_serving(
    site: Any, name: str, kwargs: dict[str, Any], path: str, method: str, status: int, fragment: str
) -> None:
    with httpx.Client(base_url=site.url) as c:
        r = c.request(method, path, **kwargs)
        assert r.status_code == status, (name, r.text)
        assert r.headers["content-type"] == "application/json"
        assert fragment in r.json()["error"]
        if status == 405:
            assert r.headers["allow"] == "OPTIONS, POST"
        assert_still_serving(c)
    assert "Traceback" not in "".join(site.output)


def _raw_post(url: str, headers: dict[str, str], body_chunks: list[bytes]) -> int:
    """POST with a raw socket, tolerating the server closing early; returns the status code."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = "POST /echo HTTP/1.1\r\nHost: x\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        sock.sendall(head.encode() + b"\r\n")
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while b"\r\n" not in data:
                more = sock.recv(4096)
                if not more:
                    break
                data += more
        except ConnectionResetError:
            pass
    return int(data.split(b" ", 2)[1]) if data else 0


def test_gzip_bombs_get_413_and_memory_stays_small(serve: Any, tmp_path: Path) -> None:
    (tmp_path / "big.toml").write_text(  # the default 25 MB limit
        f'[store]\nurl = "sqlite:///{tmp_path}/b.db"\n[channels]\nout = "json://127.0.0.1:9/x"\n'
    )
    server = serve(
        "--config",
        str(tmp_path / "big.toml"),
        "--plugin",
        PLUGIN,
        env={"SITE_GITHUB_SECRET": SECRET},
    )
    member = gzip.compress(b"\0" * 50_000_000, compresslevel=9)  # ~50 KB inflating to 50 MB
    bomb_50mb = member * (50_000_000 // len(member))  # a 50 MB body inflating to ~50 GB
    assert len(bomb_50mb) > 49_000_000
    base_rss = server.rss_bytes
    with httpx.Client(base_url=server.url, timeout=60) as c:
        r = c.post("/echo", content=member, headers={"Content-Encoding": "gzip"})
        assert r.status_code == 413
        r = c.post("/echo", content=bomb_50mb[:20_000_000], headers={"Content-Encoding": "gzip"})
        assert r.status_code == 413
    # Declared 50 MB, and streamed with chunked encoding (no declared size):
    assert (
        _raw_post(
            server.url,
            {"Content-Encoding": "gzip", "Content-Length": str(len(bomb_50mb))},
            [bomb_50mb[i : i + (1 << 20)] for i in range(0, len(bomb_50mb), 1 << 20)],
        )
        == 413
    )
    chunks = [
        f"{len(c):x}\r\n".encode() + c + b"\r\n"
        for c in (bomb_50mb[i : i + (1 << 20)] for i in range(0, len(bomb_50mb), 1 << 20))
    ]
    assert (
        _raw_post(
            server.url,
            {"Content-Encoding": "gzip", "Transfer-Encoding": "chunked"},
            [*chunks, b"0\r\n\r\n"],
        )
        == 413
    )
    rss = server.rss_bytes
    assert rss < 200 * 2**20, f"RSS {rss / 2**20:.0f} MiB (started at {base_rss / 2**20:.0f} MiB)"
    with httpx.Client(base_url=server.url) as c:
        assert_still_serving(c)


def test_health_and_graceful_exit_on_sigterm(site: Any) -> None:
    with httpx.Client(base_url=site.url) as c:
        assert c.get("/_hookport/health").json() == {"status": "ok"}
        assert c.get("/_hookport/ready").status_code == 200
    assert site.stop() == 0


def test_forwarded_headers_are_believed_only_from_trusted_proxies(
    serve: Any, tmp_path: Path
) -> None:
    env = {"SITE_GITHUB_SECRET": SECRET, "HOOKPORT_CHANNELS__OUT": "json://127.0.0.1:9/x"}
    untrusted = serve(
        "--plugin", PLUGIN, env={**env, "HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/u.db"}
    )
    spoof = {"X-Forwarded-For": "10.1.2.3", "Forwarded": "for=10.1.2.3"}
    with httpx.Client(base_url=untrusted.url) as c:
        assert c.get("/internal", headers=spoof).status_code == 403  # the peer is 127.0.0.1
        assert c.get("/local-only", headers=spoof).text == "local"
    trusted = serve(
        "--plugin",
        PLUGIN,
        env={
            **env,
            "HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/t.db",
            "HOOKPORT_SERVER__TRUSTED_PROXIES": '["127.0.0.1/32"]',
        },
    )
    with httpx.Client(base_url=trusted.url) as c:
        assert c.get("/internal", headers={"X-Forwarded-For": "10.1.2.3"}).text == "inside"
        assert c.get("/internal", headers={"Forwarded": 'for="10.1.2.3:999"'}).text == "inside"
        # The right-most untrusted hop counts, not what the client wrote first.
        chain = {"X-Forwarded-For": "10.9.9.9, 198.51.100.7"}
        assert c.get("/internal", headers=chain).status_code == 403
        assert c.get("/internal").status_code == 403

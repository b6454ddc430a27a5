"""Every verification scheme end to end through a running server, signed by the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import run_hookport

PLUGIN = str(Path(__file__).parent / "plugins" / "schemes.py")
SECRETS = {
    "github": "gh-secret",
    "gitlab": "gl-token",
    "gitea": "gt-secret",
    "bitbucket": "bb-secret",
    "stripe": "whsec_stripe-secret",
    "slack": "slack-signing-secret",
    "standard": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "svix": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
    "shopify": "shop-secret",
    "twilio": "twilio-auth-token",
    "discord": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "hmac": "hm-secret",
    "basic": "ops:s3cret",
    "token": "tok-123",
}
JSON_BODY = json.dumps(
    {
        "id": "evt_1",
        "type": "thing.happened",
        "object_kind": "push",
        "event": {"type": "message"},
        "event_id": "Ev1",
    }
).encode()
BODIES = {
    "twilio": b"From=%2B15550001&Body=hello",
    "discord": json.dumps({"type": 2, "id": "1", "data": {"name": "cmd"}}).encode(),
}
CONTENT_TYPES = {"twilio": "application/x-www-form-urlencoded"}


def env() -> dict[str, str]:
    return {f"S_{k.upper()}": v for k, v in SECRETS.items()}


def hookport(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_hookport(*args, cwd=cwd, env=env())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.e2e.conftest import start

    tmp = tmp_path_factory.mktemp("schemes")
    srv = start(
        ["serve", "--host", "127.0.0.1", "--port", "0", "--plugin", PLUGIN, "--no-workers"],
        cwd=tmp,
        env={**env(), "HOOKPORT_STORE__URL": f"sqlite:///{tmp}/s.db"},
    )
    srv.tmp = tmp  # type: ignore[attr-defined]
    yield srv
    srv.close()


@pytest.mark.parametrize("scheme", list(SECRETS))
def test_hookport_send_signs_for_every_scheme(server: Any, scheme: str) -> None:
    body_file = server.tmp / f"{scheme}.body"
    body_file.write_bytes(BODIES.get(scheme, JSON_BODY))
    args = [
        "send",
        f"/s/{scheme}",
        "--url",
        server.url,
        "--data",
        f"@{body_file}",
        "--plugin",
        PLUGIN,
        "--event",
        "push",
    ]
    if scheme in CONTENT_TYPES:
        args += ["-H", f"Content-Type: {CONTENT_TYPES[scheme]}"]
    out = hookport(*args, cwd=server.tmp)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("HTTP 202 Accepted"), out.stdout


@pytest.mark.parametrize("scheme", list(SECRETS))
def test_hookport_sign_headers_pass_and_tampered_fail(server: Any, scheme: str) -> None:
    # Other ids than the send test's: Stripe, Slack and Discord carry the delivery id in the body.
    body = BODIES.get(scheme, JSON_BODY).replace(b'"1"', b'"11"').replace(b"evt_1", b"evt_11")
    body = body.replace(b"Ev1", b"Ev11")
    body_file = server.tmp / f"sign-{scheme}.body"
    body_file.write_bytes(body)
    url = f"{server.url}/s/{scheme}"
    out = hookport(
        "sign",
        "--scheme",
        scheme,
        "--secret",
        SECRETS[scheme],
        "--data",
        f"@{body_file}",
        "--url",
        url,
        "--json",
        cwd=server.tmp,
    )
    assert out.returncode == 0, out.stderr
    signed = json.loads(out.stdout)
    headers, query = (signed["headers"], signed["query"]) if "query" in signed else (signed, {})
    headers["Content-Type"] = CONTENT_TYPES.get(scheme, "application/json")
    with httpx.Client() as client:
        r = client.post(url, content=body, headers=headers, params=query)
        assert r.status_code == 202, r.text
        tampered = body.replace(b"1", b"2", 1)
        fresh = dict(headers)
        if scheme in ("basic", "token", "gitlab"):
            fresh = {
                "Content-Type": headers["Content-Type"]
            }  # shared-secret schemes: no credential
            query = {}
        r = client.post(url, content=tampered, headers=fresh, params=query)
        assert r.status_code == 401, r.text
        assert SECRETS[scheme] not in r.text


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_stripe_sign_output_replays_with_curl(server: Any) -> None:
    payload = server.tmp / "x.json"
    payload.write_bytes(json.dumps({"id": "evt_curl", "type": "charge.succeeded"}).encode())
    out = hookport(
        "sign",
        "--scheme",
        "stripe",
        "--secret",
        SECRETS["stripe"],
        "--data",
        f"@{payload}",
        cwd=server.tmp,
    )
    assert out.returncode == 0, out.stderr
    header_args = [a for line in out.stdout.splitlines() for a in ("-H", line)]

    def curl(data_file: Path) -> str:
        return subprocess.run(
            [
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                *header_args,
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                f"@{data_file}",
                f"{server.url}/s/stripe",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout

    assert curl(payload) == "202"
    tampered = server.tmp / "tampered.json"
    tampered.write_bytes(payload.read_bytes().replace(b"succeeded", b"refunded"))
    assert curl(tampered) == "401"


def test_slack_url_verification_is_answered_not_stored(server: Any) -> None:
    from hookport.verify import slack

    body = json.dumps({"type": "url_verification", "challenge": "ch4ll3nge"}).encode()
    import time

    signed = slack(signing_secret=SECRETS["slack"]).sign(body, url="", now=time.time())
    r = httpx.post(
        f"{server.url}/s/slack",
        content=body,
        headers={**signed.headers, "Content-Type": "application/json"},
    )
    assert (r.status_code, r.json()) == (200, {"challenge": "ch4ll3nge"})

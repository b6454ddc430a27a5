"""Every provider page's handler example (``examples/providers/*.py``, included into
``docs/providers/``) served by a real ``hookport serve`` and fed a signed delivery.

Each delivery is signed by ``hookport send`` (or ``hookport sign``) with the example's own
verifier and secret; receivers' events must end ``done`` (their handlers read the payload's
fields, so a wrong field is a failed attempt), routes must answer what the page says.
"""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.e2e.conftest import run_hookport, start, wait_until

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "providers"
DISCORD_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"


def discord_public_key() -> str:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(DISCORD_SEED))
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


SECRETS = {
    "GITHUB_SECRET": "gh-secret",
    "GITLAB_TOKEN": "gl-token",
    "GITEA_SECRET": "gt-secret",
    "BITBUCKET_SECRET": "bb-secret",
    "STRIPE_WEBHOOK_SECRET": "whsec_stripe-secret",
    "SLACK_SIGNING_SECRET": "slack-signing-secret",
    "ACME_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "SHOPIFY_WEBHOOK_SECRET": "shop-secret",
    "TWILIO_AUTH_TOKEN": "twilio-auth-token",
    "DISCORD_PUBLIC_KEY": discord_public_key(),
    "ACME_SECRET": "acme-secret",
    "CI_TOKEN": "ci-token",
    "ALERT_TOKEN": "alert-token",
}

# (path, event, payload) per example: one delivery each receiver handler is declared for.
DELIVERIES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "/github",
        "push",
        {
            "ref": "refs/heads/main",
            "pusher": {"name": "octocat"},
            "commits": [{"id": "a"}],
            "repository": {"full_name": "octo-org/hello"},
        },
    ),
    (
        "/github",
        "pull_request",
        {
            "action": "opened",
            "pull_request": {"number": 7, "title": "Fix", "user": {"login": "octocat"}},
            "repository": {"full_name": "octo-org/hello"},
        },
    ),
    (
        "/gitlab",
        "Push Hook",
        {
            "object_kind": "push",
            "user_username": "jsmith",
            "total_commits_count": 2,
            "project": {"path_with_namespace": "group/app"},
        },
    ),
    (
        "/gitlab",
        "Merge Request Hook",
        {
            "object_kind": "merge_request",
            "object_attributes": {"iid": 3, "action": "open", "title": "Feature"},
        },
    ),
    (
        "/gitea",
        "push",
        {"pusher": {"login": "gitea"}, "commits": [], "repository": {"full_name": "o/r"}},
    ),
    (
        "/bitbucket",
        "repo:push",
        {
            "actor": {"display_name": "Ann"},
            "repository": {"full_name": "team/repo"},
            "push": {"changes": [{"new": {"name": "main"}}]},
        },
    ),
    (
        "/stripe",
        "checkout.session.completed",
        {
            "id": "evt_1",
            "type": "checkout.session.completed",
            "data": {"object": {"id": "cs_1", "amount_total": 1999, "currency": "eur"}},
        },
    ),
    (
        "/stripe",
        "invoice.payment_failed",
        {
            "id": "evt_2",
            "type": "invoice.payment_failed",
            "data": {"object": {"customer": "cus_1"}},
        },
    ),
    (
        "/slack",
        "event_callback",
        {
            "type": "event_callback",
            "event_id": "Ev1",
            "event": {"type": "app_mention", "user": "U1", "channel": "C1", "text": "hi"},
        },
    ),
    ("/hooks/acme", "invoice.paid", {"type": "invoice.paid", "data": {"invoice_id": "in_1"}}),
    ("/shopify", "orders/create", {"name": "#1001", "total_price": "10.00", "currency": "EUR"}),
    ("/acme", "build.finished", {"id": "b-1", "result": "success"}),
    ("/ci", "pipeline", {"pipeline": "deploy", "status": "passed"}),
    ("/alerts", "alert", {"alerts": [{"labels": {"alertname": "Down"}, "status": "firing"}]}),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("providers")
    plugins = [arg for f in sorted(EXAMPLES.glob("*.py")) for arg in ("--plugin", str(f))]
    srv = start(
        ["serve", "--host", "127.0.0.1", "--port", "0", *plugins],
        cwd=tmp,
        env={**SECRETS, "HOOKPORT_STORE__URL": f"sqlite:///{tmp}/p.db"},
    )
    srv.tmp = tmp  # type: ignore[attr-defined]
    srv.plugins = plugins  # type: ignore[attr-defined]
    yield srv
    srv.close()


def test_every_provider_page_includes_a_tested_example() -> None:
    pages = Path(__file__).resolve().parents[2] / "docs" / "providers"
    included = {
        line.split('"')[1]
        for page in pages.glob("*.md")
        for line in page.read_text(encoding="utf-8").splitlines()
        if line.startswith('--8<-- "examples/providers/')
    }
    assert included == {f"examples/providers/{f.name}" for f in EXAMPLES.glob("*.py")}
    for page in pages.glob("*.md"):
        if page.name != "README.md":
            text = page.read_text(encoding="utf-8")
            assert '--8<-- "examples/providers/' in text, page.name
            assert "**Payload reference**: <https://" in text, page.name


def test_receiver_examples_handle_signed_deliveries(server: Any) -> None:
    paths = {path for path, _, _ in DELIVERIES}

    def send(n: int) -> None:
        path, event, payload = DELIVERIES[n]
        data = server.tmp / f"{n}.json"
        data.write_text(json.dumps(payload), encoding="utf-8")
        out = run_hookport(
            "send",
            path,
            "--event",
            event,
            "--data",
            f"@{data}",
            "--url",
            server.url,
            *server.plugins,
            cwd=server.tmp,
            env=SECRETS,
        )
        assert out.returncode == 0 and "HTTP 202" in out.stdout, (path, out.stdout, out.stderr)

    with ThreadPoolExecutor(max_workers=4) as pool:  # four CLI processes at a time
        list(pool.map(send, range(len(DELIVERIES))))

    def rows() -> list[tuple[str, str, str]]:
        with sqlite3.connect(server.tmp / "p.db") as db:
            return db.execute(
                "SELECT path, type, status FROM events WHERE kind = 'receiver'"
            ).fetchall()

    wait_until(
        lambda: (
            len(rows()) == len(DELIVERIES)
            and all(s in ("done", "dead", "retrying", "unhandled") for _, _, s in rows())
        ),
        30,
        "every delivery to be handled",
    )
    assert {p for p, _, _ in rows()} == paths
    assert [r for r in rows() if r[2] != "done"] == []
    log = "".join(server.output)
    for line in (
        "order #1001: 10.00 EUR",
        "octocat pushed 1 commit(s) to octo-org/hello on main",
        "PR #7 Fix by octocat",
        "fulfil cs_1: 1999 eur",
        "U1 mentioned the app in C1: hi",
        "alert Down is firing",
        "build b-1 finished: success",
    ):
        assert line in log, line


def test_twilio_route_answers_twiml(server: Any) -> None:
    data = server.tmp / "sms.txt"
    data.write_text("From=%2B15550001&Body=hello+%3Cthere%3E", encoding="utf-8")
    out = run_hookport(
        "send",
        "/twilio/sms",
        "--data",
        f"@{data}",
        "--url",
        server.url,
        "-H",
        "Content-Type: application/x-www-form-urlencoded",
        *server.plugins,
        cwd=server.tmp,
        env=SECRETS,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "HTTP 200" in out.stdout, out.stdout
    assert "<Message>Got it: hello &lt;there&gt;</Message>" in out.stdout


def test_discord_route_answers_the_command(server: Any) -> None:
    body = json.dumps(
        {
            "type": 2,
            "id": "123",
            "data": {"name": "deploy"},
            "member": {"user": {"username": "ann"}},
        }
    )
    data = server.tmp / "discord.json"
    data.write_text(body, encoding="utf-8")
    out = run_hookport(
        "sign",
        "--scheme",
        "discord",
        "--secret",
        DISCORD_SEED,
        "--data",
        f"@{data}",
        "--json",
        cwd=server.tmp,
    )
    assert out.returncode == 0, out.stderr
    headers = {**json.loads(out.stdout), "Content-Type": "application/json"}
    answer = httpx.post(f"{server.url}/discord", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"type": 4, "data": {"content": "ann ran /deploy"}}
    ping = json.dumps({"type": 1, "id": "124"})
    data.write_text(ping, encoding="utf-8")
    out = run_hookport(
        "sign",
        "--scheme",
        "discord",
        "--secret",
        DISCORD_SEED,
        "--data",
        f"@{data}",
        "--json",
        cwd=server.tmp,
    )
    headers = {**json.loads(out.stdout), "Content-Type": "application/json"}
    assert httpx.post(f"{server.url}/discord", content=ping, headers=headers).json() == {"type": 1}

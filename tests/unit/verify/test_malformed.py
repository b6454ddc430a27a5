"""Malformed-header tables: each entry starts from a valid signed request and breaks one header.

Every case must be a ``VerificationError`` (401), never another exception.
"""

from __future__ import annotations

import pytest

from hookport.errors import VerificationError

from .cases import VERIFIERS
from .conftest import NOW, replace_header, signed

BODY = b'{"type":"a.b","id":"evt_1"}'
MISSING = None

TABLE: dict[str, list[tuple[str, str | None]]] = {
    "github_sha256_only": [
        ("X-Hub-Signature-256", MISSING),
        ("X-Hub-Signature-256", ""),
    ],
    "github": [
        ("X-Hub-Signature-256", "sha256="),
        ("X-Hub-Signature-256", "sha1=" + "0" * 40),
        ("X-Hub-Signature-256", "sha256=zz"),
        ("X-Hub-Signature-256", "sha256=abc"),
        ("X-Hub-Signature-256", "sha256=é" + "0" * 63),
        ("X-Hub-Signature-256", "sha256=\x00"),
        ("X-Hub-Signature-256", "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
    ],
    "gitlab": [
        ("X-Gitlab-Token", MISSING),
        ("X-Gitlab-Token", "wrong"),
        ("webhook-signature", "v1"),
        ("webhook-signature", "v1,"),
        ("webhook-signature", "v1,@@@"),
        ("webhook-signature", "v2,AAAA"),
        ("webhook-timestamp", "12ab"),
        ("webhook-timestamp", "-5"),
        ("webhook-timestamp", "9" * 40),
        ("webhook-id", MISSING),
    ],
    "gitea": [
        ("X-Gitea-Signature", MISSING),
        ("X-Gitea-Signature", "sha256=00"),
        ("X-Gitea-Signature", "not hex"),
    ],
    "bitbucket": [
        ("X-Hub-Signature", MISSING),
        ("X-Hub-Signature", "sha256"),
        ("X-Hub-Signature", "sha512=00"),
        ("X-Hub-Signature", "sha256=xyz"),
    ],
    "stripe": [
        ("Stripe-Signature", MISSING),
        ("Stripe-Signature", "garbage"),
        ("Stripe-Signature", "t=1700000000"),
        ("Stripe-Signature", "v1=00"),
        ("Stripe-Signature", "t=abc,v1=00"),
        ("Stripe-Signature", "t=1700000000,t=1700000001,v1=00"),
        ("Stripe-Signature", "t=1700000000,v1=nothex"),
        ("Stripe-Signature", ",,,"),
        ("Stripe-Signature", "t=1700000000,=x,v1=00"),
    ],
    "slack": [
        ("X-Slack-Signature", MISSING),
        ("X-Slack-Signature", "v1=00"),
        ("X-Slack-Signature", "v0=gg"),
        ("X-Slack-Request-Timestamp", MISSING),
        ("X-Slack-Request-Timestamp", "1.5"),
        ("X-Slack-Request-Timestamp", "١٢٣"),
    ],
    "standard": [
        ("webhook-signature", MISSING),
        ("webhook-signature", "v1"),
        ("webhook-signature", "v1a,!!!"),
        ("webhook-signature", ",AAAA"),
        ("webhook-timestamp", "now"),
        ("webhook-id", MISSING),
    ],
    "svix": [
        ("svix-signature", "v1,AAAA"),
        ("svix-timestamp", ""),
    ],
    "shopify": [
        ("X-Shopify-Hmac-Sha256", MISSING),
        ("X-Shopify-Hmac-Sha256", "***"),
        ("X-Shopify-Hmac-Sha256", "YWJj"),
    ],
    "twilio": [
        ("X-Twilio-Signature", MISSING),
        ("X-Twilio-Signature", "not base64!"),
        ("X-Twilio-Signature", "YWJj"),
    ],
    "discord": [
        ("X-Signature-Ed25519", MISSING),
        ("X-Signature-Ed25519", "zz"),
        ("X-Signature-Ed25519", "00" * 10),
        ("X-Signature-Timestamp", MISSING),
        ("X-Signature-Timestamp", "soon"),
    ],
    "hmac": [
        ("X-Sig", MISSING),
        ("X-Sig", "sha256=AAAA"),
        ("X-Sig", "sha512=%%%"),
        ("X-Ts", MISSING),
        ("X-Ts", "1e9"),
        ("X-Id", MISSING),
    ],
    "basic": [
        ("Authorization", MISSING),
        ("Authorization", "Bearer abc"),
        ("Authorization", "Basic"),
        ("Authorization", "Basic !!!"),
        ("Authorization", "Basic bm9jb2xvbg=="),  # "nocolon"
        ("Authorization", "Basic Y2k6d3Jvbmc="),  # "ci:wrong"
        ("Authorization", "Basic //79/w=="),  # not UTF-8
    ],
    "token": [
        ("X-Hook-Token", MISSING),
        ("X-Hook-Token", "nope"),
        ("X-Hook-Token", "tök"),
    ],
    "token_bearer": [
        ("Authorization", "Basic tok-7f3a9c"),
        ("Authorization", "Bearer"),
        ("Authorization", "tok-7f3a9c"),
    ],
}
CASES = [(name, h, v) for name, rows in TABLE.items() for h, v in rows]


@pytest.mark.parametrize(("name", "header", "value"), CASES)
def test_malformed_header_is_401(name: str, header: str, value: str | None) -> None:
    verifier, _ = VERIFIERS[name]
    req = replace_header(signed(verifier, BODY), header, value)
    with pytest.raises(VerificationError):
        verifier.verify(req, NOW)


SIGNATURE_HEADERS = {
    "github": "X-Hub-Signature-256",
    "gitea": "X-Gitea-Signature",
    "bitbucket": "X-Hub-Signature",
    "stripe": "Stripe-Signature",
    "slack": "X-Slack-Signature",
    "standard": "webhook-signature",
    "shopify": "X-Shopify-Hmac-Sha256",
    "twilio": "X-Twilio-Signature",
    "discord": "X-Signature-Ed25519",
    "hmac": "X-Sig",
    "basic": "Authorization",
    "token": "X-Hook-Token",
}


@pytest.mark.parametrize("name", sorted(SIGNATURE_HEADERS))
def test_conflicting_duplicate_signature_headers_are_401(name: str) -> None:
    verifier, _ = VERIFIERS[name]
    req = signed(verifier, BODY)
    good = req.headers.get(SIGNATURE_HEADERS[name])
    other = signed(verifier, BODY + b"x").headers.get(SIGNATURE_HEADERS[name])
    req.headers_list.append((SIGNATURE_HEADERS[name].lower(), other if other != good else "x"))
    with pytest.raises(VerificationError, match="conflicting"):
        verifier.verify(req, NOW)


@pytest.mark.parametrize("name", sorted(SIGNATURE_HEADERS))
def test_identical_duplicate_headers_are_tolerated(name: str) -> None:
    verifier, _ = VERIFIERS[name]
    req = signed(verifier, BODY)
    name_ = SIGNATURE_HEADERS[name]
    req.headers_list.append((name_, req.headers.get(name_)))
    verifier.verify(req, NOW)


def test_gitea_conflicting_gitea_and_forgejo_signatures() -> None:
    verifier, _ = VERIFIERS["gitea"]
    req = signed(verifier, BODY)
    req.headers_list.append(("X-Forgejo-Signature", "00" * 32))
    with pytest.raises(VerificationError, match="conflicting"):
        verifier.verify(req, NOW)


def test_token_conflicting_query_parameters() -> None:
    verifier, _ = VERIFIERS["token_query"]
    req = signed(verifier, b"")
    req.url += "&access_token=other"
    with pytest.raises(VerificationError, match="conflicting"):
        verifier.verify(req, NOW)

"""Requests signed by the providers' own libraries (standardwebhooks, svix, stripe)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import standardwebhooks
import stripe
import svix

from hookport import verify
from hookport.errors import VerificationError
from hookport.types import Verifier

from .conftest import FakeRequest, request

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
STRIPE_SECRET = "whsec_test_secret"
BODY = b'{"id":"evt_1","type":"invoice.paid","data":{"object":{"id":"in_1"}}}'
NOW = 1_700_000_000


def _standard(
    prefix: str, lib: Callable[[str], object]
) -> Callable[[bytes, int, str], FakeRequest]:
    def build(body: bytes, ts: int, secret: str) -> FakeRequest:
        when = datetime.fromtimestamp(ts, tz=UTC)
        signature = lib(secret).sign("msg_abc", when, body.decode())  # type: ignore[attr-defined]
        headers = {f"{prefix}id": "msg_abc", f"{prefix}timestamp": str(ts)}
        return request(body, headers | {f"{prefix}signature": signature})

    return build


def _stripe(body: bytes, ts: int, secret: str) -> FakeRequest:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=ts)
    return request(body, {"Stripe-Signature": header})


CASES: list[
    tuple[str, Callable[[bytes, int, str], FakeRequest], Callable[[str], Verifier], str]
] = [
    ("standardwebhooks", _standard("webhook-", standardwebhooks.Webhook), verify.standard, SECRET),
    ("svix", _standard("svix-", svix.Webhook), verify.svix, SECRET),
    ("stripe", _stripe, verify.stripe, STRIPE_SECRET),
]
IDS = [case[0] for case in CASES]


@pytest.mark.parametrize(("name", "build", "factory", "secret"), CASES, ids=IDS)
def test_library_signed_request_passes(name: str, build, factory, secret: str) -> None:  # type: ignore[no-untyped-def]
    result = factory(secret).verify(build(BODY, NOW, secret), NOW)
    assert result.event_type == "invoice.paid"
    assert result.delivery_id == ("evt_1" if name == "stripe" else "msg_abc")


@pytest.mark.parametrize(("name", "build", "factory", "secret"), CASES, ids=IDS)
def test_one_byte_changed_fails(name: str, build, factory, secret: str) -> None:  # type: ignore[no-untyped-def]
    req = build(BODY, NOW, secret)
    req.body = BODY.replace(b"in_1", b"in_2")
    with pytest.raises(VerificationError):
        factory(secret).verify(req, NOW)


@pytest.mark.parametrize(("name", "build", "factory", "secret"), CASES, ids=IDS)
@pytest.mark.parametrize("skew", [-301, 301])
def test_stale_or_future_timestamp_fails(name: str, build, factory, secret: str, skew: int) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(VerificationError, match="tolerance"):
        factory(secret).verify(build(BODY, NOW + skew, secret), NOW)


@pytest.mark.parametrize(("name", "build", "factory", "secret"), CASES, ids=IDS)
def test_wrong_secret_fails(name: str, build, factory, secret: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(VerificationError, match="does not match"):
        factory(OTHER).verify(build(BODY, NOW, secret), NOW)


def test_our_standard_signature_passes_the_reference_library() -> None:
    now = time.time()
    out = verify.standard(secret=SECRET).sign(BODY, url="", now=now)
    standardwebhooks.Webhook(SECRET).verify(BODY, out.headers)


def test_our_svix_signature_passes_the_svix_library() -> None:
    now = time.time()
    out = verify.svix(secret=SECRET).sign(BODY, url="", now=now)
    assert "svix-signature" in out.headers
    svix.Webhook(SECRET).verify(BODY, out.headers)


def test_our_stripe_signature_passes_the_stripe_library() -> None:
    out = verify.stripe(secret=STRIPE_SECRET).sign(BODY, url="", now=time.time())
    assert stripe.WebhookSignature.verify_header(
        BODY, out.headers["Stripe-Signature"], STRIPE_SECRET, tolerance=300
    )


def test_stripe_header_with_several_v1_and_v0_entries() -> None:
    header = stripe.WebhookSignature.generate_signature_header(
        BODY.decode(), STRIPE_SECRET, timestamp=NOW
    )
    req = request(BODY, {"Stripe-Signature": f"{header},v1=bad_signature,v0=abcd"})
    verify.stripe(secret=STRIPE_SECRET).verify(req, NOW)

"""Property tests: arbitrary headers, bodies and URLs never raise anything but 401/403,
and no secret ever shows up in an error message or in the logs."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookport.errors import ForbiddenError, VerificationError

from .cases import VERIFIERS
from .conftest import NOW, FakeRequest, signed

HEADER_NAMES = sorted(
    {
        "X-Hub-Signature-256", "X-Hub-Signature", "X-GitHub-Event", "X-Gitlab-Token",
        "X-Gitlab-Event", "webhook-id", "webhook-timestamp", "webhook-signature", "svix-id",
        "svix-timestamp", "svix-signature", "X-Gitea-Signature", "X-Forgejo-Signature",
        "Stripe-Signature", "X-Slack-Signature", "X-Slack-Request-Timestamp",
        "X-Shopify-Hmac-Sha256", "X-Twilio-Signature", "X-Signature-Ed25519",
        "X-Signature-Timestamp", "X-Sig", "X-Ts", "X-Id", "Authorization", "X-Hook-Token",
        "Content-Type", "X-Event-Key",
    }
)  # fmt: skip
# Values mixing the shapes the parsers look for with arbitrary text.
VALUE = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"(sha1|sha256|sha512|v0|v1|v1a|t|Basic|Bearer)[=, ][A-Za-z0-9+/=,. _-]{0,90}"),
    st.from_regex(r"[0-9]{0,20}", fullmatch=True),
    st.sampled_from(["application/x-www-form-urlencoded", "application/json", "Basic Og=="]),
)
HEADERS = st.lists(st.tuples(st.sampled_from(HEADER_NAMES), VALUE), max_size=8)
BODY = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [b'{"type":1}', b'{"type":"url_verification","challenge":"c"}', b"payload=%7B"]
    ),
)
URL = st.one_of(
    st.just("https://hooks.example.com/hook"),
    st.from_regex(r"https?://[a-z.:\[\]0-9]{0,20}/[a-z?=&%]{0,20}", fullmatch=True),
)
CLIENT = st.one_of(st.none(), st.text(max_size=40), st.ip_addresses().map(str))
ALLOWED = (VerificationError, ForbiddenError)


def _assert_clean(exc: BaseException, secrets: tuple[str, ...], logs: str) -> None:
    for secret in secrets:
        assert secret not in str(exc)
        assert secret not in repr(exc)
        assert secret not in logs


@pytest.mark.parametrize("name", sorted(VERIFIERS))
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(headers=HEADERS, body=BODY, url=URL, client=CLIENT, method=st.sampled_from(["POST", "GET"]))
def test_arbitrary_requests_only_raise_401_or_403(
    name: str,
    headers: list[tuple[str, str]],
    body: bytes,
    url: str,
    client: str | None,
    method: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    verifier, secrets = VERIFIERS[name]
    req = FakeRequest(body, headers, url, method, client)
    with caplog.at_level(logging.DEBUG):
        try:
            verifier.verify(req, NOW)
        except ALLOWED as exc:
            _assert_clean(exc, secrets, caplog.text)


@pytest.mark.parametrize("name", sorted(VERIFIERS))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(extra=HEADERS, body=BODY, skew=st.integers(-(10**6), 10**6))
def test_tampered_signed_requests_only_raise_401_or_403(
    name: str,
    extra: list[tuple[str, str]],
    body: bytes,
    skew: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    verifier, secrets = VERIFIERS[name]
    req = signed(verifier, b'{"type":"x"}', now=NOW + skew)
    req.headers_list.extend(extra)
    req.body = body
    with caplog.at_level(logging.DEBUG):
        try:
            verifier.verify(req, NOW)
        except ALLOWED as exc:
            _assert_clean(exc, secrets, caplog.text)


@pytest.mark.parametrize("name", sorted(VERIFIERS))
@settings(max_examples=40, deadline=None)
@given(body=st.binary(max_size=300))
def test_any_body_round_trips(name: str, body: bytes) -> None:
    verifier, _ = VERIFIERS[name]
    verifier.verify(signed(verifier, body), NOW)

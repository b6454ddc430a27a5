"""Each scheme against its provider's published test vector (source cited per test)."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hookport import verify
from hookport.errors import VerificationError
from hookport.verify import _ed25519

from .conftest import request

# GitHub docs, "Validating webhook deliveries" -> "Testing the webhook payload validation":
# https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_HEX = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_github_docs_vector() -> None:
    req = request(GITHUB_BODY, {"X-Hub-Signature-256": f"sha256={GITHUB_HEX}"})
    verify.github(secret=GITHUB_SECRET).verify(req, 0)


def test_github_docs_vector_uppercase_hex_is_the_same_bytes() -> None:
    req = request(GITHUB_BODY, {"X-Hub-Signature-256": f"sha256={GITHUB_HEX.upper()}"})
    verify.github(secret=GITHUB_SECRET).verify(req, 0)


def test_github_signer_reproduces_docs_vector() -> None:
    out = verify.github(secret=GITHUB_SECRET).sign(GITHUB_BODY, url="", now=0)
    assert out.headers["X-Hub-Signature-256"] == f"sha256={GITHUB_HEX}"


# Bitbucket (Cloud and Server) and Gitea publish no fixed vector. Both use the same
# HMAC-SHA256 hex digest of the raw body as GitHub (Bitbucket: "sha256=<hex>" in X-Hub-Signature,
# https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/ ; Gitea: bare hex in
# X-Gitea-Signature, go-gitea/gitea services/webhook/deliver.go), so GitHub's vector applies.
def test_bitbucket_with_github_docs_vector() -> None:
    req = request(GITHUB_BODY, {"X-Hub-Signature": f"sha256={GITHUB_HEX}"})
    verify.bitbucket(secret=GITHUB_SECRET).verify(req, 0)


def test_gitea_with_github_docs_vector() -> None:
    req = request(GITHUB_BODY, {"X-Gitea-Signature": GITHUB_HEX})
    verify.gitea(secret=GITHUB_SECRET).verify(req, 0)


def test_shopify_with_github_docs_vector_in_base64() -> None:
    # Shopify publishes no fixed vector (https://shopify.dev/docs/apps/build/webhooks/subscribe/
    # https#step-2-validate-the-origin-of-your-webhook): base64 of the same HMAC-SHA256.
    value = base64.b64encode(bytes.fromhex(GITHUB_HEX)).decode()
    req = request(GITHUB_BODY, {"X-Shopify-Hmac-Sha256": value})
    verify.shopify(secret=GITHUB_SECRET).verify(req, 0)


# Standard Webhooks reference library test, standard-webhooks/standard-webhooks
# libraries/python/tests/test_webhooks.py (test_sign_function).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _sw_headers(prefix: str, signature: str = SW_SIG) -> dict[str, str]:
    return {f"{prefix}id": SW_ID, f"{prefix}timestamp": str(SW_TS), f"{prefix}signature": signature}


def test_standard_webhooks_vector() -> None:
    result = verify.standard(secret=SW_SECRET).verify(
        request(SW_BODY, _sw_headers("webhook-")), SW_TS
    )
    assert result.delivery_id == SW_ID


def test_standard_webhooks_vector_secret_without_prefix() -> None:
    v = verify.standard(secret=SW_SECRET.removeprefix("whsec_"))
    v.verify(request(SW_BODY, _sw_headers("webhook-")), SW_TS)


def test_svix_headers_with_standard_vector() -> None:
    v = verify.svix(secret=SW_SECRET)
    assert v.verify(request(SW_BODY, _sw_headers("svix-")), SW_TS).delivery_id == SW_ID


def test_standard_webhooks_multi_signature_vector() -> None:
    # Same file, test_multi_sig_payload_is_valid: unknown versions and wrong v1s are skipped.
    sigs = " ".join(
        [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            SW_SIG,
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        ]
    )
    verify.standard(secret=SW_SECRET).verify(request(SW_BODY, _sw_headers("webhook-", sigs)), SW_TS)


def test_standard_webhooks_vector_signer() -> None:
    from hookport.verify.standard import hmac_key, sign_headers

    out = sign_headers(SW_BODY, SW_TS, key=hmac_key(SW_SECRET), private=None, msg_id=SW_ID)
    assert out["webhook-signature"] == SW_SIG


def test_gitlab_signing_token_uses_standard_webhooks_format() -> None:
    # GitLab's signing token follows Standard Webhooks (gitlab-org/gitlab MR 230944):
    # webhook-id / webhook-timestamp / webhook-signature: v1,<base64> over {id}.{ts}.{body}.
    headers = _sw_headers("webhook-") | {"Idempotency-Key": SW_ID}
    result = verify.gitlab(signing_secret=SW_SECRET).verify(request(SW_BODY, headers), SW_TS)
    assert result.delivery_id == SW_ID


# Slack docs, "Verifying requests from Slack" (worked example):
# https://api.slack.com/authentication/verifying-requests-from-slack
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TS = 1531420618
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmib"
    b"IGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_slack_docs_vector() -> None:
    headers = {
        "X-Slack-Request-Timestamp": str(SLACK_TS),
        "X-Slack-Signature": SLACK_SIG,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    result = verify.slack(signing_secret=SLACK_SECRET).verify(
        request(SLACK_BODY, headers), SLACK_TS
    )
    assert result.event_type == "slash_command"


# Twilio's official library test, twilio/twilio-python tests/unit/test_request_validator.py.
TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _twilio(url: str, signature: str, body: bytes | None = None) -> None:
    payload = urlencode(TWILIO_PARAMS).encode() if body is None else body
    headers = {"X-Twilio-Signature": signature} | FORM
    verify.twilio(auth_token=TWILIO_TOKEN).verify(request(payload, headers, url=url), 0)


def test_twilio_library_vector() -> None:
    _twilio(TWILIO_URL, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        # removes the port on https / http
        ("https://mycompany.com:1234/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        # adds the default port on https / http
        (TWILIO_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),
        ("http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="),
    ],
)
def test_twilio_library_port_vectors(url: str, signature: str) -> None:
    _twilio(url, signature)


def test_twilio_library_duplicate_params_vector() -> None:
    body = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234"
    _twilio(TWILIO_URL, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", body)


def test_twilio_library_body_sha256_vector() -> None:
    body = b'{"property": "value", "boolean": true}'
    body_hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    req = request(
        body,
        {"X-Twilio-Signature": "a9nBmqA0ju/hNViExpshrM61xv4=", "Content-Type": "application/json"},
        url=f"{TWILIO_URL}&bodySHA256={body_hash}",
    )
    verify.twilio(auth_token=TWILIO_TOKEN).verify(req, 0)


def test_twilio_library_vector_with_wrong_token_fails() -> None:
    payload = urlencode(TWILIO_PARAMS).encode()
    headers = {"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="} | FORM
    req = request(payload, headers, url=TWILIO_URL)
    with pytest.raises(VerificationError):
        verify.twilio(auth_token="54321").verify(req, 0)


# Stripe: stripe/stripe-python tests/test_webhook.py fixture (payload and secret). Stripe
# publishes no fixed timestamp+signature pair, so the header comes from the official library's
# own public signer, stripe.WebhookSignature.generate_signature_header, at a fixed timestamp.
STRIPE_PAYLOAD = """{
  "id": "evt_test_webhook",
  "object": "event",
  "data": { "object": { "id": "rdr_123", "object": "terminal.reader" } }
}"""
STRIPE_SECRET = "whsec_test_secret"


def test_stripe_library_fixture() -> None:
    import stripe

    header = stripe.WebhookSignature.generate_signature_header(
        STRIPE_PAYLOAD, STRIPE_SECRET, timestamp=1_700_000_000
    )
    req = request(STRIPE_PAYLOAD.encode(), {"Stripe-Signature": header})
    result = verify.stripe(secret=STRIPE_SECRET).verify(req, 1_700_000_000)
    assert result.delivery_id == "evt_test_webhook"


# Discord publishes no vector. RFC 8032 section 7.1 TEST 1 gives a key pair and a signature of
# the empty message; the Ed25519 core must accept exactly that signature.
RFC8032_SECRET = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
RFC8032_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
RFC8032_EMPTY_SIG = (
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065"
    "224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def test_ed25519_core_rfc8032_test1() -> None:
    key = _ed25519.public_key(bytes.fromhex(RFC8032_PUBLIC), "k")
    assert _ed25519.matches([bytes.fromhex(RFC8032_EMPTY_SIG)], [key], b"")
    assert not _ed25519.matches([bytes.fromhex(RFC8032_EMPTY_SIG)], [key], b"x")


def test_discord_with_rfc8032_key_signed_independently() -> None:
    # The signature comes from `cryptography` directly, not from hookport's signer.
    body = b'{"type":2,"id":"123"}'
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(RFC8032_SECRET))
    signature = private.sign(b"1700000000" + body).hex()
    headers = {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": "1700000000"}
    result = verify.discord(public_key=RFC8032_PUBLIC).verify(request(body, headers), 1_700_000_000)
    assert result.event_type == "application_command"
    assert result.delivery_id == "123"


# Generic HMAC: RFC 4231 test case 2 (SHA-256, SHA-512) and RFC 2202 test case 2 (SHA-1).
@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("sha1", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
        ("sha256", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (
            "sha512",
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        ),
    ],
)
def test_generic_hmac_rfc_vectors(algorithm: str, expected: str) -> None:
    v = verify.hmac(secret="Jefe", header="X-Sig", algorithm=algorithm)  # type: ignore[arg-type]
    v.verify(request(b"what do ya want for nothing?", {"X-Sig": expected}), 0)


def test_basic_rfc7617_example() -> None:
    # RFC 7617 section 2: "Aladdin" / "open sesame".
    req = request(b"", {"Authorization": "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="})
    assert verify.basic({"Aladdin": "open sesame"}).verify(req, 0).sender == "Aladdin"

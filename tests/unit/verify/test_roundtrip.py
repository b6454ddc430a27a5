"""Every verifier accepts what its own signer produces, and only that."""

from __future__ import annotations

import json

import pytest

from hookport import verify
from hookport.errors import ConfigError, ForbiddenError, VerificationError
from hookport.types import Verifier

from .cases import DISCORD_PRIVATE, PASSWORD, PLAIN, TOKEN_VALUE, VERIFIERS, WHSEC, WHSK
from .conftest import NOW, signed

BODY = json.dumps({"type": "thing.happened", "id": "evt_9", "action": "opened"}).encode()
NAMES = sorted(VERIFIERS)


@pytest.mark.parametrize("name", NAMES)
def test_sign_then_verify(name: str) -> None:
    verifier, _ = VERIFIERS[name]
    verifier.verify(signed(verifier, BODY, event_type="push"), NOW)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("ip_allow",)])
def test_signature_does_not_cover_another_body(name: str) -> None:
    verifier, _ = VERIFIERS[name]
    req = signed(verifier, BODY)
    req.body = BODY + b" "
    if name in ("basic", "token", "token_bearer", "token_query", "gitlab_token"):
        verifier.verify(req, NOW)  # credentials, not signatures: the body is not covered
        return
    with pytest.raises(VerificationError):
        verifier.verify(req, NOW)


@pytest.mark.parametrize("name", ["github", "gitea", "bitbucket", "shopify", "gitlab"])
def test_signer_puts_event_type_where_provider_carries_it(name: str) -> None:
    verifier, _ = VERIFIERS[name]
    body = json.dumps({"object_kind": "push"}).encode() if name == "gitlab" else b"{}"
    result = verifier.verify(signed(verifier, body, event_type="push"), NOW)
    assert result.event_type == "push"
    assert result.delivery_id


def test_github_signer_splits_action_off_the_event() -> None:
    verifier = verify.github(secret=PLAIN)
    req = signed(verifier, b'{"action":"opened"}', event_type="issues.opened")
    assert req.headers.get("X-GitHub-Event") == "issues"
    assert verifier.verify(req, NOW).event_type == "issues.opened"


def test_signers_give_fresh_delivery_ids() -> None:
    verifier = verify.github(secret=PLAIN)
    first = verifier.verify(signed(verifier, BODY), NOW).delivery_id
    assert first != verifier.verify(signed(verifier, BODY), NOW).delivery_id


def test_twilio_json_body_is_signed_through_body_sha256() -> None:
    verifier = verify.twilio(auth_token=PLAIN)
    req = signed(verifier, BODY, headers={"Content-Type": "application/json"})
    assert "bodySHA256=" in req.url
    verifier.verify(req, NOW)


def test_twilio_form_body_is_signed_through_params() -> None:
    verifier = verify.twilio(auth_token=PLAIN)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    req = signed(verifier, b"Body=hi&From=%2B1555", headers=form, url="https://x.test/sms?a=1")
    assert "bodySHA256" not in req.url
    verifier.verify(req, NOW)


def test_token_query_only_signs_into_the_query() -> None:
    verifier = verify.token(TOKEN_VALUE, header=None)
    out = verifier.sign(b"", url="https://x.test/h", now=NOW)
    assert out.query == {"access_token": TOKEN_VALUE}
    assert out.headers == {}


def test_ip_allow_signs_nothing() -> None:
    out = verify.ip_allow("10.0.0.0/8").sign(b"", url="", now=NOW)
    assert out.headers == {} and out.query == {}


def test_all_of_merges_every_signer() -> None:
    verifier = verify.all_of(verify.github(secret=PLAIN), verify.basic({"ci": PASSWORD}))
    out = verifier.sign(b"x", url="", now=NOW)
    assert "X-Hub-Signature-256" in out.headers and "Authorization" in out.headers


def test_any_of_signs_with_the_first() -> None:
    verifier = verify.any_of(verify.token(TOKEN_VALUE), verify.github(secret=PLAIN))
    assert set(verifier.sign(b"x", url="", now=NOW).headers) == {"X-Hook-Token"}


@pytest.mark.parametrize(
    ("scheme", "secrets"),
    [
        ("github", [PLAIN]),
        ("gitlab", [PLAIN]),
        ("gitlab", [WHSEC]),
        ("gitea", [PLAIN]),
        ("bitbucket", [PLAIN]),
        ("stripe", ["whsec_x"]),
        ("slack", [PLAIN]),
        ("standard", [WHSEC]),
        ("standard", [WHSK]),
        ("svix", [WHSEC]),
        ("shopify", [PLAIN]),
        ("twilio", [PLAIN]),
        ("discord", [DISCORD_PRIVATE]),
        ("hmac", [PLAIN]),
        ("basic", [f"ci:{PASSWORD}"]),
        ("token", [TOKEN_VALUE]),
    ],
)
def test_for_scheme_round_trip(scheme: str, secrets: list[str]) -> None:
    verifier: Verifier = verify.for_scheme(scheme, secrets)
    assert scheme in verify.SCHEMES
    verifier.verify(signed(verifier, BODY), NOW)


def test_for_scheme_covers_every_scheme() -> None:
    assert set(verify.SCHEMES) == {
        "github", "gitlab", "gitea", "bitbucket", "stripe", "slack", "standard", "svix",
        "shopify", "twilio", "discord", "hmac", "basic", "token",
    }  # fmt: skip


@pytest.mark.parametrize(("scheme", "secrets"), [("nope", ["x"]), ("github", [])])
def test_for_scheme_refuses_unknown_or_missing(scheme: str, secrets: list[str]) -> None:
    with pytest.raises(ConfigError):
        verify.for_scheme(scheme, secrets)


def test_signing_with_a_public_key_only_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        verify.discord(public_key="00" * 32).sign(b"", url="", now=NOW)


def test_ip_allow_in_all_of_answers_403_first() -> None:
    verifier, _ = VERIFIERS["all_of"]
    with pytest.raises(ForbiddenError):
        verifier.verify(signed(verifier, BODY, client="198.51.100.1"), NOW)

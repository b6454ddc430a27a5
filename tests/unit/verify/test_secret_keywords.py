"""DESIGN §8: every verifier takes ``secret=`` / ``secret_env=``; the provider's word is an alias."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hookport import verify
from hookport.errors import ConfigError, VerificationError
from hookport.types import Verifier

from .cases import DISCORD_PRIVATE, DISCORD_PUBLIC, PLAIN, WHSEC
from .conftest import NOW, request, signed

BODY = b'{"type":"a","object_kind":"push"}'
OTHER = "a-different-secret"
# well-formed keys that are not the signer's, for the schemes whose secrets are keys
OTHER_WHSEC = "whsec_" + base64.b64encode(b"another-standard-key-000000000000").decode()
OTHER_PUBLIC = (
    Ed25519PrivateKey.from_private_bytes(bytes(32))
    .public_key()
    .public_bytes(Encoding.Raw, PublicFormat.Raw)
    .hex()
)
OTHERS = {"standard": OTHER_WHSEC, "svix": OTHER_WHSEC, "discord": OTHER_PUBLIC}

# name -> (factory, the secret the verifier holds, a signer that signs with that secret)
CASES: dict[str, tuple[Callable[..., Verifier], str, Verifier]] = {
    "github": (verify.github, PLAIN, verify.github(secret=PLAIN)),
    "gitlab": (verify.gitlab, PLAIN, verify.gitlab(token=PLAIN)),
    "gitea": (verify.gitea, PLAIN, verify.gitea(secret=PLAIN)),
    "bitbucket": (verify.bitbucket, PLAIN, verify.bitbucket(secret=PLAIN)),
    "stripe": (verify.stripe, PLAIN, verify.stripe(secret=PLAIN)),
    "slack": (verify.slack, PLAIN, verify.slack(signing_secret=PLAIN)),
    "standard": (verify.standard, WHSEC, verify.standard(secret=WHSEC)),
    "svix": (verify.svix, WHSEC, verify.svix(secret=WHSEC)),
    "shopify": (verify.shopify, PLAIN, verify.shopify(secret=PLAIN)),
    "twilio": (verify.twilio, PLAIN, verify.twilio(auth_token=PLAIN)),
    "discord": (verify.discord, DISCORD_PUBLIC, verify.discord(private_key=DISCORD_PRIVATE)),
    "hmac": (
        lambda **kw: verify.hmac(header="X-Sig", **kw),
        PLAIN,
        verify.hmac(PLAIN, header="X-Sig"),
    ),
    "token": (verify.token, PLAIN, verify.token(tokens=PLAIN)),
}
NAMES = sorted(CASES)

# name -> the provider's own word for ``secret`` (each is an alias)
ALIASES = {
    "gitlab": "token",
    "slack": "signing_secret",
    "twilio": "auth_token",
    "discord": "public_key",
    "token": "tokens",
}


@pytest.mark.parametrize("name", NAMES)
def test_secret_env_is_accepted_and_verifies(name: str) -> None:
    factory, secret, signer = CASES[name]
    declared = factory(secret_env="HOOK_SECRET")
    with pytest.raises(ConfigError, match="HOOK_SECRET"):
        declared.resolve({})
    resolved = declared.resolve({"HOOK_SECRET": secret})
    resolved.verify(signed(signer, BODY), NOW)


@pytest.mark.parametrize("name", NAMES)
def test_secret_env_list_rotates(name: str) -> None:
    factory, secret, signer = CASES[name]
    old = OTHERS.get(name, OTHER)
    resolved = factory(secret_env=["OLD", "NEW"]).resolve({"OLD": old, "NEW": secret})
    resolved.verify(signed(signer, BODY), NOW)


@pytest.mark.parametrize("name", NAMES)
def test_secret_literal_is_accepted_and_verifies(name: str) -> None:
    factory, secret, signer = CASES[name]
    factory(secret=secret).verify(signed(signer, BODY), NOW)
    factory(secret=[OTHERS.get(name, OTHER), secret]).verify(signed(signer, BODY), NOW)


@pytest.mark.parametrize("name", NAMES)
def test_a_request_signed_with_another_secret_fails(name: str) -> None:
    factory, _, signer = CASES[name]
    with pytest.raises(VerificationError):
        factory(secret_env="S").resolve({"S": OTHERS.get(name, OTHER)}).verify(
            signed(signer, BODY), NOW
        )


@pytest.mark.parametrize("name", sorted(ALIASES))
def test_the_alias_means_the_same_setting(name: str) -> None:
    factory, secret, signer = CASES[name]
    word = ALIASES[name]
    via_secret = factory(secret_env="S").resolve({"S": secret})
    via_alias = factory(**{f"{word}_env": "S"}).resolve({"S": secret})
    assert repr(via_secret) == repr(via_alias)
    factory(**{word: secret}).verify(signed(signer, BODY), NOW)


@pytest.mark.parametrize("name", sorted(ALIASES))
@pytest.mark.parametrize("suffix", ["", "_env"])
def test_secret_and_its_alias_together_is_a_config_error(name: str, suffix: str) -> None:
    factory, secret, _ = CASES[name]
    word = ALIASES[name]
    given: dict[str, Any] = {f"secret{suffix}": secret, f"{word}{suffix}": secret}
    with pytest.raises(ConfigError) as info:
        factory(**given)
    message = str(info.value)
    assert f"secret{suffix}=" in message and f"{word}{suffix}=" in message
    assert secret not in message


def test_gitlab_secret_is_the_token_and_signing_secret_stays_separate() -> None:
    both = verify.gitlab(secret=PLAIN, signing_secret=WHSEC)
    req = signed(both, BODY)
    assert req.headers.get("X-Gitlab-Token") == PLAIN
    assert req.headers.get("webhook-signature")
    both.verify(req, NOW)
    # the token alone does not satisfy a verifier that also requires the signature
    with pytest.raises(VerificationError):
        both.verify(signed(verify.gitlab(secret=PLAIN), BODY), NOW)
    # secret= and signing_secret= are two settings, not a secret and its alias
    assert verify.gitlab(secret_env="T", signing_secret_env="S") is not None


def test_token_secret_takes_named_tokens() -> None:
    resolved = verify.token(secret_env={"ci": "CI_TOKEN"}).resolve({"CI_TOKEN": "abc"})
    assert resolved.verify(request(b"", {"X-Hook-Token": "abc"}), NOW).sender == "ci"
    assert (
        verify.token(secret={"ops": "xyz"})
        .verify(request(b"", {"X-Hook-Token": "xyz"}), NOW)
        .sender
        == "ops"
    )

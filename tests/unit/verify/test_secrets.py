"""Secrets: rotation, environment resolution, startup errors, and never showing them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hookport import verify
from hookport.errors import ConfigError, VerificationError
from hookport.types import Verifier

from .cases import VERIFIERS
from .conftest import NOW, request, signed

OLD, NEW, STRANGER = "old-secret-1", "new-secret-2", "stranger-3"
BODY = b'{"type":"a"}'

# factory(secret-ish keyword) for every scheme that takes plain string secrets
PLAIN_FACTORIES: dict[str, Callable[..., Verifier]] = {
    "github": lambda s=None, env=None: verify.github(secret=s, secret_env=env),
    "gitlab": lambda s=None, env=None: verify.gitlab(token=s, token_env=env),
    "gitea": lambda s=None, env=None: verify.gitea(secret=s, secret_env=env),
    "bitbucket": lambda s=None, env=None: verify.bitbucket(secret=s, secret_env=env),
    "stripe": lambda s=None, env=None: verify.stripe(secret=s, secret_env=env),
    "slack": lambda s=None, env=None: verify.slack(signing_secret=s, signing_secret_env=env),
    "shopify": lambda s=None, env=None: verify.shopify(secret=s, secret_env=env),
    "twilio": lambda s=None, env=None: verify.twilio(auth_token=s, auth_token_env=env),
    "hmac": lambda s=None, env=None: verify.hmac(secret=s, secret_env=env, header="X-Sig"),
    "token": lambda s=None, env=None: verify.token(s, tokens_env=env),
}
NAMES = sorted(PLAIN_FACTORIES)


@pytest.mark.parametrize("name", NAMES)
def test_rotation_accepts_old_and_new(name: str) -> None:
    factory = PLAIN_FACTORIES[name]
    both = factory([OLD, NEW])
    for secret in (OLD, NEW):
        both.verify(signed(factory(secret), BODY), NOW)
    with pytest.raises(VerificationError):
        both.verify(signed(factory(STRANGER), BODY), NOW)


@pytest.mark.parametrize("name", NAMES)
def test_env_secret_is_read_only_by_resolve(name: str) -> None:
    factory = PLAIN_FACTORIES[name]
    declared = factory(env=["A", "B"])
    with pytest.raises(ConfigError, match="resolve"):
        declared.verify(request(BODY), NOW)
    resolved = declared.resolve({"A": OLD, "B": NEW})
    resolved.verify(signed(factory(NEW), BODY), NOW)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("environ", [{}, {"MY_SECRET": ""}, {"MY_SECRET": "   "}])
def test_resolve_names_the_missing_variable(name: str, environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="MY_SECRET"):
        PLAIN_FACTORIES[name](env="MY_SECRET").resolve(environ)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", ["", [""], ["ok", ""]])
def test_empty_literal_secret_is_a_config_error(name: str, bad: Any) -> None:
    with pytest.raises(ConfigError):
        PLAIN_FACTORIES[name](bad)


@pytest.mark.parametrize("name", NAMES)
def test_no_secret_at_all_is_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError):
        PLAIN_FACTORIES[name]()


@pytest.mark.parametrize("name", sorted(VERIFIERS))
def test_repr_hides_secrets(name: str) -> None:
    verifier, secrets = VERIFIERS[name]
    for secret in secrets:
        assert secret not in repr(verifier)
        assert secret not in str(verifier)


def test_repr_shows_env_names_not_values() -> None:
    resolved = verify.github(secret_env="GH").resolve({"GH": "value-xyz"})
    assert "value-xyz" not in repr(resolved)
    assert "GH" in repr(verify.github(secret_env="GH"))


def test_resolve_error_never_contains_other_values() -> None:
    with pytest.raises(ConfigError) as info:
        verify.github(secret_env=["A", "B"]).resolve({"A": "value-of-a"})
    assert "B" in str(info.value) and "value-of-a" not in str(info.value)


@pytest.mark.parametrize(
    "build",
    [
        lambda: verify.standard(secret="whsec_not base64!"),
        lambda: verify.standard(public_key="whpk_AAAA"),
        lambda: verify.standard(private_key="whsk_AAAA"),
        verify.standard,
        lambda: verify.discord(public_key="zz"),
        lambda: verify.discord(public_key="00" * 31),
        verify.discord,
        verify.gitlab,
        lambda: verify.gitlab(signing_secret="whsec_!!"),
        lambda: verify.hmac(secret="s", header="X", algorithm="md5"),  # type: ignore[arg-type]
        lambda: verify.hmac(secret="s", header="X", encoding="b32"),  # type: ignore[arg-type]
        lambda: verify.hmac(secret="s", header="X", template="{timestamp}"),
        lambda: verify.hmac(secret="s", header="X", template="{timestamp}.{body}"),
        lambda: verify.hmac(secret="s", header="X", template="{body}{body}"),
        lambda: verify.hmac(secret="s", header="X", template="{nope}{body}"),
        lambda: verify.hmac(secret="s", header="X", template="{body"),
        lambda: verify.hmac(secret="s", header=""),
        lambda: verify.stripe(secret="s", tolerance=0),
        lambda: verify.basic({}),
        lambda: verify.basic({"a:b": "c"}),
        lambda: verify.basic({"a": ""}),
        lambda: verify.basic({"a": "b"}, realm='x"y'),
        lambda: verify.token({"ci": ""}),
        lambda: verify.token("t", header=None, query=None),
        lambda: verify.ip_allow([]),
        lambda: verify.ip_allow("10.0.0.300/8"),
        verify.all_of,
        verify.any_of,
    ],
)
def test_bad_declarations_are_config_errors(build: Callable[[], object]) -> None:
    with pytest.raises(ConfigError):
        build()


def test_standard_env_key_is_validated_at_resolve() -> None:
    declared = verify.standard(secret_env="SW")
    with pytest.raises(ConfigError, match="base64"):
        declared.resolve({"SW": "whsec_***"}).verify(request(BODY), NOW)


def test_basic_credentials_env() -> None:
    declared = verify.basic(credentials_env=["CREDS"])
    with pytest.raises(ConfigError):
        declared.resolve({"CREDS": "no-colon"})
    resolved = declared.resolve({"CREDS": "deploy:pa:ss"})
    req = signed(verify.basic({"deploy": "pa:ss"}), b"")
    assert resolved.verify(req, NOW).sender == "deploy"


def test_token_env_mapping_gives_names() -> None:
    resolved = verify.token(tokens_env={"ci": "CI_TOKEN"}).resolve({"CI_TOKEN": "abc"})
    assert resolved.verify(request(b"", {"X-Hook-Token": "abc"}), NOW).sender == "ci"


def test_combinators_resolve_their_parts() -> None:
    declared = verify.any_of(verify.github(secret_env="GH"), verify.token(tokens_env="TOK"))
    resolved = declared.resolve({"GH": "g", "TOK": "t"})
    assert resolved.verify(request(b"", {"X-Hook-Token": "t"}), NOW) is not None
    with pytest.raises(ConfigError):
        declared.resolve({"GH": "g"})


# --- timestamp tolerance: past AND future, with the injected clock ---------------------------

TIMED = ["stripe", "slack", "standard", "svix", "discord", "hmac", "gitlab"]


@pytest.mark.parametrize("name", TIMED)
@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_inside_tolerance_passes(name: str, skew: int) -> None:
    verifier, _ = VERIFIERS[name]
    verifier.verify(signed(verifier, BODY, now=NOW + skew), NOW)


@pytest.mark.parametrize("name", TIMED)
@pytest.mark.parametrize(
    ("skew", "word"), [(-301, "too old"), (301, "future"), (-(10**9), "too old")]
)
def test_outside_tolerance_fails_both_ways(name: str, skew: int, word: str) -> None:
    verifier, _ = VERIFIERS[name]
    with pytest.raises(VerificationError, match=word):
        verifier.verify(signed(verifier, BODY, now=NOW + skew), NOW)


def test_custom_tolerance() -> None:
    verifier = verify.stripe(secret="whsec_x", tolerance=10)
    verifier.verify(signed(verifier, BODY, now=NOW - 10), NOW)
    with pytest.raises(VerificationError):
        verifier.verify(signed(verifier, BODY, now=NOW - 11), NOW)


@pytest.mark.parametrize("name", ["github", "gitea", "bitbucket", "shopify", "twilio"])
def test_untimed_schemes_ignore_the_clock(name: str) -> None:
    verifier, _ = VERIFIERS[name]
    verifier.verify(signed(verifier, BODY, now=0), NOW)

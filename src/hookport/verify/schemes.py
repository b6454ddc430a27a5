"""Verifiers by scheme name, for ``hookport sign --scheme NAME`` and ``hookport send``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hookport.errors import ConfigError
from hookport.types import Verifier
from hookport.verify.auth import split_credential
from hookport.verify.factories import (
    basic,
    bitbucket,
    discord,
    gitea,
    github,
    gitlab,
    hmac,
    shopify,
    slack,
    standard,
    stripe,
    svix,
    token,
    twilio,
)

SCHEMES: tuple[str, ...] = (
    "github",
    "gitlab",
    "gitea",
    "bitbucket",
    "stripe",
    "slack",
    "standard",
    "svix",
    "shopify",
    "twilio",
    "discord",
    "hmac",
    "basic",
    "token",
)
"""Scheme names :func:`for_scheme` accepts (``hookport sign --scheme NAME``)."""


def _split_prefixed(secrets: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"secret": [], "public_key": [], "private_key": []}
    for value in secrets:
        kind = {"whsk_": "private_key", "whpk_": "public_key"}.get(value[:5], "secret")
        out[kind].append(value)
    return out


def for_scheme(name: str, secrets: Sequence[str], **options: Any) -> Verifier:
    """A verifier for ``hookport sign --scheme NAME --secret S``.

    ``secrets`` are what the scheme calls its secret: GitLab ``whsec_`` values are signing
    tokens (others are secret tokens); Standard Webhooks / Svix tell ``whsec_``, ``whpk_`` and
    ``whsk_`` apart by prefix; Discord takes the hex private key seed; basic takes
    ``user:password``; token takes the tokens. ``options`` go to the factory.
    """
    if name not in SCHEMES:
        raise ConfigError(f"unknown scheme {name!r}; choose one of {', '.join(SCHEMES)}")
    if not secrets:
        raise ConfigError(f"scheme {name!r} needs at least one secret")
    values = list(secrets)
    if name == "gitlab":
        signing = [v for v in values if v.startswith("whsec_")]
        plain = [v for v in values if not v.startswith("whsec_")]
        return gitlab(token=plain or None, signing_secret=signing or None, **options)
    if name in ("standard", "svix"):
        keyed = {key: items or None for key, items in _split_prefixed(values).items()}
        factory = standard if name == "standard" else svix
        return factory(
            secret=keyed["secret"],
            public_key=keyed["public_key"],
            private_key=keyed["private_key"],
            **options,
        )
    if name == "basic":
        pairs = dict(split_credential(v, "basic secret") for v in values)
        return basic(pairs, **options)
    if name == "hmac":
        options.setdefault("header", "X-Signature")
    factory_of: Callable[..., Verifier] = _SIMPLE[name]
    return factory_of(values, **options)


def _discord_signer(values: list[str], **options: Any) -> Verifier:
    return discord(private_key=values, **options)


_SIMPLE: dict[str, Callable[..., Verifier]] = {
    "github": github,
    "gitea": gitea,
    "bitbucket": bitbucket,
    "stripe": stripe,
    "slack": slack,
    "shopify": shopify,
    "twilio": twilio,
    "discord": _discord_signer,
    "hmac": hmac,
    "token": token,
}

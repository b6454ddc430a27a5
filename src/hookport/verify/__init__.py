"""Verification of incoming webhooks: one factory per provider, plus generic building blocks.

Each factory returns a frozen verifier satisfying :class:`hookport.types.Verifier`: it checks a
request (``verify(request, now)``, pure over the raw body, the headers and the injected clock)
and signs one (``sign(...)``, used by ``hookport send``, ``hookport sign`` and tests).

Secrets are given literally (``secret="..."``, or ``secret=["old", "new"]`` while rotating) or
by environment variable name (``secret_env="NAME"`` or a list of names), read only when the app
is assembled (``resolve(environ)``). Declaring a verifier reads nothing; an empty secret is a
``ConfigError``; secrets never appear in ``repr`` or in error messages.

.. versionadded:: 0.1
"""

from __future__ import annotations

from hookport.verify.factories import (
    all_of,
    any_of,
    basic,
    bitbucket,
    discord,
    gitea,
    github,
    gitlab,
    hmac,
    ip_allow,
    shopify,
    slack,
    standard,
    stripe,
    svix,
    token,
    twilio,
)
from hookport.verify.schemes import SCHEMES, for_scheme

__all__ = [
    "SCHEMES",
    "all_of",
    "any_of",
    "basic",
    "bitbucket",
    "discord",
    "for_scheme",
    "gitea",
    "github",
    "gitlab",
    "hmac",
    "ip_allow",
    "shopify",
    "slack",
    "standard",
    "stripe",
    "svix",
    "token",
    "twilio",
]

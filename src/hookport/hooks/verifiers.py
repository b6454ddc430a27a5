"""hookport's verifiers in hooks: ``verify`` tables, as a native hook's key and as a rule.

``{"verify": {"scheme": "stripe", "secret_env": "STRIPE_SECRET"}}`` (JSON/YAML) or
``verify = { scheme = "stripe", secret_env = "STRIPE_SECRET" }`` (TOML) names a verifier of
:mod:`hookport.verify.factories`; the other keys are its arguments. As a node of a
``trigger-rule`` it matches when the verifier accepts the request; a refusal is a signature
failure (a 500 as adnanh answers a bad ``payload-hmac-*``, or false inside ``or`` with
``trigger-signature-soft-failures``). Secrets are read when the file is loaded
(:func:`resolve_hook`): a missing one fails the load, naming the hook.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookport.errors import ConfigError
from hookport.types import Verifier
from hookport.verify import factories

__all__ = ["SCHEMES", "VerifyRule", "build_verifier"]

SCHEMES = frozenset({
    "github", "gitlab", "gitea", "bitbucket", "stripe", "slack", "standard", "svix", "shopify",
    "twilio", "discord", "hmac", "basic", "token", "ip_allow",
})  # fmt: skip


@dataclass(frozen=True, eq=False)
class VerifyRule:
    """A ``verify`` rule node: the table as written (``hooks convert`` writes it back) and the
    verifier it builds (secrets read by :func:`resolve_hook`)."""

    spec: Mapping[str, Any]
    verifier: Verifier


def build_verifier(value: Any, where: str) -> Verifier:
    """The verifier a ``verify`` table names; ``ConfigError`` naming ``where``."""
    if not isinstance(value, Mapping) or not isinstance(value.get("scheme"), str):
        raise ConfigError(f"{where}: expected a table with a scheme, e.g. "
                          '{scheme = "github", secret_env = "GITHUB_SECRET"}')  # fmt: skip
    options = {str(k).replace("-", "_"): v for k, v in value.items() if k != "scheme"}
    scheme = value["scheme"]
    if scheme not in SCHEMES:
        raise ConfigError(f"{where}: unknown scheme {scheme!r}; one of "
                          + ", ".join(sorted(SCHEMES)))  # fmt: skip
    try:
        verifier: Verifier = getattr(factories, scheme)(**options)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}".replace("() ", " ")) from None
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return verifier


def parse_verify_rule(value: Any, where: str) -> VerifyRule:
    """A ``verify`` rule node, its secrets not read yet."""
    return VerifyRule(dict(value) if isinstance(value, Mapping) else {},
                      build_verifier(value, where))  # fmt: skip


def resolve_rules(rules: Any, environ: Mapping[str, str], where: str) -> Any:
    """``rules`` (a :class:`~hookport.hooks.model.Rules`) with every ``verify`` node's secrets
    read from ``environ``."""
    if rules is None:
        return None
    changes: dict[str, Any] = {}
    if rules.and_ is not None:
        changes["and_"] = tuple(resolve_rules(r, environ, where) for r in rules.and_)
    if rules.or_ is not None:
        changes["or_"] = tuple(resolve_rules(r, environ, where) for r in rules.or_)
    if rules.not_ is not None:
        changes["not_"] = resolve_rules(rules.not_, environ, where)
    if rules.verify is not None:
        try:
            verifier = rules.verify.verifier.resolve(environ)
        except ConfigError as exc:
            raise ConfigError(f"{where} verify: {exc}") from None
        changes["verify"] = VerifyRule(rules.verify.spec, verifier)
    return dataclasses.replace(rules, **changes) if changes else rules


def resolve_hook(hook: Any, environ: Mapping[str, str]) -> Any:
    """``hook`` with the secrets of its ``trigger-rule``'s ``verify`` nodes read."""
    if hook.trigger_rule is None:
        return hook
    rules = resolve_rules(hook.trigger_rule, environ, f"hook {hook.id!r} trigger-rule")
    return hook if rules is hook.trigger_rule else dataclasses.replace(hook, trigger_rule=rules)

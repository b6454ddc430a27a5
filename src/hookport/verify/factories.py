"""The public verifier factories, re-exported by :mod:`hookport.verify` (documented there).

Each factory validates its declaration (a ``ConfigError`` names the problem) and returns a
frozen verifier; declaring reads no environment variable.

Every factory that takes a secret takes ``secret=`` / ``secret_env=``; where the provider has
its own word for it (Slack ``signing_secret``, GitLab ``token``, Twilio ``auth_token``, Discord
``public_key``, ``token``'s ``tokens``), that word is an alias, and giving a keyword together
with its alias is a ``ConfigError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from hookport.errors import ConfigError
from hookport.types import Verifier
from hookport.verify import _hmac
from hookport.verify.auth import (
    BasicVerifier,
    IpAllowVerifier,
    Pair,
    TokenVerifier,
    parse_network,
    split_credential,
)
from hookport.verify.base import SecretInput, Secrets
from hookport.verify.bitbucket import BitbucketVerifier
from hookport.verify.combinators import AllOf, AnyOf
from hookport.verify.discord import DiscordVerifier
from hookport.verify.generic import HmacVerifier
from hookport.verify.gitea import GiteaVerifier
from hookport.verify.github import GitHubVerifier
from hookport.verify.gitlab import GitLabVerifier
from hookport.verify.shopify import ShopifyVerifier
from hookport.verify.slack import SlackVerifier
from hookport.verify.standard import StandardVerifier
from hookport.verify.stripe import StripeVerifier
from hookport.verify.twilio import TwilioVerifier

TokenInput = str | Sequence[str] | Mapping[str, str] | None


def _tolerance(value: float) -> float:
    if not value > 0:
        raise ConfigError("tolerance must be a positive number of seconds")
    return float(value)


def _secret(value: SecretInput, env: SecretInput, label: str = "secret") -> Secrets:
    return Secrets.declare(value, env, label=label)


def _one_of(where: str, **spellings: object) -> None:
    """Refuse one setting given under two names (``secret=`` and its alias)."""
    given = [f"{name}=" for name, value in spellings.items() if value is not None]
    if len(given) > 1:
        raise ConfigError(f"{where}: pass {' or '.join(given)}, not both (they are the same)")


def github(
    secret: SecretInput = None, *, secret_env: SecretInput = None, allow_sha1: bool = False
) -> GitHubVerifier:
    """GitHub (``X-Hub-Signature-256``); SHA-1 ``X-Hub-Signature`` only with ``allow_sha1``.

    :param secret: the webhook's secret (a list while rotating: any one of them passes).
    :param secret_env: the environment variable (or ``[secrets]`` name) holding it instead.
    :param allow_sha1: also accept the legacy SHA-1 signature when SHA-256 is absent.

    Event type ``X-GitHub-Event`` plus the body's ``action`` (``issues.opened``); delivery id
    ``X-GitHub-Delivery``.
    """
    return GitHubVerifier(secret=_secret(secret, secret_env), allow_sha1=allow_sha1)


def gitlab(
    secret: SecretInput = None,
    *,
    secret_env: SecretInput = None,
    token: SecretInput = None,
    token_env: SecretInput = None,
    signing_secret: SecretInput = None,
    signing_secret_env: SecretInput = None,
    tolerance: float = 300,
) -> GitLabVerifier:
    """GitLab: the ``X-Gitlab-Token`` secret token and/or the ``whsec_`` signing token.

    ``secret`` / ``secret_env`` (alias ``token`` / ``token_env``) is the secret token;
    ``signing_secret`` / ``signing_secret_env`` is the signing token.
    """
    _one_of("gitlab", secret=secret, token=token)
    _one_of("gitlab", secret_env=secret_env, token_env=token_env)
    value = token if secret is None else secret
    env = token_env if secret_env is None else secret_env
    tokens = Secrets.declare(value, env, label="token", required=False)
    signing = Secrets.declare(
        signing_secret, signing_secret_env, label="signing_secret", required=False
    )
    if not tokens.configured and not signing.configured:
        raise ConfigError("gitlab needs secret= / secret_env= (the token) or signing_secret=")
    return GitLabVerifier(token=tokens, signing_secret=signing, tolerance=_tolerance(tolerance))


def gitea(secret: SecretInput = None, *, secret_env: SecretInput = None) -> GiteaVerifier:
    """Gitea / Forgejo (``X-Gitea-Signature`` / ``X-Forgejo-Signature``)."""
    return GiteaVerifier(secret=_secret(secret, secret_env))


def bitbucket(secret: SecretInput = None, *, secret_env: SecretInput = None) -> BitbucketVerifier:
    """Bitbucket Cloud and Server (``X-Hub-Signature: sha256=...``)."""
    return BitbucketVerifier(secret=_secret(secret, secret_env))


def stripe(
    secret: SecretInput = None, *, secret_env: SecretInput = None, tolerance: float = 300
) -> StripeVerifier:
    """Stripe (``Stripe-Signature``) with its ``whsec_...`` endpoint secret.

    :param secret: the endpoint's signing secret (a list while rotating).
    :param secret_env: the environment variable holding it instead.
    :param tolerance: seconds the signed timestamp may be off, past or future.

    Event type: the body's ``type``; delivery id: the body's ``id``.
    """
    return StripeVerifier(secret=_secret(secret, secret_env), tolerance=_tolerance(tolerance))


def slack(
    secret: SecretInput = None,
    *,
    secret_env: SecretInput = None,
    signing_secret: SecretInput = None,
    signing_secret_env: SecretInput = None,
    tolerance: float = 300,
    answer_challenge: bool = True,
) -> SlackVerifier:
    """Slack (``X-Slack-Signature`` v0); answers the ``url_verification`` challenge.

    ``secret`` / ``secret_env`` is the app's signing secret (alias ``signing_secret``).
    """
    _one_of("slack", secret=secret, signing_secret=signing_secret)
    _one_of("slack", secret_env=secret_env, signing_secret_env=signing_secret_env)
    value = signing_secret if secret is None else secret
    env = signing_secret_env if secret_env is None else secret_env
    return SlackVerifier(
        secret=_secret(value, env, "signing_secret"),
        tolerance=_tolerance(tolerance),
        answer_challenge=answer_challenge,
    )


def _standard(
    flavour: str,
    secret: SecretInput,
    secret_env: SecretInput,
    keys: Mapping[str, SecretInput],
    tolerance: float,
) -> StandardVerifier:
    symmetric = Secrets.declare(secret, secret_env, label="secret", required=False)
    public = Secrets.declare(
        keys["public_key"], keys["public_key_env"], label="public_key", required=False
    )
    private = Secrets.declare(
        keys["private_key"], keys["private_key_env"], label="private_key", required=False
    )
    if not (symmetric.configured or public.configured or private.configured):
        raise ConfigError(f"{flavour} needs secret=, public_key= or private_key=")
    return StandardVerifier(
        secret=symmetric,
        public_key=public,
        private_key=private,
        tolerance=_tolerance(tolerance),
        flavour="svix" if flavour == "svix" else "standard",
    )


def standard(
    secret: SecretInput = None,
    *,
    secret_env: SecretInput = None,
    public_key: SecretInput = None,
    public_key_env: SecretInput = None,
    private_key: SecretInput = None,
    private_key_env: SecretInput = None,
    tolerance: float = 300,
) -> StandardVerifier:
    """Standard Webhooks: ``whsec_`` secrets (``v1``) and/or ``whpk_`` public keys (``v1a``).

    ``private_key`` (``whsk_...``) verifies with its public half and lets the verifier sign
    ``v1a`` (for tests and ``hookport send``). Svix's ``svix-*`` headers are accepted too.
    """
    keys = {
        "public_key": public_key,
        "public_key_env": public_key_env,
        "private_key": private_key,
        "private_key_env": private_key_env,
    }
    return _standard("standard", secret, secret_env, keys, tolerance)


def svix(
    secret: SecretInput = None,
    *,
    secret_env: SecretInput = None,
    public_key: SecretInput = None,
    public_key_env: SecretInput = None,
    private_key: SecretInput = None,
    private_key_env: SecretInput = None,
    tolerance: float = 300,
) -> StandardVerifier:
    """Svix: Standard Webhooks under the ``svix-id/-timestamp/-signature`` headers."""
    keys = {
        "public_key": public_key,
        "public_key_env": public_key_env,
        "private_key": private_key,
        "private_key_env": private_key_env,
    }
    return _standard("svix", secret, secret_env, keys, tolerance)


def shopify(secret: SecretInput = None, *, secret_env: SecretInput = None) -> ShopifyVerifier:
    """Shopify (``X-Shopify-Hmac-Sha256``) with the app's client secret."""
    return ShopifyVerifier(secret=_secret(secret, secret_env))


def twilio(
    secret: SecretInput = None,
    *,
    secret_env: SecretInput = None,
    auth_token: SecretInput = None,
    auth_token_env: SecretInput = None,
) -> TwilioVerifier:
    """Twilio (``X-Twilio-Signature``) with the account's auth token(s) (alias ``auth_token``)."""
    _one_of("twilio", secret=secret, auth_token=auth_token)
    _one_of("twilio", secret_env=secret_env, auth_token_env=auth_token_env)
    value = auth_token if secret is None else secret
    env = auth_token_env if secret_env is None else secret_env
    return TwilioVerifier(secret=_secret(value, env, "auth_token"))


def discord(
    secret: SecretInput = None,
    *,
    secret_env: SecretInput = None,
    public_key: SecretInput = None,
    public_key_env: SecretInput = None,
    private_key: SecretInput = None,
    private_key_env: SecretInput = None,
    tolerance: float = 300,
) -> DiscordVerifier:
    """Discord (Ed25519 ``X-Signature-Ed25519``) with the application's hex public key.

    ``secret`` / ``secret_env`` is that public key (alias ``public_key``). ``private_key``
    (hex seed) verifies with its public half and lets the verifier sign.
    """
    _one_of("discord", secret=secret, public_key=public_key)
    _one_of("discord", secret_env=secret_env, public_key_env=public_key_env)
    value = public_key if secret is None else secret
    env = public_key_env if secret_env is None else secret_env
    public = Secrets.declare(value, env, label="public_key", required=False)
    private = Secrets.declare(private_key, private_key_env, label="private_key", required=False)
    if not public.configured and not private.configured:
        raise ConfigError("discord needs public_key= (or private_key= for signing)")
    return DiscordVerifier(public_key=public, private_key=private, tolerance=_tolerance(tolerance))


def hmac(
    secret: SecretInput = None,
    *,
    secret_env: SecretInput = None,
    header: str,
    algorithm: _hmac.Algorithm = "sha256",
    encoding: _hmac.Encoding = "hex",
    prefix: str = "",
    timestamp_header: str | None = None,
    tolerance: float = 300,
    template: str = "{body}",
    event_type_header: str | None = None,
    delivery_id_header: str | None = None,
) -> HmacVerifier:
    """A generic HMAC signature: ``header: prefix + encode(HMAC(secret, template))``.

    :param secret: the shared secret (a list while rotating); or ``secret_env``.
    :param header: the header carrying the signature.
    :param algorithm: the hash: ``sha256``, ``sha1`` or ``sha512``.
    :param encoding: how the digest is written (``hex`` or ``base64``).
    :param prefix: text before the digest (``sha256=``).
    :param timestamp_header: a header with the signed Unix timestamp, checked against
        ``tolerance`` seconds.
    :param template: what is signed: ``{body}`` (required), ``{timestamp}``, ``{delivery_id}``;
        ``"{timestamp}.{body}"`` matches many providers.
    :param event_type_header: the header naming the event type.
    :param delivery_id_header: the header carrying the delivery id (the dedupe key).
    """
    return HmacVerifier(
        secret=_secret(secret, secret_env),
        header=header,
        algorithm=algorithm,
        encoding=encoding,
        prefix=prefix,
        timestamp_header=timestamp_header,
        tolerance=_tolerance(tolerance),
        template=template,
        event_type_header=event_type_header,
        delivery_id_header=delivery_id_header,
    )


def basic(
    credentials: Mapping[str, str] | None = None,
    *,
    credentials_env: SecretInput = None,
    realm: str = "hookport",
) -> BasicVerifier:
    """HTTP Basic: ``{user: password}`` and/or env variables holding ``user:password``.

    :param credentials: the accepted users and passwords.
    :param credentials_env: variable name(s) whose value is ``user:password``.
    :param realm: the realm of the ``WWW-Authenticate`` header every failure carries.

    The user becomes the event's ``sender``.
    """
    given = dict(credentials or {})
    if any(not isinstance(user, str) or ":" in user for user in given):
        raise ConfigError("basic: a user name must be text without ':'")
    pairs = tuple(
        split_credential(f"{user}:{password}", f"credentials[{user!r}]")
        for user, password in given.items()
    )
    names = Secrets.declare(None, credentials_env, label="credentials", required=False).env
    if not pairs and not names:
        raise ConfigError("basic needs credentials= or credentials_env=")
    return BasicVerifier(credentials=pairs, credentials_env=names, realm=realm)


def _pairs(value: TokenInput, label: str) -> tuple[Pair, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[Pair] = [(None, value)]
    elif isinstance(value, Mapping):
        items = [(str(name), text) for name, text in value.items()]
    else:
        items = [(None, text) for text in value]
    if any(not isinstance(text, str) or not text for _, text in items):
        raise ConfigError(f"{label} must be non-empty strings")
    return tuple(items)


def token(
    secret: TokenInput = None,
    *,
    secret_env: TokenInput = None,
    tokens: TokenInput = None,
    tokens_env: TokenInput = None,
    header: str | None = "X-Hook-Token",
    query: str | None = "access_token",
    scheme: str | None = None,
) -> TokenVerifier:
    """A shared token in ``header`` (``scheme="Bearer"`` expects ``Bearer <token>``) or ``query``.

    ``secret`` (alias ``tokens``) is one token, a list (rotation) or ``{name: token}``; a
    matched name becomes the event's ``sender``. ``secret_env`` (alias ``tokens_env``) names
    environment variables the same three ways. Use ``header="Authorization",
    scheme="Bearer"`` for bearer tokens; ``header=None`` or ``query=None`` disables that place.
    """
    _one_of("token", secret=secret, tokens=tokens)
    _one_of("token", secret_env=secret_env, tokens_env=tokens_env)
    value = tokens if secret is None else secret
    names = tokens_env if secret_env is None else secret_env
    literal = _pairs(value, "tokens")
    env = _pairs(names, "tokens_env")
    if not literal and not env:
        raise ConfigError("token needs tokens= or tokens_env=")
    return TokenVerifier(
        tokens=literal, tokens_env=env, header=header, query=query, auth_scheme=scheme
    )


def ip_allow(cidrs: str | Iterable[str]) -> IpAllowVerifier:
    """Client addresses allowed (403 otherwise); ``request.client`` is already proxy-resolved."""
    items = [cidrs] if isinstance(cidrs, str) else list(cidrs)
    if not items:
        raise ConfigError("ip_allow needs at least one CIDR")
    return IpAllowVerifier(tuple(parse_network(item) for item in items))


def all_of(*verifiers: Verifier) -> AllOf:
    """Every verifier must accept (e.g. a signature *and* an IP allow-list)."""
    return AllOf(verifiers)


def any_of(*verifiers: Verifier) -> AnyOf:
    """One verifier accepting is enough; 403 only if every failure was a 403."""
    return AnyOf(verifiers)

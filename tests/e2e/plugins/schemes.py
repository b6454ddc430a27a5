"""One receiver per verification scheme, secrets from the environment (see test_schemes.py)."""

from __future__ import annotations

from hookport import Event, Plugin, verify

plugin = Plugin("schemes")

VERIFIERS = {
    "github": verify.github(secret_env="S_GITHUB"),
    "gitlab": verify.gitlab(token_env="S_GITLAB"),
    "gitea": verify.gitea(secret_env="S_GITEA"),
    "bitbucket": verify.bitbucket(secret_env="S_BITBUCKET"),
    "stripe": verify.stripe(secret_env="S_STRIPE"),
    "slack": verify.slack(signing_secret_env="S_SLACK"),
    "standard": verify.standard(secret_env="S_STANDARD"),
    "svix": verify.svix(secret_env="S_SVIX"),
    "shopify": verify.shopify(secret_env="S_SHOPIFY"),
    "twilio": verify.twilio(auth_token_env="S_TWILIO"),
    "discord": verify.discord(private_key_env="S_DISCORD"),
    "hmac": verify.hmac(secret_env="S_HMAC", header="X-Signature"),
    "basic": verify.basic(credentials_env="S_BASIC"),
    "token": verify.token(tokens_env="S_TOKEN"),
}

for scheme, verifier in VERIFIERS.items():
    receiver = plugin.receiver(f"/s/{scheme}", verify=verifier, name=scheme)

    @receiver
    def handle(event: Event) -> None:
        return None

"""One configured instance of every verifier, with the secrets it holds (for leak checks)."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hookport import verify
from hookport.types import Verifier

SEED = bytes(range(1, 33))
DISCORD_PRIVATE = SEED.hex()
DISCORD_PUBLIC = (
    Ed25519PrivateKey.from_private_bytes(SEED)
    .public_key()
    .public_bytes(Encoding.Raw, PublicFormat.Raw)
).hex()
WHSEC = "whsec_" + base64.b64encode(b"super-secret-standard-key-0123456").decode()
WHSK = "whsk_" + base64.b64encode(SEED).decode()
PLAIN = "s3cret-Value-42"
TOKEN_VALUE = "tok-7f3a9c"
PASSWORD = "hunter2-pass"

# name -> (verifier, the secret texts it must never reveal)
VERIFIERS: dict[str, tuple[Verifier, tuple[str, ...]]] = {
    "github": (verify.github(secret=PLAIN, allow_sha1=True), (PLAIN,)),
    "github_sha256_only": (verify.github(secret=PLAIN), (PLAIN,)),
    "gitlab": (verify.gitlab(token=PLAIN, signing_secret=WHSEC), (PLAIN, WHSEC)),
    "gitlab_token": (verify.gitlab(token=PLAIN), (PLAIN,)),
    "gitea": (verify.gitea(secret=PLAIN), (PLAIN,)),
    "bitbucket": (verify.bitbucket(secret=PLAIN), (PLAIN,)),
    "stripe": (verify.stripe(secret="whsec_" + PLAIN), ("whsec_" + PLAIN,)),
    "slack": (verify.slack(signing_secret=PLAIN), (PLAIN,)),
    "standard": (verify.standard(secret=WHSEC, private_key=WHSK), (WHSEC, WHSK)),
    "svix": (verify.svix(secret=WHSEC), (WHSEC,)),
    "shopify": (verify.shopify(secret=PLAIN), (PLAIN,)),
    "twilio": (verify.twilio(auth_token=PLAIN), (PLAIN,)),
    "discord": (verify.discord(private_key=DISCORD_PRIVATE), (DISCORD_PRIVATE,)),
    "hmac": (
        verify.hmac(
            secret=PLAIN,
            header="X-Sig",
            prefix="sha512=",
            algorithm="sha512",
            encoding="base64",
            timestamp_header="X-Ts",
            template="{timestamp}.{delivery_id}.{body}",
            delivery_id_header="X-Id",
            event_type_header="X-Event",
        ),
        (PLAIN,),
    ),
    "basic": (verify.basic({"ci": PASSWORD}), (PASSWORD,)),
    "token": (verify.token({"ci": TOKEN_VALUE}), (TOKEN_VALUE,)),
    "token_bearer": (
        verify.token(TOKEN_VALUE, header="Authorization", scheme="Bearer"),
        (TOKEN_VALUE,),
    ),
    "token_query": (verify.token(TOKEN_VALUE, header=None), (TOKEN_VALUE,)),
    "ip_allow": (verify.ip_allow(["203.0.113.0/24", "2001:db8::/32"]), ()),
    "all_of": (
        verify.all_of(verify.ip_allow("203.0.113.0/24"), verify.github(secret=PLAIN)),
        (PLAIN,),
    ),
    "any_of": (
        verify.any_of(verify.github(secret=PLAIN), verify.token(TOKEN_VALUE)),
        (PLAIN, TOKEN_VALUE),
    ),
}

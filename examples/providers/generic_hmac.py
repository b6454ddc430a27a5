"""Any sender that signs with HMAC: here a hex SHA-256 in X-Acme-Signature, with a
timestamp header (docs/providers/generic-hmac.md)."""

from hookport import Context, Event, Plugin, verify

plugin = Plugin("acme-example")
acme = plugin.receiver(
    "/acme",
    verify=verify.hmac(
        secret_env="ACME_SECRET",
        header="X-Acme-Signature",
        algorithm="sha256",
        encoding="hex",
        prefix="sha256=",
        timestamp_header="X-Acme-Timestamp",   # signed as "{timestamp}.{body}"
        template="{timestamp}.{body}",
        event_type_header="X-Acme-Event",
        delivery_id_header="X-Acme-Delivery",
    ),
)


@acme.on("build.finished")
def on_build(event: Event, ctx: Context) -> None:
    build = event.json
    ctx.log.info("build %s finished: %s", build["id"], build["result"])

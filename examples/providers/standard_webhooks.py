"""Standard Webhooks (and Svix) senders (docs/providers/standard-webhooks.md)."""

from hookport import Context, Event, Plugin, verify

plugin = Plugin("standard-example")
acme = plugin.receiver("/hooks/acme", verify=verify.standard(secret_env="ACME_WEBHOOK_SECRET"))


@acme.on("invoice.paid")
def on_invoice_paid(event: Event, ctx: Context) -> None:
    data = event.json["data"]
    ctx.log.info("invoice %s paid (delivery %s)", data["invoice_id"], event.delivery_id)

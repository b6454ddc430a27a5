"""Stripe: fulfil paid checkouts, flag failed payments (docs/providers/stripe.md)."""

from hookport import Context, Event, Plugin, verify

plugin = Plugin("stripe-example")
stripe = plugin.receiver("/stripe", verify=verify.stripe(secret_env="STRIPE_WEBHOOK_SECRET"))


@stripe.on("checkout.session.completed")
def on_checkout(event: Event, ctx: Context) -> None:
    session = event.json["data"]["object"]
    # At least once: make fulfilment idempotent, keyed by the session id.
    ctx.log.info("fulfil %s: %d %s", session["id"], session["amount_total"],
                 session["currency"])


@stripe.on("invoice.payment_failed")
def on_payment_failed(event: Event, ctx: Context) -> None:
    invoice = event.json["data"]["object"]
    ctx.log.warning("payment failed for customer %s", invoice["customer"])

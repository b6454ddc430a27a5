"""Shopify: new orders (docs/providers/shopify.md)."""

from hookport import Context, Event, Plugin, verify

plugin = Plugin("shopify-example")
shopify = plugin.receiver(
    "/shopify", verify=verify.shopify(secret_env="SHOPIFY_WEBHOOK_SECRET")
)


@shopify.on("orders/create")
def on_order(event: Event, ctx: Context) -> None:
    order = event.json
    ctx.log.info("order %s: %s %s", order["name"], order["total_price"], order["currency"])

"""Basic auth, shared tokens and IP allow-lists (docs/providers/auth.md)."""

from hookport import Context, Event, Plugin, verify

plugin = Plugin("auth-example")

# A CI system that can only send a token: in a header or as ?access_token=.
ci = plugin.receiver("/ci", verify=verify.token(tokens_env={"ci": "CI_TOKEN"}))

# An alert manager inside the network, with a token as well.
alerts = plugin.receiver(
    "/alerts",
    verify=verify.all_of(verify.ip_allow(["127.0.0.0/8", "10.0.0.0/8"]),
                         verify.token(tokens_env="ALERT_TOKEN")),
)


@ci
def on_ci(event: Event, ctx: Context) -> None:
    ctx.log.info("%s reports %s: %s", event.sender, event.json["pipeline"],
                 event.json["status"])


@alerts
def on_alert(event: Event, ctx: Context) -> None:
    for alert in event.json["alerts"]:
        ctx.log.warning("alert %s is %s", alert["labels"]["alertname"], alert["status"])

"""Slack Events API: messages and mentions (docs/providers/slack.md).

The ``url_verification`` challenge is answered by hookport itself.
"""

from hookport import Context, Event, Plugin, verify

plugin = Plugin("slack-example")
slack = plugin.receiver("/slack", verify=verify.slack(secret_env="SLACK_SIGNING_SECRET"))


@slack.on("app_mention")
def on_mention(event: Event, ctx: Context) -> None:
    message = event.json["event"]
    ctx.log.info("%s mentioned the app in %s: %s", message["user"], message["channel"],
                 message["text"])

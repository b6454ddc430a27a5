"""Bitbucket: repository pushes (docs/providers/bitbucket.md)."""

from hookport import Context, Event, Plugin, verify

plugin = Plugin("bitbucket-example")
bitbucket = plugin.receiver("/bitbucket", verify=verify.bitbucket(secret_env="BITBUCKET_SECRET"))


@bitbucket.on("repo:push")
def on_push(event: Event, ctx: Context) -> None:
    body = event.json
    for change in body["push"]["changes"]:
        ctx.log.info("%s pushed to %s on %s", body["actor"]["display_name"],
                     body["repository"]["full_name"], change["new"]["name"])

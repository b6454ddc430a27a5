"""Gitea / Forgejo: pushes (docs/providers/gitea.md)."""

from hookport import Context, Event, Plugin, verify

plugin = Plugin("gitea-example")
gitea = plugin.receiver("/gitea", verify=verify.gitea(secret_env="GITEA_SECRET"))


@gitea.on("push")
def on_push(event: Event, ctx: Context) -> None:
    push = event.json
    ctx.log.info("%s pushed %d commit(s) to %s", push["pusher"]["login"],
                 len(push["commits"]), push["repository"]["full_name"])

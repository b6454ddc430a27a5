"""GitHub: announce pushes and new pull requests (docs/providers/github.md)."""

from hookport import Context, Event, Plugin, verify

plugin = Plugin("github-example")
github = plugin.receiver("/github", verify=verify.github(secret_env="GITHUB_SECRET"))


@github.on("push")
def on_push(event: Event, ctx: Context) -> None:
    push = event.json
    branch = push["ref"].removeprefix("refs/heads/")
    ctx.log.info("%s pushed %d commit(s) to %s on %s", push["pusher"]["name"],
                 len(push["commits"]), push["repository"]["full_name"], branch)


@github.on("pull_request.opened", "pull_request.reopened")
def on_pull_request(event: Event, ctx: Context) -> None:
    pr = event.json["pull_request"]
    ctx.log.info("PR #%d %s by %s", pr["number"], pr["title"], pr["user"]["login"])

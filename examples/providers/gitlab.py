"""GitLab: pushes and merge requests (docs/providers/gitlab.md)."""

from hookport import Context, Event, Plugin, verify

plugin = Plugin("gitlab-example")
gitlab = plugin.receiver("/gitlab", verify=verify.gitlab(secret_env="GITLAB_TOKEN"))


@gitlab.on("push")
def on_push(event: Event, ctx: Context) -> None:
    push = event.json
    ctx.log.info("%s pushed %d commit(s) to %s", push["user_username"],
                 push["total_commits_count"], push["project"]["path_with_namespace"])


@gitlab.on("merge_request")
def on_merge_request(event: Event, ctx: Context) -> None:
    mr = event.json["object_attributes"]
    ctx.log.info("MR !%d %s: %s", mr["iid"], mr["action"], mr["title"])

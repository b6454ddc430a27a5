"""Example plugin: GitHub activity in, notifications out.

- ``GET /hello/{name}``: a route with a path parameter.
- ``GET /status``: a route that renders ``templates/status.html``.
- ``POST /deploy/{env}``: a route behind HTTP basic auth (user ``ops``).
- ``POST /github``: a GitHub receiver; ``push`` is logged, ``issues.opened`` is announced on the
  ``dev`` channel with ``ctx.send``.
- ``POST /notify``: receives the ``dev`` channel's notifications (Apprise ``json://``), so one
  ``make run`` shows the whole loop without any outside service.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hookport import Context, Event, Plugin, Request, Response, template, verify


class Settings(BaseModel):
    """``[plugins.github-notify]``."""

    channel: str = "dev"
    greeting: str = "hello"


plugin = Plugin(
    "github-notify",
    description="Announce GitHub activity",
    settings=Settings,
    channels=["dev"],
)


@plugin.route("/hello/{name}", methods=["GET", "POST"])
def hello(name: str, ctx: Context[Settings]) -> str:
    """Greet someone by name."""
    return f"{ctx.settings.greeting} {name}"


@plugin.route("/status")
def status(request: Request) -> Any:
    """An HTML status page rendered from templates/status.html."""
    return template("status.html", client=request.client, plugin=plugin.name)


@plugin.route(
    "/deploy/{env}",
    methods=["POST"],
    verify=verify.basic(credentials_env="EXAMPLE_DEPLOY_CREDENTIALS"),
)
def deploy(env: str, request: Request) -> Response:
    """Start a (pretend) deployment; needs basic auth."""
    if env not in ("staging", "production"):
        return Response.json({"error": f"unknown environment {env!r}"}, status=404)
    return Response.json(
        {"deploying": env, "requested_by": request.headers.get("user-agent")}, status=202
    )


github = plugin.receiver(
    "/github",
    verify=verify.github(secret_env="GITHUB_SECRET"),
    name="GitHub",
    description="push and issue events",
)


@github.on("push")
def on_push(event: Event, ctx: Context) -> None:
    """Log who pushed what where."""
    body = event.json
    pusher = body.get("pusher", {}).get("name", "someone")
    repo = body.get("repository", {}).get("full_name", "?")
    commits = len(body.get("commits", []))
    ctx.log.info("%s pushed %d commit(s) to %s", pusher, commits, repo)


@github.on("issues.opened", "issues.reopened")
async def on_issue(event: Event, ctx: Context[Settings]) -> None:
    """Announce new issues on the configured channel."""
    body = event.json
    issue = body.get("issue", {})
    await ctx.send(
        ctx.settings.channel,
        f"#{issue.get('number')} {issue.get('title')}",
        title=f"Issue {event.type} in {body.get('repository', {}).get('full_name')}",
    )


@plugin.route("/notify", methods=["POST"])
def notify(request: Request, ctx: Context) -> dict[str, str]:
    """Where the ``dev`` channel's notifications land (Apprise json:// posts here)."""
    note = request.json
    ctx.log.info("notification: %s — %s", note.get("title"), note.get("message"))
    return {"received": "ok"}

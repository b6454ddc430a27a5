"""Nekro Agent's webhook access points (seed 003), ported to hookport: every example.

Each example side by side with the original, and every difference with its reason:
``docs/migrating.md``.

``/start_job`` is a receiver: its work survives a restart and is retried, which a task created
with ``asyncio.create_task`` is not. Its answer is hookport's ``202 {"id", "status": "queued"}``,
and a payload without ``notify_chat_key`` is logged by the worker rather than answered ``400``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hookport import Context, Event, HTTPError, Plugin, Request, verify


class NekroConfig(BaseModel):
    NOTIFICATION_CHAT_KEY: str = ""


nekro = Plugin(
    "sample_webhook",
    description="Nekro Agent's webhook examples",
    settings=NekroConfig,
    prefix="/api/plugin/dev.sample_webhook/webhook",
    channels=["chat"],
)


async def notify_chat(ctx: Context[NekroConfig], chat_key: str, notification_text: str) -> None:
    if not chat_key:
        ctx.log.warning("Unable to send Webhook notification: target chat_key is empty.")
        return
    await ctx.send("chat", notification_text, to=chat_key)  # Nekro: send_text(chat_key, ...)
    ctx.log.info("Webhook notification sent to %s.", chat_key)


@nekro.route(
    "/github",
    methods="*",
    verify=verify.github(secret_env="GITHUB_WEBHOOK_SECRET"),
    name="GitHub Webhook Handler",
    description="Receive and handle Webhook events from GitHub.",
)
async def handle_github_webhook(request: Request, ctx: Context[NekroConfig]) -> Any:
    payload = request.json  # malformed: 400 (the signature was checked before the handler)
    if not isinstance(payload, dict):
        raise HTTPError(400, "Invalid JSON payload")
    event_type = request.headers.get("X-GitHub-Event")
    ctx.log.info("Verified GitHub event: %s", event_type)
    if event_type == "push":
        repo_name = payload.get("repository", {}).get("full_name", "Unknown repository")
        pusher_name = payload.get("pusher", {}).get("name", "Unknown pusher")
        commits = payload.get("commits", [])
        notification_message = (
            f"📦 Code push event\n"
            f"Repository: {repo_name}\n"
            f"Pusher: {pusher_name}\n"
            f"Commits: {len(commits)}\n"
        )
        if commits:
            latest = commits[0].get("message", "No commit message")
            notification_message += f"Latest commit: {latest.splitlines()[0]}"
        await notify_chat(ctx, ctx.settings.NOTIFICATION_CHAT_KEY, notification_message)
    return {"status": "success", "message": f"Event '{event_type}' received and acknowledged."}


@nekro.route("/resource", methods="*", name="Resource Handler")
async def handle_resource(request: Request) -> Any:
    if request.method == "GET":
        return {"status": "available", "data": {"resource": "ok"}}
    if request.method == "POST":
        payload = request.json
        resource_id = f"r{len(str(payload))}"
        return {"status": "created", "id": resource_id}, 201
    if request.method == "DELETE":
        return {"status": "deleted"}
    raise HTTPError(405, "Method Not Allowed")


@nekro.route("/upload_report", methods="*", name="Upload Report")
async def handle_report_upload(request: Request, ctx: Context[NekroConfig]) -> Any:
    report_file = next((f for f in request.files if f.field == "report_file"), None)
    report_name = request.form.get("report_name")
    target_chat = request.form.get("target_chat")
    if report_file is None or report_name is None or target_chat is None:
        raise HTTPError(422, "report_file, report_name and target_chat are required")
    ctx.log.info(
        "Received file upload: %s (type: %s), report name: %s",
        report_file.filename, report_file.content_type, report_name,
    )  # fmt: skip
    if not (report_file.content_type or "").startswith("text/"):
        raise HTTPError(400, "Only text file uploads are supported.")
    report_text = report_file.content.decode("utf-8")
    await notify_chat(
        ctx,
        target_chat,
        f"Received new report '{report_name}' ({report_file.filename}). "
        f"Content summary:\n{report_text[:200]}...",
    )
    return {"status": "success", "filename": report_file.filename, "size": report_file.size}


start_job = nekro.receiver("/start_job", methods="*", name="Start Long Job")


@start_job
async def long_running_process(event: Event, ctx: Context[NekroConfig]) -> None:
    payload = event.json
    if not isinstance(payload, dict) or not payload.get("notify_chat_key"):
        ctx.log.warning("start_job: notify_chat_key not provided")
        return
    task_id = payload.get("task_id", "unknown_task")
    ctx.log.info("Starting time-consuming task: %s", task_id)
    await notify_chat(
        ctx, payload["notify_chat_key"], f"Task {task_id} processing completed. Result is: XXXX"
    )
    ctx.log.info("Time-consuming task %s completed and notified.", task_id)

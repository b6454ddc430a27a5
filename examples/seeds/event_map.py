"""The blog post's Django webhook view with an event map (seed 002), ported to hookport.

The post: a POST-only, CSRF-exempt Django view that loads the JSON body and calls
``process_webhook(data)``, which finds the function for the event name, first by ``if``/``elif``,
then by ``getattr(webhook_events, name.replace('.', '_'))``, finally through an ``EVENT_MAP``
filled by a decorator. An event with no function is "not registered (not being served)".

hookport has that map built in: the receiver's ``event_type`` says where the name is (here the
body's ``event`` field), and ``@events.on(name)`` is the decorator. The receiver accepts POST
only (405 otherwise), needs no CSRF exemption (no cookies, no forms of ours), stores the
delivery and answers 202 before a worker calls the function, with retries. An event nobody
handles is stored as `unhandled` (no handler run), and runs when replayed once one exists.
"""

from __future__ import annotations

import json

from hookport import Context, Event, IncomingRequest, Plugin

blog = Plugin("event_map", description="the blog's event-name -> function map")


def event_name(request: IncomingRequest) -> str | None:
    """``data['event']``: where the blog's process_webhook found the event name."""
    try:
        body = json.loads(request.body)
    except ValueError:
        return None  # not JSON: stored without a type; no function runs
    name = body.get("event") if isinstance(body, dict) else None
    return name if isinstance(name, str) else None


events = blog.receiver("/webhook/", event_type=event_name, name="webhook")


@events.on("repo.push")
def repo_push(event: Event, ctx: Context) -> None:
    ctx.log.info("event_map repo_push %s", event.json)


@events.on("repo.create")
def repo_create(event: Event, ctx: Context) -> None:
    ctx.log.info("event_map repo_create %s", event.json)

"""Native hooks as one ordinary plugin: a receiver per hook, a handler per action.

Each :class:`~hookport.hooks.native.NativeHook` becomes ``plugin.receiver("/{prefix}/{id}")``
through the public API, so storing, dedupe, retries, ``dead``, replay, ``hookport routes`` and
the dashboard treat it as any receiver. Each action is a handler declared with
``receiver.on(*events, when=filter, name=...)``: ``run``, ``forward[i] URL``,
``notify[i] CHANNEL``. A retry re-runs only the actions that failed, so one destination that is
down does not make the others receive the event twice.

A hook's ``trigger-rule`` is checked at the request, by :class:`TriggerGate` (a verifier): a
mismatch is answered as adnanh answers it and nothing is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hookport.context import Context
from hookport.events import Event, HandlerReport
from hookport.hooks.command import CommandFailed, report, run_command
from hookport.hooks.filters import compile_filter, request_of
from hookport.hooks.forward import send_forward
from hookport.hooks.gohttp import status_known
from hookport.hooks.intake import GoPanic, MultipartError, build_request
from hookport.hooks.model import Hook, Rules
from hookport.hooks.native import ForwardAction, NativeHook, NotifyAction, RunAction
from hookport.hooks.notify_action import template_values
from hookport.hooks.rules import evaluate
from hookport.hooks.values import ParameterNodeError
from hookport.http import HeaderMap, Request
from hookport.plugin import Plugin, Receiver
from hookport.types import BodyFormat, IncomingRequest, Reply, Signed, Verified, Verifier

__all__ = ["CommandFailed", "TriggerGate", "native_plugin"]

log = logging.getLogger("hookport.hooks")

Handler = Callable[..., Coroutine[Any, Any, HandlerReport | None]]


@dataclass(frozen=True, slots=True)
class TriggerGate:
    """A hook's ``trigger-rule`` at the request, after the hook's own verifier (if any).

    A mismatch is a :class:`~hookport.types.Reply` with adnanh's answer (200, or the hook's
    ``trigger-rule-mismatch-http-response-code``; a rule error is a 500): answered at once,
    never stored.
    """

    hook: Hook
    rules: Rules
    inner: Verifier | None = None

    @property
    def scheme(self) -> str:
        """The inner verifier's label plus the rule."""
        return f"{self.inner.scheme}+trigger-rule" if self.inner else "trigger-rule"

    @property
    def body_format(self) -> BodyFormat:
        """As the inner verifier says (any body without one)."""
        return self.inner.body_format if self.inner else "any"

    def resolve(self, environ: Mapping[str, str]) -> TriggerGate:
        """The inner verifier's secrets read."""
        inner = self.inner.resolve(environ) if self.inner else None
        return TriggerGate(self.hook, self.rules, inner)

    def precheck(self, head: Any, now: float) -> None:
        """The inner verifier's early refusals; never an early acceptance (the rule needs the
        body)."""
        check = getattr(self.inner, "precheck", None)
        if check is not None:
            check(head, now)

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """The inner verifier, then the rules."""
        verified = self.inner.verify(request, now) if self.inner else Verified()
        if verified.reply is not None:
            return verified
        reply = self._rules_reply(_as_request(request))
        return verified if reply is None else Verified(reply=reply)

    def _rules_reply(self, request: Request) -> Reply | None:
        try:
            req = build_request(request, self.hook)
        except (MultipartError, GoPanic):
            return Reply(500, b"Error occurred while parsing the request.", _TEXT)
        matched, error = evaluate(self.rules, req)
        if error is not None and not isinstance(error, ParameterNodeError):
            log.warning("hook %r: error evaluating hook: %s", self.hook.id, error)
            return Reply(500, b"Error occurred while evaluating hook rules.", _TEXT)
        if matched:
            return None
        code = self.hook.mismatch_code
        return Reply(code if status_known(code) else 200, b"Hook rules were not satisfied.", _TEXT)

    def sign(
        self,
        body: bytes,
        *,
        url: str,
        now: float,
        event_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Signed:
        """What the inner verifier's sender adds (nothing without one)."""
        if self.inner is None:
            return Signed()
        return self.inner.sign(body, url=url, now=now, event_type=event_type, headers=headers)


_TEXT = "text/plain; charset=utf-8"


def _as_request(request: IncomingRequest) -> Request:
    """ingest hands verifiers a :class:`Request`; any other request is copied into one, so the
    rules are never skipped."""
    if isinstance(request, Request):
        return request
    return Request(
        method=request.method,
        path=request.path,
        url=request.url,
        raw_headers=HeaderMap([(str(k), str(v)) for k, v in request.headers.items()]),
        query_string=str(getattr(request, "query_string", "")),
        body=request.body,
        client=request.client,
    )


@dataclass(frozen=True)
class Runtime:
    """What actions use at run time: the command limits of ``[hooks]``."""

    default_timeout: float
    max_output: int


def native_plugin(
    hooks: Sequence[NativeHook],
    runtime: Runtime,
    *,
    prefix: str = "hooks",
    name: str = "hooks-native",
) -> Plugin:
    """One plugin declaring every native hook."""
    channels = sorted({n.channel for h in hooks for n in h.notifies})
    plugin = Plugin(name, description="[[hooks]] in hookport.toml", channels=channels)
    base = "/" + prefix.strip("/") if prefix.strip("/") else ""
    for native in hooks:
        _declare(plugin, native, runtime, base)
    return plugin


def _declare(plugin: Plugin, native: NativeHook, runtime: Runtime, base: str) -> None:
    hook = native.hook
    verify: Verifier | None = native.verify
    if hook.trigger_rule is not None:
        verify = TriggerGate(hook, hook.trigger_rule, native.verify)
    actions = [a for a in (native.run,) if a is not None]
    receiver = plugin.receiver(
        f"{base}/{hook.id.strip('/')}",
        verify=verify,
        methods=tuple(hook.http_methods) or ("POST",),
        name=f"hooks:{hook.id}",
        description=_describe(native, len(actions)),
        max_attempts=native.max_attempts,
        concurrency=hook.concurrency,
    )
    if native.run is not None:
        _on(receiver, native, native.run, "run", _run_handler(native.run, hook.id, runtime))
    for i, fwd in enumerate(native.forwards):
        label = f"forward[{i}] {fwd.target.shown}"
        _on(receiver, native, fwd, label, _forward_handler(fwd, runtime))
    for i, note in enumerate(native.notifies):
        label = f"notify[{i}] {note.channel}"
        _on(receiver, native, note, label, _notify_handler(note, hook.id, runtime))


def _describe(native: NativeHook, runs: int) -> str:
    parts = [f"{runs} command"] if runs else []
    if native.forwards:
        parts.append(f"{len(native.forwards)} forward(s)")
    if native.notifies:
        parts.append(f"{len(native.notifies)} notification(s)")
    return "native hook: " + ", ".join(parts)


def _on(
    receiver: Receiver,
    native: NativeHook,
    action: RunAction | ForwardAction | NotifyAction,
    label: str,
    handler: Handler,
) -> None:
    events = action.events or native.events or ("*",)
    when = None
    if action.filter is not None:
        when = compile_filter(action.filter, f"[[hooks]] {native.hook.id!r} {label} filter",
                              hook=native.hook)  # fmt: skip
    receiver.on(*events, when=when, name=label)(handler)


def _run_handler(action: RunAction, hook_id: str, runtime: Runtime) -> Handler:
    async def run(event: Event) -> HandlerReport:
        req = request_of(event, action.hook)
        result = await run_command(
            action.hook,
            req,
            timeout=action.timeout or runtime.default_timeout,
            max_output=runtime.max_output,
            split=True,
        )
        tail = (result.output + result.stderr)[-2000:].decode("utf-8", "replace").strip()
        log.info(
            "hook %r command %s: exit=%s %.3fs, %d bytes of output%s",
            hook_id, result.argv[0], result.exit_code, result.duration,
            len(result.output) + len(result.stderr),
            " (truncated)" if result.truncated else "",
            extra={**event.log_fields(), "hook": hook_id},
        )  # fmt: skip
        if not result.ok:
            shown = f"; output: {tail}" if tail else ""
            raise CommandFailed(f"{result.argv[0]}: {result.error or 'failed'}{shown}",
                                report(result))  # fmt: skip
        return HandlerReport(report(result))

    return run


def _forward_handler(action: ForwardAction, runtime: Runtime) -> Handler:
    async def forward(event: Event) -> None:
        status = await send_forward(action.target, event, action.policy)
        log.info(
            "forwarded event %s to %s: %d", event.id, action.target.shown, status,
            extra=event.log_fields(),
        )  # fmt: skip

    return forward


def _notify_handler(action: NotifyAction, hook_id: str, runtime: Runtime) -> Handler:
    async def notify(event: Event, ctx: Context) -> None:
        values = template_values(event, hook_id)
        message = action.message.render(values)
        title = action.title.render(values) if action.title else None
        await ctx.send(action.channel, message, title=title)

    return notify

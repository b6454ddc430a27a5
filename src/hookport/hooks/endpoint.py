"""The hooks endpoint: one hookport route at ``/{prefix}/{id}`` that answers as adnanh does.

:class:`HooksEndpoint` owns a reloadable :class:`~hookport.hooks.loading.HookSet` and builds an
ordinary :class:`~hookport.plugin.Plugin` through the public API, so verification, recording,
``hookport routes`` and the dashboard treat it like any other route. The handler follows
adnanh 2.8's ``hookHandler`` step by step; each answer (status, body, headers, the
``Content-Type`` Go would sniff) is built here.

A hook that waits for its command (``include-command-output-in-response``) runs it in the
request. Any other hook is *stored*: the route answers :class:`~hookport.http.Enqueue`, so the
delivery is committed as an event of the plugin's receiver ``{name}:commands`` (type: the hook
id; dedupe by delivery id) before adnanh's answer is sent, and the workers run the command as
that receiver's handler: at least once, retried with backoff, then ``dead``, replayable; each
attempt keeps the command's exit code, stdout and stderr (:func:`~hookport.hooks.command.report`).
The handler looks the hook up by id when it runs, so a reload (in ``serve`` or ``worker``)
applies to events already stored. At most ``concurrency`` commands of one hook run at once in
a process, inline and stored together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hookport.events import Event, HandlerReport
from hookport.hooks.command import CommandFailed, CommandResult, report, run_command
from hookport.hooks.filters import request_of
from hookport.hooks.gohttp import canonical_header, detect_content_type, status_known
from hookport.hooks.intake import GoPanic, MultipartError, build_request
from hookport.hooks.loading import CONFIG_HOOKS, HookSet
from hookport.hooks.model import Hook
from hookport.hooks.rules import Step, evaluate, rejection_reason
from hookport.hooks.values import HookRequest, ParameterNodeError
from hookport.http import Enqueue, Request, Response
from hookport.plugin import Plugin

__all__ = ["ALL_METHODS", "HookOptions", "HooksEndpoint", "HooksPlugin"]

log = logging.getLogger("hookport.hooks")

ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
"""The methods the hooks route accepts; each hook's ``http-methods`` narrows them."""

_COMMAND_FAILED = (
    b"Error occurred while executing the hook's command. Please check your logs for more details."
)


@dataclass(frozen=True, slots=True)
class HookOptions:
    """Settings every hook shares (``[hooks]`` in the config, ``--hooks-*`` options)."""

    prefix: str = "hooks"
    template: bool = False
    http_methods: tuple[str, ...] = ()
    """Default allowed methods for hooks without ``http-methods`` (adnanh's -http-methods)."""
    response_headers: Mapping[str, str] = field(default_factory=dict)
    """Headers on every matched hook's answer (adnanh's -header name=value)."""
    timeout: float = 60.0
    max_output: int = 1 << 20
    concurrency: int | None = 16
    """Commands of one hook at once (a hook's own ``concurrency`` overrides); None: no limit."""
    record: bool | str | None = None


class HooksPlugin(Plugin[None]):
    """The plugin a :class:`HooksEndpoint` declares; ``endpoint`` leads back to it (reloads)."""

    def __init__(self, name: str, endpoint: HooksEndpoint) -> None:
        super().__init__(name, description="adnanh/webhook hooks files", settings=None)
        self.endpoint = endpoint


class HooksEndpoint:
    """The hooks of some files served as one plugin; :meth:`reload` re-reads the files."""

    def __init__(
        self,
        files: Sequence[str | Path],
        options: HookOptions | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        name: str = "hooks",
        inline: Sequence[Hook] = (),
    ) -> None:
        self.options = options or HookOptions()
        self.hooks = HookSet(files, template=self.options.template, environ=environ, inline=inline)
        self._default_methods = tuple(
            m.strip().upper() for m in self.options.http_methods if m.strip()
        )
        self._slots: dict[str, asyncio.Semaphore] = {}
        self.plugin = HooksPlugin(name, self)
        prefix = self.options.prefix.strip("/")
        path = f"/{prefix}/{{id:path}}" if prefix else "/{id:path}"
        self.path = path
        self.plugin.route(
            path,
            methods=ALL_METHODS,
            name=f"{name}:hooks",
            description=f"{len(self.hooks.hooks)} hook(s) from "
            + ", ".join([*self.hooks.files, *([CONFIG_HOOKS] if inline else [])]),
            record=self.options.record,  # type: ignore[arg-type]
        )(self.handle)
        self.commands = self.plugin.receiver(
            path,
            methods=ALL_METHODS,
            name=f"{name}:commands",
            description="commands of hooks that answer before they run: stored, run by workers",
            routed=False,
        )
        self.commands.on("*", name="command")(self.run_stored)

    def reload(self) -> list[str]:
        """Re-read every hooks file (SIGHUP, SIGUSR1, ``--hooks-hotreload``)."""
        return self.hooks.reload()

    async def handle(self, request: Request, id: str) -> Response | Enqueue:
        """Answer one request for hook ``id`` as adnanh/webhook 2.8 does."""
        hook = self.hooks.get(id)
        if hook is None:
            missing = _answer(404, b"Hook not found.", {})
            missing.rejected = "no hook with this id"
            return missing
        if not self._method_allowed(hook, request.method):
            log.info("HTTP %s method not allowed for hook %r", request.method, id)
            refused = _answer(405, b"", {})
            refused.rejected = f"method {request.method} not allowed for hook {hook.id!r}"[:200]
            return refused
        headers = {canonical_header(k): v for k, v in self.options.response_headers.items()}
        prepared = _prepare(request, hook, headers)
        if isinstance(prepared, Response):
            return prepared
        refusal = _check_rules(hook, prepared, headers)
        if refusal is not None:
            return refusal
        return await self._trigger(hook, prepared, headers)

    async def run_stored(self, event: Event) -> HandlerReport:
        """A stored hook's command, run by a worker; a failure is retried (the event's
        record keeps each attempt's exit code, stdout and stderr)."""
        hook_id = str(event.params.get("id", ""))
        hook = self.hooks.get(hook_id)
        if hook is None:
            raise CommandFailed(f"no hook {hook_id!r} is loaded now", "")
        result = await self._run(hook, request_of(event, hook), split=True)
        text = report(result)
        if not result.ok:
            program = result.argv[0] if result.argv else hook.execute_command
            raise CommandFailed(f"{program}: {result.error or 'failed'}", text)
        return HandlerReport(text)

    async def _trigger(
        self, hook: Hook, req: HookRequest, headers: dict[str, str]
    ) -> Response | Enqueue:
        for header in hook.response_headers:
            headers[canonical_header(header.name)] = header.value
        success = hook.success_code if status_known(hook.success_code) else 200
        if not hook.capture_output:
            answer = _answer(success, hook.response_message.encode(), headers)
            return Enqueue(self.commands.name, answer, event_type=hook.id)
        result = await self._run(hook, req)
        if result.ok:
            return _answer(success, result.output, headers)
        if hook.capture_output_on_error:
            return _answer(500, result.output, headers)
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        return _answer(500, _COMMAND_FAILED, headers)

    def _method_allowed(self, hook: Hook, method: str) -> bool:
        if hook.http_methods:
            return any(method == m.strip().upper() for m in hook.http_methods)
        if self._default_methods:
            return method in self._default_methods
        return True

    async def _run(self, hook: Hook, req: HookRequest, *, split: bool = False) -> CommandResult:
        slots = self._slot(hook)
        if slots is None:
            result = await self._execute(hook, req, split)
        else:
            async with slots:
                result = await self._execute(hook, req, split)
        return result

    async def _execute(self, hook: Hook, req: HookRequest, split: bool) -> CommandResult:
        timeout = hook.timeout or self.options.timeout
        result = await run_command(
            hook, req, timeout=timeout, max_output=self.options.max_output, split=split
        )
        level = logging.INFO if result.ok else logging.WARNING
        log.log(
            level,
            "hook %r command %s: exit=%s %s%.3fs, %d bytes of output%s",
            hook.id,
            result.argv[0] if result.argv else "",
            result.exit_code,
            f"error={result.error!r} " if result.error else "",
            result.duration,
            len(result.output) + len(result.stderr),
            " (truncated)" if result.truncated else "",
        )
        return result

    def _slot(self, hook: Hook) -> asyncio.Semaphore | None:
        limit = hook.concurrency or self.options.concurrency
        if limit is None:
            return None
        key = f"{hook.id}\0{limit}"
        if key not in self._slots:
            self._slots[key] = asyncio.Semaphore(limit)
        return self._slots[key]


def _prepare(request: Request, hook: Hook, headers: dict[str, str]) -> HookRequest | Response:
    try:
        req = build_request(request, hook)
    except MultipartError as exc:
        log.warning("hook %r: error parsing multipart form: %s", hook.id, exc)
        return _answer(500, b"Error occurred while parsing multipart form.", headers)
    except GoPanic as exc:
        # adnanh panics here; its recoverer answers as Go's http.Error does.
        log.warning("hook %r: adnanh would panic here (answering 500): %s", hook.id, exc)
        headers["Content-Type"] = "text/plain; charset=utf-8"
        headers["X-Content-Type-Options"] = "nosniff"
        return _answer(500, b"Internal Server Error\n", headers)
    for problem in req.problems:
        log.info("hook %r: %s", hook.id, problem)
    return req


def _check_rules(hook: Hook, req: HookRequest, headers: dict[str, str]) -> Response | None:
    """None when the hook triggers; else the answer to a mismatch or a rule error."""
    if hook.trigger_rule is None:
        return None
    trace: list[Step] = []
    matched, error = evaluate(hook.trigger_rule, req, trace)
    if error is not None and not isinstance(error, ParameterNodeError):
        log.warning("hook %r: error evaluating hook: %s", hook.id, error)
        failed = _answer(500, b"Error occurred while evaluating hook rules.", headers)
        failed.rejected = rejection_reason(hook.id, trace)  # a signature failure, mostly
        return failed
    if matched:
        return None
    log.info("hook %r got matched, but the trigger rules were not satisfied", hook.id)
    status = hook.mismatch_code if status_known(hook.mismatch_code) else 200
    answer = _answer(status, b"Hook rules were not satisfied.", headers)
    answer.rejected = rejection_reason(hook.id, trace)
    return answer


def _answer(status: int, body: bytes, headers: Mapping[str, str]) -> Response:
    """An answer as Go's server sends it: ``Content-Type`` sniffed when a body has none."""
    media = None
    if "Content-Type" not in headers and body:
        media = detect_content_type(body)
    return Response(body, status, dict(headers), media)

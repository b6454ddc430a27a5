"""``[[hooks]]`` in ``hookport.toml``: adnanh's hook keys plus hookport's actions, parsed.

A table with only adnanh's keys (what ``hookport hooks convert`` writes) is an adnanh hook and
is served exactly as the same hook in a hooks file. A table with any of hookport's own keys
(``run``, ``forward``, ``notify``, ``filter``, ``verify``, ``events``, ``max-attempts``) is a
*native* hook: a receiver at ``/{prefix}/{id}`` that stores the delivery, answers 202, and has
the workers run its actions, each one a handler of the event (retried on its own):

- ``run``: a command (an argv list, or a table with ``command``, ``args``, ``env``, ``cwd``,
  ``timeout``); adnanh's ``execute-command`` and ``pass-*`` keys mean the same;
- ``forward``: URLs the delivery is re-sent to (:mod:`hookport.hooks.forward`);
- ``notify``: a channel and a message template (:mod:`hookport.hooks.notify_action`);
- ``filter`` (the hook's, and each action's own): ``trigger-rule``'s language over the stored
  event (:mod:`hookport.hooks.filters`); ``events``: the event types an action runs for;
- ``verify``: a hookport verifier (``{scheme = "github", secret_env = "GITHUB_SECRET"}``);
  ``trigger-rule`` still decides at the request, with adnanh's answers.

Every problem is a ``ConfigError`` naming the hook (``[[hooks]] 'deploy': ...``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hookport.config import expand_env, parse_duration
from hookport.errors import ConfigError
from hookport.hooks.filters import parse_filter
from hookport.hooks.forward import DestinationPolicy, ForwardTarget
from hookport.hooks.model import Argument, Hook, Rules, parse_argument, parse_hook
from hookport.hooks.notify_action import MessageTemplate
from hookport.hooks.verifiers import build_verifier, resolve_hook
from hookport.types import Verifier

__all__ = ["NativeHook", "NotifyAction", "RunAction", "parse_config_hooks"]

ADNANH_KEYS = frozenset({
    "id", "execute-command", "command-working-directory", "response-message",
    "response-headers", "include-command-output-in-response",
    "include-command-output-in-response-on-error", "pass-environment-to-command",
    "pass-arguments-to-command", "pass-file-to-command", "parse-parameters-as-json",
    "trigger-rule", "trigger-rule-mismatch-http-response-code",
    "trigger-signature-soft-failures", "incoming-payload-content-type",
    "success-http-response-code", "http-methods", "timeout", "concurrency",
})  # fmt: skip
NATIVE_KEYS = frozenset({"run", "forward", "notify", "filter", "verify", "events", "max-attempts"})
_ANSWER_KEYS = (
    "response-message", "response-headers", "success-http-response-code",
    "include-command-output-in-response", "include-command-output-in-response-on-error",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RunAction:
    """The command of a native hook: ``hook`` carries it as the command runner reads it."""

    hook: Hook
    timeout: float | None
    events: tuple[str, ...]
    filter: Rules | None


@dataclass(frozen=True, slots=True)
class ForwardAction:
    """One destination of a native hook's ``forward``."""

    target: ForwardTarget
    policy: DestinationPolicy
    events: tuple[str, ...]
    filter: Rules | None


@dataclass(frozen=True)
class NotifyAction:
    """One notification of a native hook."""

    channel: str
    message: MessageTemplate
    title: MessageTemplate | None
    events: tuple[str, ...]
    filter: Rules | None


@dataclass(frozen=True)
class NativeHook:
    """A ``[[hooks]]`` table with hookport's actions."""

    hook: Hook
    verify: Verifier | None
    events: tuple[str, ...]
    max_attempts: int | None
    run: RunAction | None
    forwards: tuple[ForwardAction, ...]
    notifies: tuple[NotifyAction, ...]


@dataclass(frozen=True, slots=True)
class Environment:
    """What parsing needs from the settings."""

    base: Path
    secrets: Mapping[str, str]
    channels: frozenset[str]
    policy: DestinationPolicy


def parse_config_hooks(
    tables: Sequence[Mapping[str, Any]], env: Environment
) -> tuple[list[Hook], list[NativeHook]]:
    """The ``[[hooks]]`` tables split into adnanh hooks and native hooks."""
    plain: list[Hook] = []
    native: list[NativeHook] = []
    seen: set[str] = set()
    for i, table in enumerate(tables):
        where = f"[[hooks]] #{i + 1}"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table")
        hook_id = table.get("id", "")
        is_native = not NATIVE_KEYS.isdisjoint(table)
        if not isinstance(hook_id, str) or (is_native and not hook_id.strip("/")):
            raise ConfigError(f"{where}: a hook with hookport's actions needs an id (a string)")
        where = f"[[hooks]] {hook_id!r}"
        if hook_id in seen:
            raise ConfigError(f"{where}: two hooks have this id")
        seen.add(hook_id)
        unknown = sorted(set(map(str, table)) - ADNANH_KEYS - NATIVE_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
        try:
            hook = resolve_hook(parse_hook(dict(table), "hook"), env.secrets)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if not is_native:  # adnanh's keys only: served as adnanh serves it (even without an id)
            plain.append(hook)
        else:
            native.append(_native(table, hook, where, env))
    return plain, native


def _native(table: Mapping[str, Any], hook: Hook, where: str, env: Environment) -> NativeHook:
    answers = [key for key in _ANSWER_KEYS if key in table]
    if answers:
        raise ConfigError(
            f"{where}: {', '.join(answers)}: a hook with hookport's actions is stored and "
            "answered 202 before its actions run; drop these keys, or the actions"
        )
    hook_filter = _filter(table.get("filter"), f"{where} filter")
    events = _strings(table.get("events"), f"{where} events")
    run = _run(table, hook, where, env, hook_filter)
    forwards = tuple(
        _forward(item, f"{where} forward[{i}]", env, hook_filter)
        for i, item in enumerate(_items(table.get("forward"), f"{where} forward"))
    )
    notifies = tuple(
        _notify(item, f"{where} notify[{i}]", env, hook_filter)
        for i, item in enumerate(_items(table.get("notify"), f"{where} notify"))
    )
    if run is None and not forwards and not notifies:
        raise ConfigError(f"{where}: no action (run, forward or notify)")
    return NativeHook(
        hook=hook,
        verify=_verifier(table.get("verify"), f"{where} verify"),
        events=events,
        max_attempts=_positive(table.get("max-attempts"), f"{where} max-attempts"),
        run=run,
        forwards=forwards,
        notifies=notifies,
    )


def _items(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | Mapping):
        return [value]
    if isinstance(value, list) and value:
        return value
    raise ConfigError(f"{where}: expected a table, a list of them (or of URLs), or a URL")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return tuple(value)


def _positive(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{where}: expected a whole number of at least 1")
    return value


def _duration(value: Any, where: str, default: float | None) -> float | None:
    if value is None:
        return default
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if seconds <= 0:
        raise ConfigError(f"{where}: must be positive")
    return seconds


def _filter(value: Any, where: str, outer: Rules | None = None) -> Rules | None:
    own = None if value is None else parse_filter(value, where)
    if own is None or outer is None:
        return own or outer
    return Rules(and_=(outer, own))


def _table(value: Any, where: str, keys: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    return value


def _verifier(value: Any, where: str) -> Verifier | None:
    return None if value is None else build_verifier(value, where)


def _run(
    table: Mapping[str, Any], hook: Hook, where: str, env: Environment, outer: Rules | None
) -> RunAction | None:
    value = table.get("run")
    if value is None:
        if not hook.execute_command:
            return None
        cwd = _cwd(hook.command_working_directory, env.base)
        base = replace(hook, command_working_directory=cwd)
        program = _program(hook.execute_command, cwd, where)
        return RunAction(replace(base, execute_command=program), hook.timeout, (), outer)
    if hook.execute_command:
        raise ConfigError(f"{where}: run and execute-command both give a command: keep one")
    if isinstance(value, list):
        value = {"command": value}
    spec = _table(value, f"{where} run", {"command", "args", "env", "cwd", "timeout",
                                          "events", "filter"})  # fmt: skip
    command = spec.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
        raise ConfigError(f"{where} run: command must be a non-empty list of strings (an argv)")
    cwd = _cwd(spec.get("cwd") or "", env.base)
    fixed = [Argument(source="string", name=arg) for arg in command[1:]]
    args = [parse_argument(a, f"{where} run.args[{i}]") for i, a in enumerate(_list(spec, "args"))]
    envs = [parse_argument(a, f"{where} run.env[{i}]") for i, a in enumerate(_list(spec, "env"))]
    for arg in envs:
        if not arg.envname:
            raise ConfigError(f"{where} run.env: every entry needs an envname")
    run_hook = replace(
        hook,
        execute_command=_program(command[0], cwd, f"{where} run"),
        command_working_directory=cwd,
        pass_arguments=(*fixed, *args),
        pass_environment=tuple(envs),
    )
    timeout = _duration(spec.get("timeout"), f"{where} run.timeout", hook.timeout)
    events = _strings(spec.get("events"), f"{where} run.events")
    return RunAction(run_hook, timeout, events, _filter(spec.get("filter"), f"{where} run.filter",
                                                         outer))  # fmt: skip


def _list(spec: Mapping[str, Any], key: str) -> list[Any]:
    value = spec.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"run.{key} must be a list of tables")
    return value


def _cwd(cwd: str, base: Path) -> str:
    folder = Path(cwd) if cwd else base
    return str(folder if folder.is_absolute() else base / folder)


def _program(command: str, cwd: str, where: str) -> str:
    """The executable, found now: relative to ``cwd`` when it has a ``/``, else on ``PATH``."""
    if "/" not in command:
        found = shutil.which(command)
        if found is None:
            raise ConfigError(f"{where}: command {command!r} is not on PATH")
        return found
    path = command if os.path.isabs(command) else os.path.join(cwd, command)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ConfigError(f"{where}: command {command!r} is not an executable file ({path})")
    return path


def _forward(value: Any, where: str, env: Environment, outer: Rules | None) -> ForwardAction:
    if isinstance(value, str):
        value = {"url": value}
    spec = _table(value, where, {"url", "headers", "set-headers", "sign", "method", "timeout",
                                 "allow", "events", "filter"})  # fmt: skip
    url = spec.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{where}: url is required")
    try:
        url = expand_env(url, env.secrets)
        allow = _strings(spec.get("allow"), f"{where} allow")
        policy = env.policy.extended(DestinationPolicy.from_entries(allow, f"{where} allow"))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    set_headers = spec.get("set-headers", {})
    if not isinstance(set_headers, Mapping) or not all(
        isinstance(v, str) for v in set_headers.values()
    ):
        raise ConfigError(f"{where}: set-headers must be a table of strings")
    try:
        expanded = {str(k): expand_env(v, env.secrets) for k, v in set_headers.items()}
    except ConfigError as exc:
        raise ConfigError(f"{where} set-headers: {exc}") from None
    method = spec.get("method")
    if method is not None and (not isinstance(method, str) or not method.isalpha()):
        raise ConfigError(f"{where}: method must be an HTTP method such as POST")
    target = ForwardTarget(
        url=url,
        headers=_strings(spec.get("headers", ["Content-Type"]), f"{where} headers"),
        set_headers=expanded,
        sign_secret=_sign_secret(spec.get("sign"), f"{where} sign", env.secrets),
        method=method.upper() if method else None,
        timeout=_duration(spec.get("timeout"), f"{where} timeout", 10.0) or 10.0,
    )
    try:
        target.check(policy)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    events = _strings(spec.get("events"), f"{where} events")
    rules = _filter(spec.get("filter"), f"{where} filter", outer)
    return ForwardAction(target, policy, events, rules)


def _sign_secret(value: Any, where: str, secrets: Mapping[str, str]) -> str | None:
    if value is None:
        return None
    spec = _table(value, where, {"scheme", "secret_env"})
    if spec.get("scheme", "standard") != "standard":
        raise ConfigError(f"{where}: forwards are re-signed with scheme 'standard' only")
    name = spec.get("secret_env")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: secret_env must name the variable holding the whsec_ secret")
    secret = secrets.get(name, "")
    if not secret:
        raise ConfigError(f"{where}: environment variable {name} is not set")
    return secret


def _notify(value: Any, where: str, env: Environment, outer: Rules | None) -> NotifyAction:
    spec = _table(value, where, {"channel", "message", "title", "events", "filter"})
    channel, message = spec.get("channel"), spec.get("message")
    if not isinstance(channel, str) or not channel:
        raise ConfigError(f"{where}: channel is required")
    if channel not in env.channels:
        defined = ", ".join(sorted(env.channels)) or "none"
        raise ConfigError(
            f"{where}: channel {channel!r} is not defined in [channels] (defined: {defined})"
        )
    if not isinstance(message, str) or not message:
        raise ConfigError(f"{where}: message is required (a template)")
    title = spec.get("title")
    if title is not None and not isinstance(title, str):
        raise ConfigError(f"{where}: title must be a string (a template)")
    return NotifyAction(
        channel=channel,
        message=MessageTemplate.parse(message, f"{where} message"),
        title=MessageTemplate.parse(title, f"{where} title") if title else None,
        events=_strings(spec.get("events"), f"{where} events"),
        filter=_filter(spec.get("filter"), f"{where} filter", outer),
    )

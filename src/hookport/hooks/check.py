"""``hookport hooks check``: what is wrong with a hooks file, and why a hook did (not) fire.

:func:`lint` finds what adnanh would accept but that cannot work (no id, a command that is not
there, an unknown match type, a regex that does not compile, an empty secret, a bad IP range).
:func:`explain` runs one request through a hook as the server would, without running the
command, and returns every rule step with its reason and the answer the sender would get.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from hookport.hooks.command import find_executable
from hookport.hooks.gohttp import status_known
from hookport.hooks.intake import GoPanic, MultipartError, build_request
from hookport.hooks.model import Hook, MatchRule, Rules
from hookport.hooks.rules import RuleError, Step, compile_regex, evaluate
from hookport.hooks.values import ParameterNodeError
from hookport.http import Request

__all__ = ["Explanation", "explain", "lint", "lint_rules"]

_TYPES = {
    "value", "regex", "payload-hmac-sha1", "payload-hmac-sha256", "payload-hmac-sha512",
    "payload-hash-sha1", "payload-hash-sha256", "payload-hash-sha512", "ip-whitelist",
    "scalr-signature",
}  # fmt: skip
_SOURCES = {
    "header", "url", "query", "payload", "raw-request-body", "request", "string",
    "entire-payload", "entire-headers", "entire-query",
}  # fmt: skip


def _matches(rules: Rules | None, path: str = "trigger-rule") -> Iterator[tuple[str, MatchRule]]:
    if rules is None:
        return
    for name, children in (("and", rules.and_), ("or", rules.or_)):
        for i, child in enumerate(children or ()):
            yield from _matches(child, f"{path}.{name}[{i}]")
    yield from _matches(rules.not_, f"{path}.not")
    if rules.match is not None:
        yield f"{path}.match", rules.match


def _lint_match(path: str, rule: MatchRule) -> Iterator[str]:
    if rule.type not in _TYPES:
        yield f"{path}: unknown match type {rule.type!r}: it is never true"
    if rule.type in ("ip-whitelist", "scalr-signature"):
        for item in rule.ip_range.split() if rule.type == "ip-whitelist" else ():
            try:
                ipaddress.ip_network(item if "/" in item else item + "/32", strict=False)
            except ValueError:
                yield f"{path}: invalid ip-range {item!r}: every request is a 500"
    elif rule.parameter.source not in _SOURCES:
        yield f"{path}: unknown parameter source {rule.parameter.source!r}: every request is a 500"
    if rule.type == "regex":
        try:
            compile_regex(rule.regex)
        except RuleError as exc:
            yield f"{path}: regex {rule.regex!r} does not compile ({exc}): every request is a 500"
    signed = "hmac" in rule.type or "hash" in rule.type or rule.type == "scalr-signature"
    if signed and not rule.secret:
        yield f"{path}: empty secret: every request is a 500"


def lint_rules(rules: Rules, path: str = "filter") -> list[str]:
    """Problems of a rule tree that would make it never true or always an error."""
    return [issue for where, rule in _matches(rules, path) for issue in _lint_match(where, rule)]


def lint(hook: Hook) -> list[str]:
    """Problems of one hook that adnanh would load silently."""
    problems: list[str] = []
    if not hook.id:
        problems.append("no id: the hook is served at the bare prefix only")
    if not hook.execute_command:
        problems.append("no execute-command")
    elif find_executable(hook) is None:
        problems.append(f"command {hook.execute_command!r} is not an executable file (here)")
    for code, key in ((hook.success_code, "success"), (hook.mismatch_code, "mismatch")):
        if code and not status_known(code):
            problems.append(f"{key} code {code} is unknown to Go: adnanh answers 200")
    for path, rule in _matches(hook.trigger_rule):
        problems.extend(_lint_match(path, rule))
    if hook.capture_output_on_error and not hook.capture_output:
        problems.append(
            "include-command-output-in-response-on-error needs include-command-output-in-response"
        )
    return problems


@dataclass(frozen=True, slots=True)
class Explanation:
    """One request through one hook: the rule steps and the answer."""

    triggered: bool
    steps: list[Step]
    status: int
    body: str
    notes: list[str]


def explain(hook: Hook, request: Request) -> Explanation:
    """Evaluate ``request`` against ``hook`` as the server would; no command runs."""
    try:
        req = build_request(request, hook)
    except (MultipartError, GoPanic) as exc:
        return Explanation(False, [], 500, "", [f"the request fails before the rules: {exc}"])
    steps: list[Step] = []
    notes = list(req.problems)
    if hook.trigger_rule is None:
        notes.append("no trigger-rule: every request triggers the hook")
        matched, error = True, None
    else:
        matched, error = evaluate(hook.trigger_rule, req, steps)
    if error is not None and not isinstance(error, ParameterNodeError):
        notes.append(f"rule error: {error}")
        return Explanation(False, steps, 500, "Error occurred while evaluating hook rules.", notes)
    if not matched:
        status = hook.mismatch_code if status_known(hook.mismatch_code) else 200
        return Explanation(False, steps, status, "Hook rules were not satisfied.", notes)
    status = hook.success_code if status_known(hook.success_code) else 200
    body = "(the command's output)" if hook.capture_output else hook.response_message
    return Explanation(True, steps, status, body, notes)

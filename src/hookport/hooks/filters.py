"""Filters: ``trigger-rule``'s language over a *stored* event, for ``when=`` and ``filter``.

A filter is a rule tree (``and``/``or``/``not``/``match``, the same keys and match types as a
hook's ``trigger-rule``) evaluated by the worker against the event as it was received: its
method, headers, query, body and source address, the payload parsed as adnanh parses it. It
runs where a handler would run, so it decides which handlers handle an event, never whether
the event is stored.

A rule that could never be evaluated (an unknown match type or source, a regex that does not
compile, an empty secret) is refused when the filter is compiled, at start-up; at run time a
missing value makes a rule false, and a rule error (a bad signature outside ``or``) makes the
filter false, as it makes ``trigger-rule`` refuse the request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookport.errors import ConfigError
from hookport.events import Event
from hookport.hooks.check import lint_rules
from hookport.hooks.intake import GoPanic, MultipartError, build_request
from hookport.hooks.model import Hook, Rules, parse_rules
from hookport.hooks.rules import Step, evaluate
from hookport.hooks.values import HookRequest, ParameterNodeError
from hookport.http import HeaderMap, Request, RequestHead

__all__ = ["RuleFilter", "compile_filter", "request_of"]

log = logging.getLogger("hookport.hooks")


def request_of(event: Event, hook: Hook | None = None) -> HookRequest:
    """The stored ``event`` as a hook reads a request (``hook``: its content-type override)."""
    head = RequestHead(
        method=event.method,
        path=event.path,
        url=event.path + (f"?{event.query_string}" if event.query_string else ""),
        headers=HeaderMap(list(event.headers)),
        query_string=event.query_string,
        client=event.source_ip,
        params=event.params,
    )
    return build_request(Request.from_head(head, event.body), hook or Hook())


def parse_filter(value: Any, where: str) -> Rules:
    """A rule tree from plain data (TOML, JSON, a dict), checked; ``ConfigError`` naming
    ``where`` for anything that could never be evaluated."""
    if isinstance(value, Rules):
        rules: Rules | None = value
    elif isinstance(value, Mapping):
        try:
            rules = parse_rules(dict(value), where)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    else:
        raise ConfigError(f"{where}: a filter is a rule table (and/or/not/match)")
    if rules is None or rules == Rules():
        raise ConfigError(f"{where}: an empty filter (it needs and, or, not or match)")
    if _has_verify(rules):
        raise ConfigError(f"{where}: verify checks a request as it arrives; put it in the "
                          "hook's trigger-rule (or verify), not in a filter")  # fmt: skip
    # A filter never answers a request: lint's notes about answers do not apply to it.
    problems = [p.split(": every request is a 500")[0] for p in lint_rules(rules)]
    if problems:
        raise ConfigError(f"{where}: " + "; ".join(problems))
    return rules


def _has_verify(rules: Rules) -> bool:
    children = [*(rules.and_ or ()), *(rules.or_ or ()), *([rules.not_] if rules.not_ else [])]
    return rules.verify is not None or any(_has_verify(c) for c in children)


@dataclass(frozen=True, slots=True)
class RuleFilter:
    """A compiled filter: call it with an event for True (handle it) or False."""

    rules: Rules
    where: str
    hook: Hook | None = None

    def __call__(self, event: Event) -> bool:
        """True when the rules match ``event``."""
        return self.explain(event)[0]

    def explain(self, event: Event) -> tuple[bool, list[Step]]:
        """Whether the rules match, and each rule step with its reason."""
        steps: list[Step] = []
        try:
            req = request_of(event, self.hook)
        except (MultipartError, GoPanic) as exc:
            log.info("%s: event %s cannot be read by rules: %s", self.where, event.id, exc)
            return False, steps
        matched, error = evaluate(self.rules, req, steps)
        if error is not None and not isinstance(error, ParameterNodeError):
            log.info("%s: event %s: rule error: %s", self.where, event.id, error)
            return False, steps
        return matched, steps


def compile_filter(value: Any, where: str, *, hook: Hook | None = None) -> RuleFilter:
    """A ``when=`` / ``filter`` value (a rule table, :class:`Rules`) as an :class:`RuleFilter`."""
    return RuleFilter(parse_filter(value, where), where, hook)

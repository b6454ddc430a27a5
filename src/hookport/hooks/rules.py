"""Trigger rules evaluated as adnanh/webhook 2.8 evaluates them, with a trace of why.

Each node gives ``(matched, error)``, as Go's ``Evaluate`` does, because adnanh's answers depend
on the error's kind: a missing value (:class:`ParameterNodeError`) only makes a rule false; a
bad signature (:class:`SignatureError`) and anything else (:class:`RuleError`) make the whole
request a 500, except inside ``or`` where missing values, and signature failures when
``trigger-signature-soft-failures`` is set, count as false. ``not`` keeps its child's error.

Every node appends a :class:`Step` to the trace, so ``hookport hooks check`` can say which rule
matched or failed and why.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import re2

from hookport.errors import ForbiddenError, VerificationError
from hookport.hooks.model import MatchRule, Rules
from hookport.hooks.values import HookRequest, ParameterNodeError, ValueErrorKind
from hookport.hooks.verifiers import VerifyRule

__all__ = ["RuleError", "SignatureError", "Step", "deciding_step", "evaluate", "rejection_reason"]


class SignatureError(Exception):
    """A payload signature did not match (or a Scalr date is outdated)."""


class RuleError(Exception):
    """A rule that cannot be evaluated (bad regex, empty secret, bad IP range, ...)."""


RuleFailure = ParameterNodeError | SignatureError | RuleError | ValueErrorKind
Result = tuple[bool, RuleFailure | None]


@dataclass(frozen=True, slots=True)
class Step:
    """One evaluated rule node: where it is, what it gave, and why."""

    path: str
    matched: bool
    reason: str
    label: str = ""
    """What a leaf tests, without values: ``payload-hmac-sha256 header X-Hub-Signature``."""
    safe_reason: str = ""
    """``reason`` without any value the request sent (for rejection records); "" = reason."""

    @property
    def is_leaf(self) -> bool:
        """A ``match`` or ``verify`` node (the ones that look at the request)."""
        return self.path.endswith((".match", ".verify"))


def deciding_step(trace: list[Step]) -> Step | None:
    """The leaf that decided a failed evaluation: the last one evaluated (``and`` stops at its
    first failing child, ``or`` fails at its last, ``not`` at a child that matched)."""
    return next((step for step in reversed(trace) if step.is_leaf), None)


def rejection_reason(hook_id: str, trace: list[Step]) -> str:
    """Why a hook did not fire, for the rejection record: the rule path of the deciding leaf
    (``and[1].match(payload-hmac-sha256 header X-Hub-Signature)``) and its reason, no values."""
    step = deciding_step(trace)
    if step is None:
        top = trace[-1].reason if trace else "no rule"
        return f"hook {hook_id!r}: trigger rules not satisfied: {top}"
    where = step.path.removeprefix("trigger-rule.")
    if step.label:
        where += f"({step.label})"
    why = step.safe_reason or step.reason
    return f"hook {hook_id!r}: trigger rule {where} failed: {why}"


def evaluate(rules: Rules, req: HookRequest, trace: list[Step] | None = None) -> Result:
    """``Rules.Evaluate``: the first of and/or/not/match that is set decides."""
    return _node(rules, req, "trigger-rule", trace if trace is not None else [])


def _node(rules: Rules, req: HookRequest, path: str, trace: list[Step]) -> Result:
    if rules.and_ is not None:
        result = _and(rules.and_, req, f"{path}.and", trace)
    elif rules.or_ is not None:
        result = _or(rules.or_, req, f"{path}.or", trace)
    elif rules.not_ is not None:
        matched, error = _node(rules.not_, req, f"{path}.not", trace)
        result = (not matched, error)
    elif rules.match is not None:
        return _match(rules.match, req, f"{path}.match", trace)  # it traces itself
    elif rules.verify is not None:
        return _verify(rules.verify, req, f"{path}.verify", trace)
    else:
        result = (False, None)
    kind = "and" if rules.and_ is not None else "or" if rules.or_ is not None else "not"
    reason = f"{kind}: " + (_why(result[1]) or ("true" if result[0] else "false"))
    trace.append(Step(path, result[0], reason if rules != Rules() else "empty rule (false)"))
    return result


def _and(children: tuple[Rules, ...], req: HookRequest, path: str, trace: list[Step]) -> Result:
    for i, child in enumerate(children):
        matched, error = _node(child, req, f"{path}[{i}]", trace)
        if error is not None:
            return False, error
        if not matched:
            return False, None
    return True, None


def _or(children: tuple[Rules, ...], req: HookRequest, path: str, trace: list[Step]) -> Result:
    for i, child in enumerate(children):
        matched, error = _node(child, req, f"{path}[{i}]", trace)
        if error is not None and not isinstance(error, ParameterNodeError):
            soft = req.soft_signature_failures and isinstance(error, SignatureError)
            if not soft:
                return False, error
        if matched:
            return True, None
    return False, None


def _why(error: RuleFailure | None) -> str:
    if error is None:
        return ""
    return f"{type(error).__name__}: {error}"


def _verify(rule: VerifyRule, req: HookRequest, path: str, trace: list[Step]) -> Result:
    """A hookport verifier as a rule: a refusal is a signature failure."""
    verifier = rule.verifier
    scheme = verifier.scheme
    if req.request is None:
        error = RuleError("no request to verify")
        trace.append(Step(path, False, f"verify {scheme}: {_why(error)}", scheme))
        return False, error
    try:
        verifier.verify(req.request, time.time())
    except (VerificationError, ForbiddenError) as exc:
        failure = SignatureError(exc.message)  # hookport's public messages: never a value
        trace.append(Step(path, False, f"verify {scheme}: {_why(failure)}", scheme))
        return False, failure
    trace.append(Step(path, True, f"verify {scheme}: accepted", scheme))
    return True, None


def _label(rule: MatchRule) -> str:
    if rule.type == "ip-whitelist":
        return f"ip-whitelist {rule.ip_range}"
    if rule.type == "scalr-signature":
        return "scalr-signature"
    return f"{rule.type} {rule.parameter.source} {rule.parameter.name}"


def _safe(rule: MatchRule, exc: RuleFailure) -> str:
    """A failure's reason without the request's values (a signature it sent, a header)."""
    if isinstance(exc, SignatureError):
        what = "outdated" if str(exc).endswith("outdated") else "does not match"
        return f"{rule.type}: SignatureError: signature {what}"
    if isinstance(exc, RuleError):
        text = re.split("['\"]", str(exc), maxsplit=1)[0].rstrip()  # quoted: a request value
        return f"{rule.type}: RuleError: {text}"
    return f"{rule.type}: {_why(exc)}"  # a missing value: its key, from the hooks file


def _match(rule: MatchRule, req: HookRequest, path: str, trace: list[Step]) -> Result:
    label = _label(rule)
    try:
        matched, reason = _test(rule, req)
    except (ParameterNodeError, SignatureError, RuleError, ValueErrorKind) as exc:
        trace.append(Step(path, False, f"{rule.type}: {_why(exc)}", label, _safe(rule, exc)))
        return False, exc
    trace.append(Step(path, matched, f"{rule.type}: {reason}", label))
    return matched, None


def _test(rule: MatchRule, req: HookRequest) -> tuple[bool, str]:
    if rule.type == "ip-whitelist":
        return _ip_whitelist(req.remote_addr, rule.ip_range)
    if rule.type == "scalr-signature":
        return _scalr(req, rule.secret, time.time())
    value = req.get(rule.parameter)
    if rule.type == "value":
        ok = hmac.compare_digest(value.encode("utf-8", "surrogateescape"), rule.value.encode())
        return ok, f"{rule.parameter.source} {rule.parameter.name!r} " + (
            "equals the value" if ok else "differs from the value"
        )
    if rule.type == "regex":
        found = compile_regex(rule.regex).search(value) is not None
        return found, f"{rule.regex!r} {'matches' if found else 'does not match'}"
    digests: dict[str, Callable[..., object]] = {
        "sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512,
    }  # fmt: skip
    for prefix in ("payload-hmac-", "payload-hash-"):
        algo = rule.type.removeprefix(prefix)
        if rule.type.startswith(prefix) and algo in digests:
            return _check_mac(req.body, rule.secret, value, algo)
    return False, f"unknown match type {rule.type!r} (never true)"


@functools.lru_cache(maxsize=256)
def compile_regex(pattern: str) -> re2._Regexp[str]:
    """``pattern`` compiled by RE2, the engine and syntax of Go's ``regexp``: what adnanh
    accepts, in linear time whatever the request sends; ``RuleError`` if it does not compile."""
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        text = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise RuleError(f"error parsing regexp: {text}") from None


def _signatures(source: str, prefix: str) -> list[str]:
    if "," in source:
        return [p.removeprefix(prefix) for p in source.split(",") if p.startswith(prefix)]
    return [source.removeprefix(prefix)]


def _check_mac(body: bytes, secret: str, header: str, algo: str) -> tuple[bool, str]:
    if not secret:
        raise RuleError("signature validation secret can not be empty")
    expected = hmac.new(secret.encode(), body, algo).hexdigest()
    candidates = _signatures(header, f"{algo}=")
    if any(hmac.compare_digest(c.encode(), expected.encode()) for c in candidates):
        return True, f"HMAC-{algo.upper()} signature valid"
    empty = " on empty payload" if not body else ""
    shown = f"signatures {candidates}" if "," in header else f"signature {header}"
    raise SignatureError(f"invalid payload {shown}{empty}")


def _ip_whitelist(remote: str, ranges: str) -> tuple[bool, str]:
    try:
        ip = ipaddress.ip_address(remote.strip(" []"))
    except ValueError:
        raise RuleError(f"invalid IP address found in remote address '{remote}'") from None
    for item in ranges.split():
        cidr = item if "/" in item else item + "/32"
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise RuleError(f"invalid CIDR address: {cidr}") from None
        if ip in network:
            return True, f"{ip} is in {cidr}"
    return False, f"{ip} is not in {ranges!r}"


def _scalr(req: HookRequest, key: str, now: float) -> tuple[bool, str]:
    signature, date = req.headers.get("X-Signature"), req.headers.get("Date")
    if signature is None or date is None:
        return False, "no X-Signature or Date header"
    if not key:
        raise RuleError("signature validation signing key can not be empty")
    expected = hmac.new(key.encode(), req.body + str(date).encode(), "sha1").hexdigest()
    if not hmac.compare_digest(str(signature).encode(), expected.encode()):
        raise SignatureError(f"invalid payload signature {signature}")
    try:
        sent = datetime.strptime(str(date), "%a %d %b %Y %H:%M:%S %Z")
    except ValueError:
        raise RuleError(f'cannot parse Date "{date}" as "Mon 02 Jan 2006 15:04:05 MST"') from None
    from calendar import timegm

    if abs(now - timegm(sent.timetuple())) > 300:
        raise SignatureError("invalid payload signature outdated")
    return True, "Scalr signature valid and recent"

"""``hookport hooks convert``: a hooks file written as TOML ``[[hooks]]`` tables.

The TOML says what adnanh understood, not what the file spelled: keys in adnanh's spelling,
values after its coercions (``value: 42`` becomes ``"42"``), defaults left out. Reading the
TOML back (``hookport serve --hooks hooks.toml``) gives the same hooks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from hookport.hooks.model import Argument, Header, Hook, MatchRule, Rules

__all__ = ["hook_to_data", "to_toml"]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _argument(arg: Argument) -> dict[str, Any]:
    out: dict[str, Any] = {"source": arg.source, "name": arg.name, "envname": arg.envname}
    out = {k: v for k, v in out.items() if v}
    if arg.base64decode:
        out["base64decode"] = True
    return out


def _match(rule: MatchRule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": rule.type, "regex": rule.regex, "secret": rule.secret, "value": rule.value,
        "ip-range": rule.ip_range,
    }  # fmt: skip
    out = {k: v for k, v in out.items() if v}
    parameter = _argument(rule.parameter)
    if parameter:
        out["parameter"] = parameter
    return out


def _rules(rules: Rules) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rules.and_ is not None:
        out["and"] = [_rules(r) for r in rules.and_]
    if rules.or_ is not None:
        out["or"] = [_rules(r) for r in rules.or_]
    if rules.not_ is not None:
        out["not"] = _rules(rules.not_)
    if rules.match is not None:
        out["match"] = _match(rules.match)
    if rules.verify is not None:
        out["verify"] = dict(rules.verify.spec)
    return out


def _headers(headers: Iterable[Header]) -> list[dict[str, str]]:
    return [{"name": h.name, "value": h.value} for h in headers]


def hook_to_data(hook: Hook) -> dict[str, Any]:
    """One hook as plain data with adnanh's keys, defaults omitted."""
    fields: list[tuple[str, Any]] = [
        ("id", hook.id),
        ("execute-command", hook.execute_command),
        ("command-working-directory", hook.command_working_directory),
        ("response-message", hook.response_message),
        ("include-command-output-in-response", hook.capture_output),
        ("include-command-output-in-response-on-error", hook.capture_output_on_error),
        ("success-http-response-code", hook.success_code),
        ("trigger-rule-mismatch-http-response-code", hook.mismatch_code),
        ("trigger-signature-soft-failures", hook.soft_signature_failures),
        ("incoming-payload-content-type", hook.incoming_content_type),
        ("http-methods", list(hook.http_methods)),
        ("timeout", hook.timeout),
        ("concurrency", hook.concurrency),
        ("response-headers", _headers(hook.response_headers)),
        ("pass-arguments-to-command", [_argument(a) for a in hook.pass_arguments]),
        ("pass-environment-to-command", [_argument(a) for a in hook.pass_environment]),
        ("pass-file-to-command", [_argument(a) for a in hook.pass_file]),
        ("parse-parameters-as-json", [_argument(a) for a in hook.json_parameters]),
    ]
    out = {k: v for k, v in fields if v not in ("", 0, False, None, [])}
    if hook.trigger_rule is not None:
        out["trigger-rule"] = _rules(hook.trigger_rule)
    return out


def _key(key: str) -> str:
    return key if _BARE.match(key) else _string(key)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_scalar(v)}" for k, v in value.items()) + "}"
    return _string(str(value))


def _inline(value: Any) -> bool:
    """A small table of scalars reads best inline: ``parameter = {source = "url", ...}``."""
    return isinstance(value, dict) and all(
        not isinstance(v, dict | list) or (isinstance(v, list) and not _is_tables(v))
        for v in value.values()
    )


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _table(data: dict[str, Any], path: str, lines: list[str]) -> None:
    for key, value in data.items():
        if _inline(value) or (not isinstance(value, dict) and not _is_tables(value)):
            lines.append(f"{_key(key)} = {_scalar(value)}")
    for key, value in data.items():
        sub = f"{path}.{_key(key)}"
        if isinstance(value, dict) and not _inline(value):
            lines.extend(["", f"[{sub}]"])
            _table(value, sub, lines)
        elif _is_tables(value):
            for item in value:
                lines.extend(["", f"[[{sub}]]"])
                _table(item, sub, lines)


def to_toml(hooks: Iterable[Hook]) -> str:
    """The hooks as a TOML document of ``[[hooks]]`` tables."""
    lines = ["# hookport hooks file: adnanh/webhook hooks as TOML (hookport hooks convert)"]
    for hook in hooks:
        lines.extend(["", "[[hooks]]"])
        _table(hook_to_data(hook), "hooks", lines)
    return "\n".join(lines) + "\n"

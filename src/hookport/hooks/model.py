"""The hook definition: adnanh/webhook's ``Hook`` and its parts, decoded as Go decodes them.

adnanh reads a hooks file with ghodss/yaml: YAML becomes JSON, then ``encoding/json`` fills the
``Hook`` struct. What that accepts, :func:`parse_hooks` accepts, with the same coercions:

- keys match exactly, else case-insensitively; unknown keys are ignored;
- a number or boolean given where a string belongs becomes that string (``value: 42`` is
  ``"42"``; floats as float32, ``1.5``);
- ``null`` leaves the zero value; any other type mismatch fails the whole file.

Two keys are hookport's own (adnanh ignores them, so a file stays valid for both):
``timeout`` (seconds or a duration such as ``"5m"``) and ``concurrency`` (commands of this hook
at once). So is the rule node ``verify`` (:mod:`hookport.hooks.verifiers`): a hookport
verifier inside a ``trigger-rule``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hookport.config import parse_duration
from hookport.errors import ConfigError
from hookport.hooks.gojson import format_float32
from hookport.hooks.verifiers import VerifyRule, parse_verify_rule

__all__ = ["Argument", "Header", "Hook", "MatchRule", "Rules", "parse_hooks"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Argument:
    """A request value reference: ``source`` (header, url, payload, ...) and ``name``."""

    source: str = ""
    name: str = ""
    envname: str = ""
    base64decode: bool = False


@dataclass(frozen=True, slots=True)
class Header:
    """A response header a hook sends."""

    name: str = ""
    value: str = ""


@dataclass(frozen=True, slots=True)
class MatchRule:
    """``{"match": {...}}``: one test of a request value."""

    type: str = ""
    regex: str = ""
    secret: str = ""
    value: str = ""
    parameter: Argument = field(default_factory=Argument)
    ip_range: str = ""


@dataclass(frozen=True, slots=True)
class Rules:
    """A rule node; the first of ``and``, ``or``, ``not``, ``match``, ``verify`` that is set
    decides (``verify`` is hookport's own)."""

    and_: tuple[Rules, ...] | None = None
    or_: tuple[Rules, ...] | None = None
    not_: Rules | None = None
    match: MatchRule | None = None
    verify: VerifyRule | None = None


@dataclass(frozen=True, slots=True)
class Hook:
    """One hook, served at ``/{prefix}/{id}``."""

    id: str = ""
    execute_command: str = ""
    command_working_directory: str = ""
    response_message: str = ""
    response_headers: tuple[Header, ...] = ()
    capture_output: bool = False
    capture_output_on_error: bool = False
    pass_environment: tuple[Argument, ...] = ()
    pass_arguments: tuple[Argument, ...] = ()
    pass_file: tuple[Argument, ...] = ()
    json_parameters: tuple[Argument, ...] = ()
    trigger_rule: Rules | None = None
    mismatch_code: int = 0
    soft_signature_failures: bool = False
    incoming_content_type: str = ""
    success_code: int = 0
    http_methods: tuple[str, ...] = ()
    timeout: float | None = None
    concurrency: int | None = None


class _Fields:
    """Go's field lookup: the exact key first, else the last case-insensitive match."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = {_key(k): v for k, v in data.items()}
        self.where = where

    def get(self, name: str) -> Any:
        if name in self.data:
            return self.data[name]
        found = None
        for key, value in self.data.items():
            if key.lower() == name.lower():
                found = value
        return found


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float):
        return format_float32(key)
    if isinstance(key, int | str):
        return str(key)
    raise ConfigError(f"unsupported map key {key!r}")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string"


def _mismatch(value: Any, where: str, want: str) -> ConfigError:
    return ConfigError(f"cannot unmarshal {_kind(value)} into {where} of type {want}")


def _str(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float32(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    raise _mismatch(value, where, "string")


def _bool(value: Any, where: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise _mismatch(value, where, "bool")


def _int(value: Any, where: str) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _mismatch(value, where, "int")


def _list(value: Any, where: str, item: Callable[[Any, str], T]) -> tuple[T, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _mismatch(value, where, "array")
    return tuple(item(v, f"{where}[{i}]") for i, v in enumerate(value))


def _object(value: Any, where: str) -> _Fields | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _mismatch(value, where, "object")
    return _Fields(value, where)


def parse_argument(value: Any, where: str) -> Argument:
    """An ``Argument`` object (``source``, ``name``, ``envname``, ``base64decode``)."""
    f = _object(value, where)
    if f is None:
        return Argument()
    return Argument(
        source=_str(f.get("source"), f"{where}.source"),
        name=_str(f.get("name"), f"{where}.name"),
        envname=_str(f.get("envname"), f"{where}.envname"),
        base64decode=_bool(f.get("base64decode"), f"{where}.base64decode"),
    )


def _header(value: Any, where: str) -> Header:
    f = _object(value, where)
    if f is None:
        return Header()
    return Header(_str(f.get("name"), f"{where}.name"), _str(f.get("value"), f"{where}.value"))


def _match(value: Any, where: str) -> MatchRule | None:
    f = _object(value, where)
    if f is None:
        return None
    return MatchRule(
        type=_str(f.get("type"), f"{where}.type"),
        regex=_str(f.get("regex"), f"{where}.regex"),
        secret=_str(f.get("secret"), f"{where}.secret"),
        value=_str(f.get("value"), f"{where}.value"),
        parameter=parse_argument(f.get("parameter"), f"{where}.parameter"),
        ip_range=_str(f.get("ip-range"), f"{where}.ip-range"),
    )


def parse_rules(value: Any, where: str) -> Rules | None:
    """A rule tree (``and``/``or``/``not``/``match``), or None for ``null``."""
    f = _object(value, where)
    if f is None:
        return None
    and_ = f.get("and")
    or_ = f.get("or")
    return Rules(
        and_=None if and_ is None else _list(and_, f"{where}.and", _child),
        or_=None if or_ is None else _list(or_, f"{where}.or", _child),
        not_=parse_rules(f.get("not"), f"{where}.not"),
        match=_match(f.get("match"), f"{where}.match"),
        verify=_verify(f.get("verify"), f"{where}.verify"),
    )


def _verify(value: Any, where: str) -> VerifyRule | None:
    return None if value is None else parse_verify_rule(value, where)


def _child(value: Any, where: str) -> Rules:
    return parse_rules(value, where) or Rules()


def _timeout(value: Any, where: str) -> float | None:
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if seconds <= 0:
        raise ConfigError(f"{where}: a timeout must be positive")
    return seconds


def _concurrency(value: Any, where: str) -> int | None:
    if value is None:
        return None
    number = _int(value, where)
    if number < 1:
        raise ConfigError(f"{where}: concurrency must be at least 1")
    return number


def parse_hook(value: Any, where: str) -> Hook:
    """One hook object."""
    f = _object(value, where)
    if f is None:
        return Hook()
    args = parse_argument
    return Hook(
        id=_str(f.get("id"), f"{where}.id"),
        execute_command=_str(f.get("execute-command"), f"{where}.execute-command"),
        command_working_directory=_str(
            f.get("command-working-directory"), f"{where}.command-working-directory"
        ),
        response_message=_str(f.get("response-message"), f"{where}.response-message"),
        response_headers=_list(f.get("response-headers"), f"{where}.response-headers", _header),
        capture_output=_bool(
            f.get("include-command-output-in-response"),
            f"{where}.include-command-output-in-response",
        ),
        capture_output_on_error=_bool(
            f.get("include-command-output-in-response-on-error"),
            f"{where}.include-command-output-in-response-on-error",
        ),
        pass_environment=_list(
            f.get("pass-environment-to-command"), f"{where}.pass-environment-to-command", args
        ),
        pass_arguments=_list(
            f.get("pass-arguments-to-command"), f"{where}.pass-arguments-to-command", args
        ),
        pass_file=_list(f.get("pass-file-to-command"), f"{where}.pass-file-to-command", args),
        json_parameters=_list(
            f.get("parse-parameters-as-json"), f"{where}.parse-parameters-as-json", args
        ),
        trigger_rule=parse_rules(f.get("trigger-rule"), f"{where}.trigger-rule"),
        mismatch_code=_int(
            f.get("trigger-rule-mismatch-http-response-code"),
            f"{where}.trigger-rule-mismatch-http-response-code",
        ),
        soft_signature_failures=_bool(
            f.get("trigger-signature-soft-failures"), f"{where}.trigger-signature-soft-failures"
        ),
        incoming_content_type=_str(
            f.get("incoming-payload-content-type"), f"{where}.incoming-payload-content-type"
        ),
        success_code=_int(
            f.get("success-http-response-code"), f"{where}.success-http-response-code"
        ),
        http_methods=_list(f.get("http-methods"), f"{where}.http-methods", _str),
        timeout=_timeout(f.get("timeout"), f"{where}.timeout"),
        concurrency=_concurrency(f.get("concurrency"), f"{where}.concurrency"),
    )


def parse_hooks(data: Any) -> tuple[Hook, ...]:
    """Every hook of a decoded hooks file (a list of hook objects; ``null`` is none)."""
    return _list(data, "hooks", parse_hook)

"""JSON as adnanh/webhook (Go's ``encoding/json``) reads and writes it.

The hooks it serves see payload values through Go's eyes, so hookport reproduces three details:

- numbers are decoded with ``UseNumber``: they keep their text (``1.0`` stays ``1.0``), which
  :class:`Number` carries;
- only the first JSON value of a body is read (trailing data is ignored), invalid UTF-8 becomes
  U+FFFD, and ``NaN``/``Infinity`` are not JSON;
- :func:`marshal` writes compact JSON with sorted keys, HTML-safe escapes (``<`` as ``\\u003c``)
  and Go 1.19's control-character escapes, as ``entire-payload`` and friends need.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

__all__ = ["Number", "decode_first", "format_float32", "marshal", "to_text"]


class Number(str):
    """A JSON number kept as its source text (Go's ``json.Number``)."""

    __slots__ = ()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(
    parse_float=Number, parse_int=Number, parse_constant=_reject_constant, strict=False
)


def decode_first(text: str) -> Any:
    """The first JSON value in ``text`` (leading whitespace skipped; trailing data ignored).

    Raises ``ValueError`` when there is no valid value, as Go's ``Decoder.Decode`` fails.
    """
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        raise ValueError("unexpected end of JSON input")
    value, _ = _DECODER.raw_decode(stripped)
    return value


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPES.update({c: f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"})


def _string(value: str) -> str:
    out = ['"']
    for ch in value:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:  # a lone surrogate is invalid UTF-8 in Go: U+FFFD
            out.append("\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def marshal(value: Any) -> str:
    """``json.Marshal`` of a decoded value: compact, keys sorted, HTML-safe escapes."""
    if value is None or isinstance(value, bool):
        return _CONSTANTS[value]
    if isinstance(value, Number | int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, float):
        return _float64(value)
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{_string(str(k))}:{marshal(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(marshal(v) for v in value) + "]"
    raise TypeError(f"cannot marshal {type(value).__name__}")


_CONSTANTS = {None: "null", True: "true", False: "false"}


def to_text(value: Any) -> str:
    """A value as adnanh passes it to commands and rules: ``fmt.Sprintf("%v")``, or JSON for
    objects and arrays."""
    if isinstance(value, dict | list):
        return marshal(value)
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return _CONSTANTS[value]
    return str(value)


def _float64(value: float) -> str:
    # Payload numbers are Numbers; a float only comes from a YAML config value.
    if math.isnan(value) or math.isinf(value):
        raise ValueError("unsupported value: NaN or Inf")
    return repr(value).removesuffix(".0")


def format_float32(value: float) -> str:
    """``strconv.FormatFloat(v, 'g', -1, 32)``: how ghodss/yaml turns a YAML float into the
    string a string field receives."""
    import struct

    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    f32 = struct.unpack("f", struct.pack("f", value))[0]
    if f32 == 0:
        return "0"
    text = f"{f32:.8e}"
    for digits in range(1, 10):  # the shortest decimal that reads back as the same float32
        text = f"{f32:.{digits - 1}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == f32:
            break
    sign, digit_tuple, exponent = Decimal(text).normalize().as_tuple()
    shown = "".join(map(str, digit_tuple))
    point = len(shown) + int(exponent)  # where the decimal point falls in the digits
    neg = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:  # Go's %e threshold for the shortest 'g' form
        tail = f".{shown[1:]}" if len(shown) > 1 else ""
        exp = point - 1
        return f"{neg}{shown[0]}{tail}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{shown}"
    whole, frac = (shown + "0" * max(point - len(shown), 0))[:point], shown[point:]
    return f"{neg}{whole}.{frac}" if frac else f"{neg}{whole}"

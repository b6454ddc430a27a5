"""The Go behaviour adnanh's answers depend on: JSON, content sniffing, status texts, header
names, the hook file's decoding coercions and the template subset."""

from __future__ import annotations

import pytest

from hookport.errors import ConfigError
from hookport.hooks.gohttp import canonical_header, detect_content_type, status_known
from hookport.hooks.gojson import decode_first, format_float32, marshal, to_text
from hookport.hooks.gotemplate import render_template
from hookport.hooks.loading import read_hooks_file
from hookport.hooks.model import parse_hooks


def test_json_keeps_number_text_and_reads_only_the_first_value() -> None:
    value = decode_first(' {"n": 1.50, "e": 1e3, "s": "x"} trailing')
    assert marshal(value) == '{"e":1e3,"n":1.50,"s":"x"}'
    with pytest.raises(ValueError, match="NaN is not JSON"):
        decode_first('{"n": NaN}')


def test_marshal_escapes_as_go_1_19() -> None:
    assert marshal({"b": "<a&b>\u2028", "a": "\x08\n\t"}) == (
        '{"a":"\\u0008\\n\\t","b":"\\u003ca\\u0026b\\u003e\\u2028"}'
    )
    assert to_text(None) == "<nil>" and to_text(True) == "true" and to_text([1]) == "[1]"


@pytest.mark.parametrize(
    ("value", "text"),
    [(42.0, "42"), (1.5, "1.5"), (0.1, "0.1"), (3.14159265, "3.1415927"),
     (1234567.0, "1.234567e+06"), (0.00001, "1e-05"), (-2.5, "-2.5"), (123456.0, "123456")],
)  # fmt: skip
def test_yaml_floats_become_float32_strings(value: float, text: str) -> None:
    assert format_float32(value) == text


@pytest.mark.parametrize(
    ("body", "ctype"),
    [(b"hello", "text/plain; charset=utf-8"), (b"  <HTML>x", "text/html; charset=utf-8"),
     (b"<h1>", "text/html; charset=utf-8"), (b"<?xml x", "text/xml; charset=utf-8"),
     (b"\x89PNG\r\n\x1a\nxx", "image/png"), (b"\x00\x01bin", "application/octet-stream"),
     (b"%PDF-1.4", "application/pdf"), (b"PK\x03\x04", "application/zip"),
     (b"{\"json\": 1}", "text/plain; charset=utf-8"), (b"<hr>", "text/plain; charset=utf-8")],
)  # fmt: skip
def test_content_sniffing(body: bytes, ctype: str) -> None:
    assert detect_content_type(body) == ctype


def test_status_texts_and_header_names() -> None:
    assert status_known(201) and status_known(418) and not status_known(299)
    assert not status_known(499) and not status_known(0)
    assert canonical_header("x-hub-SIGNATURE") == "X-Hub-Signature"
    assert canonical_header("api_key") == "Api_key"
    assert canonical_header("bad header") == "bad header"


def test_decoding_coerces_as_ghodss_yaml() -> None:
    (hook,) = parse_hooks(
        [{"ID": "x", "Execute-Command": "/bin/true", "unknown": 1,
          "trigger-rule": {"match": {"type": "value", "value": 42,
                                     "parameter": {"source": "url", "name": "t"}}},
          "response-message": True, "success-http-response-code": 201.0}]
    )  # fmt: skip
    assert hook.id == "x" and hook.execute_command == "/bin/true"
    assert hook.trigger_rule is not None and hook.trigger_rule.match is not None
    assert hook.trigger_rule.match.value == "42"
    assert hook.response_message == "true" and hook.success_code == 201


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "x", "http-methods": "POST"},
        {"id": ["x"]},
        {"id": "x", "include-command-output-in-response": "true"},
    ],
)
def test_type_mismatches_fail_the_file(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="cannot unmarshal"):
        parse_hooks([bad])


def test_an_object_is_not_a_hooks_file() -> None:
    with pytest.raises(ConfigError, match="cannot unmarshal object"):
        parse_hooks({"id": "x"})


def test_yaml_dates_stay_strings(tmp_path: object) -> None:
    from pathlib import Path

    file = Path(str(tmp_path)) / "h.yaml"
    file.write_text("- id: 2024-01-02\n  execute-command: /bin/true\n  response-message: yes\n")
    (hook,) = read_hooks_file(file)
    assert hook.id == "2024-01-02" and hook.response_message == "true"


def test_template_subset() -> None:
    env = {"S": 'a"b<c', "CREDENTIALS_DIRECTORY": ""}
    assert render_template('x {{ getenv "S" | js }} y', env) == 'x a\\"b\\u003Cc y'
    assert render_template('x  {{- getenv "S" | html -}}  y', env) == "xa&#34;b&lt;cy"
    assert render_template("{{/* note */}}{{ `raw` }}", env) == "raw"
    assert render_template('{{ cat "/nonexistent/file" }}', env) == ""
    assert render_template('{{ credential "S" }}', env) == 'a"b<c'
    for bad in ("{{ .Value }}", "{{ if 1 }}", '{{ env "S" }}', "{{ unclosed"):
        with pytest.raises(ConfigError):
            render_template(bad, env)

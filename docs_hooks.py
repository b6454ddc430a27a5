"""mkdocs hooks: the admin API page and the CLI reference are generated at build time.

``docs/admin-api.md`` holds ``<!-- admin-api-operations -->``; this hook replaces it with one
section per operation of :func:`hookport.admin.openapi.openapi_spec`, and publishes the same
document as ``openapi.json`` beside the page. A route added to the admin API appears in the
docs with no edit here.

``docs/cli.md`` holds ``<!-- cli-reference -->``, replaced by every command of the ``hookport``
click group: usage, help and a table of its options (the same text as ``--help``), so a
command or option added to the CLI is documented with no edit here.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from mkdocs.structure.files import File, Files

MARKER = "<!-- admin-api-operations -->"
CLI_MARKER = "<!-- cli-reference -->"


def _spec() -> dict[str, Any]:
    from hookport.admin.api import AdminAPI
    from hookport.admin.openapi import openapi_spec

    return openapi_spec(AdminAPI(None, None, None).routes())  # type: ignore[arg-type]


def on_files(files: Files, config: Any) -> Files:
    files.append(
        File.generated(config, "openapi.json", content=json.dumps(_spec(), indent=2) + "\n")
    )
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, render_cli())
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render(_spec()))


def render_cli() -> str:
    """Markdown for every ``hookport`` command, subcommands under their group."""
    import click

    from hookport.cli import cli

    lines: list[str] = []

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name in sorted(command.commands):
                walk(command.commands[name], [*path, name])
            return
        ctx = click.Context(command, info_name=" ".join(path))
        lines.extend(["", f"### `{' '.join(path)}`", "", "```text", command.get_usage(ctx)])
        lines.extend(["```", "", inspect.cleandoc(command.help or "").replace("\b\n", "")])
        options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
        if options:
            lines.extend(["", "| option | what it does |", "|---|---|"])
            for option in options:
                names, help_text = option.get_help_record(ctx) or ("", "")
                # a pipe in a code span does not split a table cell; elsewhere it must be escaped
                help_text = help_text.replace("|", "\\|")
                lines.append(f"| `{names}` | {help_text} |")
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        if arguments:
            shown = ", ".join(f"`{a.make_metavar(ctx)}`" for a in arguments)
            lines.extend(["", f"Arguments: {shown}."])

    walk(cli, ["hookport"])
    return "\n".join(lines)


def render(spec: dict[str, Any]) -> str:
    from hookport.admin.openapi import operations

    ops = operations(spec)
    lines = ["| method | path | what it does | token |", "|---|---|---|---|"]
    for method, path, op in ops:
        token = "yes" if "security" in op else "no"
        lines.append(f"| `{method}` | `{path}` | {op['summary']} | {token} |")
    for method, path, op in ops:
        lines += ["", f"### `{method} {path}`", "", op["summary"] + "."]
        if op.get("description"):
            lines += ["", op["description"]]
        params = op.get("parameters", [])
        if params:
            lines += ["", "| parameter | in | type | |", "|---|---|---|---|"]
            for p in params:
                schema = p.get("schema", {})
                kind = schema.get("type", "")
                if "enum" in schema:
                    kind += ": " + ", ".join(f"`{v}`" for v in schema["enum"])
                lines.append(
                    f"| `{p['name']}` | {p['in']} | {kind} | {p.get('description', '')} |"
                )
        if "requestBody" in op:
            body = op["requestBody"]["content"]["application/json"]["schema"]
            lines += ["", f"Body (JSON, optional): `{json.dumps(body.get('properties', {}))}`"]
        answers = ", ".join(
            f"`{code}` {r['description']}" for code, r in sorted(op["responses"].items())
        )
        lines += ["", f"Answers: {answers}."]
    return "\n".join(lines)

"""mkdocs hooks: generated pages, the README's tutorial in the docs, readable docstrings.

``docs/admin-api.md`` holds ``<!-- admin-api-operations -->``; this hook replaces it with one
section per operation of :func:`hookport.admin.openapi.openapi_spec`, and publishes the same
document as ``openapi.json`` beside the page. A route added to the admin API appears in the
docs with no edit here.

``docs/cli.md`` holds ``<!-- cli-reference -->``, replaced by every command of the ``hookport``
click group: usage, help and a table of its options (the same text as ``--help``), so a
command or option added to the CLI is documented with no edit here.

``docs/configuration.md`` holds ``<!-- settings-reference -->``, replaced by a table of every
``hookport.toml`` key and ``HOOKPORT_*`` variable walked from the pydantic models of
:mod:`hookport.config` (type, default, description: the field's docstring).

``docs/tutorial.md`` includes the README's tutorial with pymdownx.snippets
(``--8<-- "README.md:tutorial"``). The README's links are relative to the repository root; in
a page that includes README.md they are rewritten after the inclusion: ``docs/x.md`` becomes
``x.md``, and a repository file outside docs/ (``examples/github_notify.py``) is published
beside the site as ``repo/<path>`` and linked there.

Docstrings use Sphinx roles (``:class:`Receiver```), which mkdocstrings leaves as text; the
HTML of every page gets them as code, linked where the name is a full ``hookport.`` path.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor
from mkdocs.structure.files import File, Files

MARKER = "<!-- admin-api-operations -->"
CLI_MARKER = "<!-- cli-reference -->"


def _spec() -> dict[str, Any]:
    from hookport.admin.api import AdminAPI
    from hookport.admin.openapi import openapi_spec

    return openapi_spec(AdminAPI(None, None, None).routes())  # type: ignore[arg-type]


README = Path(__file__).parent / "README.md"
SNIPPET_OF_README = '--8<-- "README.md'
REPO_COPY = "repo/"
_LINK = re.compile(r"\]\((?!https?:|mailto:|#)([^)\s#]+)(#[^)\s]*)?\)")


def readme_repository_links() -> list[str]:
    """Files outside docs/ that the README's included part links to (``examples/...``)."""
    text = README.read_text(encoding="utf-8")
    start, end = text.index("[start:tutorial]"), text.index("[end:tutorial]")
    targets = {m.group(1) for m in _LINK.finditer(text[start:end])}
    root = README.parent
    return sorted(t for t in targets if not t.startswith("docs/") and (root / t).is_file())


class _ReadmeLinks(Preprocessor):
    """Rewrites README-relative links in a page that includes README.md (after snippets)."""

    def __init__(self, md: Markdown, state: dict[str, bool]) -> None:
        super().__init__(md)
        self.state = state

    def run(self, lines: list[str]) -> list[str]:
        if not self.state.get("readme"):
            return lines
        published = set(readme_repository_links())

        def fix(match: re.Match[str]) -> str:
            target, anchor = match.group(1), match.group(2) or ""
            if target.startswith("docs/"):
                target = target.removeprefix("docs/")
            elif target in published:
                target = REPO_COPY + target
            return f"]({target}{anchor})"

        return [_LINK.sub(fix, line) for line in lines]


class ReadmeLinksExtension(Extension):
    """Registers :class:`_ReadmeLinks` after pymdownx.snippets (priority 32) has included."""

    def __init__(self) -> None:
        super().__init__()
        self.state: dict[str, bool] = {}

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(_ReadmeLinks(md, self.state), "hookport_readme_links", 31)


_README_LINKS = ReadmeLinksExtension()


def on_config(config: Any) -> Any:
    config.markdown_extensions.append(_README_LINKS)
    return config


def on_files(files: Files, config: Any) -> Files:
    files.append(
        File.generated(config, "openapi.json", content=json.dumps(_spec(), indent=2) + "\n")
    )
    root = README.parent
    for target in readme_repository_links():
        files.append(
            File.generated(config, REPO_COPY + target, content=(root / target).read_bytes())
        )
    return files


_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|data|mod|exc|obj):<code>(~?)([^<]+)</code>")


def _role(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2).strip()
    title = target.rsplit(".", 1)[-1] if short else target
    if target.startswith("hookport."):
        return f'<autoref identifier="{target}" optional><code>{title}</code></autoref>'
    return f"<code>{title}</code>"


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    return _ROLE.sub(_role, html)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    _README_LINKS.state["readme"] = SNIPPET_OF_README in markdown
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, render_settings())
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
                lines.append(f"| `{p['name']}` | {p['in']} | {kind} | {p.get('description', '')} |")
        if "requestBody" in op:
            body = op["requestBody"]["content"]["application/json"]["schema"]
            lines += ["", f"Body (JSON, optional): `{json.dumps(body.get('properties', {}))}`"]
        answers = ", ".join(
            f"`{code}` {r['description']}" for code, r in sorted(op["responses"].items())
        )
        lines += ["", f"Answers: {answers}."]
    return "\n".join(lines)


SETTINGS_MARKER = "<!-- settings-reference -->"


def _settings_text(text: str) -> str:
    """A docstring as one line of Markdown: ``code`` spans kept, line breaks and pipes escaped."""
    return " ".join(inspect.cleandoc(text).split()).replace("``", "`").replace("|", "\\|")


def _intro(doc: str) -> str:
    """A section model's docstring without the ``[table]:`` its heading already shows."""
    text = re.sub(r"^``\[[^`]+\]``:\s*", "", inspect.cleandoc(doc))
    return _settings_text(text[:1].upper() + text[1:])


def _type_name(tp: Any, metadata: Sequence[Any] = ()) -> str:
    """How a setting's type reads in the table: ``int ≥ 1``, ``duration``, ``"a" | "b"``..."""
    import annotated_types

    from hookport.config import parse_duration, parse_size

    def describe(tp: Any, meta: Sequence[Any]) -> str:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            return describe(typing.get_args(tp)[0], [*meta, *tp.__metadata__])
        validators = {getattr(m, "func", None) for m in meta}
        if parse_size in validators:
            base = "size"
        elif parse_duration in validators:
            base = "duration"
        elif origin is typing.Literal:
            return " \\| ".join(f'"{v}"' for v in typing.get_args(tp))
        elif origin in (types.UnionType, typing.Union):
            return " \\| ".join(describe(a, meta) for a in typing.get_args(tp))
        elif origin in (list, dict):
            return f"{origin.__name__}[{', '.join(describe(a, ()) for a in typing.get_args(tp))}]"
        elif tp is type(None):
            return "none"
        elif getattr(tp, "__name__", "") == "SecretStr":
            base = "str (secret)"
        else:
            base = getattr(tp, "__name__", str(tp))
        bounds = []
        for m in meta:
            for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
                if isinstance(m, getattr(annotated_types, attr.capitalize())):
                    bounds.append(f"{sign} {getattr(m, attr)}")
        return " ".join([base, *bounds])

    return describe(tp, list(metadata))


def _default_text(field: Any, kind: str) -> str:
    """A setting's default as TOML would spell it (sizes and durations in their units)."""
    from pydantic_core import PydanticUndefined

    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "none"
    if isinstance(value, bool):
        text = str(value).lower()
    elif kind.startswith(("duration", "size")):
        text = '"' + _human(value, _DURATIONS if kind.startswith("duration") else _SIZES) + '"'
    else:
        text = f'"{value}"' if isinstance(value, str) else json.dumps(value)
    return f"`{text}`"


_DURATIONS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_SIZES = (("GB", 10**9), ("MB", 10**6), ("MiB", 2**20), ("kB", 10**3), ("KiB", 2**10))


def _human(value: float, units: tuple[tuple[str, int], ...]) -> str:
    for unit, size in units:
        if value >= size and value % size == 0:
            return f"{int(value // size)}{unit}"
    return f"{value:g}" + ("s" if units is _DURATIONS else "")


def _models(tp: Any) -> list[type]:
    """The pydantic models a field's type holds (a section, or a list's union members)."""
    from pydantic import BaseModel

    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for arg in typing.get_args(tp) for m in _models(arg)]


def settings_sections() -> list[tuple[str, str, list[list[str]]]]:
    """``(heading, intro, rows)`` per table of ``hookport.toml``, walked from :class:`Settings`.

    A row is ``[key, type, default, env, description]``. A model several sibling fields share
    (``[chatops.slack]``, ``[chatops.irc]``, ...) is one table under a placeholder name; the
    members of a list of tagged models (``[[alerts.rules]]``) are one table per tag.
    """
    from hookport.config import Settings

    sections: list[tuple[str, str, list[list[str]]]] = []

    def walk(model: type, path: list[str], env: str | None, heading: str, intro: str) -> None:
        rows: list[list[str]] = []
        nested: list[tuple[type, list[str], str | None, str, str]] = []
        fields = {n: f for n, f in model.model_fields.items() if not f.exclude}  # type: ignore[attr-defined]
        shared = _shared_models(fields)
        done: set[type] = set()
        for name, field in fields.items():
            if name == "kind" and path and path[-1] == "[]":
                continue  # the tag of a tagged table: in its heading
            models = _models(field.annotation)
            key_path = [*path, name]
            env_name = _env(env, name)
            if models and typing.get_origin(field.annotation) is list:
                for member in models:
                    tag = member.model_fields["kind"].annotation.__args__[0]
                    title = f'`[[{".".join(key_path)}]]` kind = `"{tag}"`'
                    nested.append((member, [*key_path, "[]"], None, title, member.__doc__ or ""))
                rows.append(_row(key_path, field, env_name, "list of the tables below"))
                continue
            if models:
                member = models[0]
                if member in shared:
                    if member in done:
                        continue
                    done.add(member)
                    names = [n for n, f in fields.items() if _models(f.annotation) == [member]]
                    placeholder = "<" + _placeholder(names) + ">"
                    key_path = [*path, placeholder]
                    env_name = _env(env, placeholder)
                    intro_text = (
                        f"{member.__doc__ or ''}\n\n`{placeholder}` is one of "
                        + ", ".join(f"`{n}`" for n in names)
                        + "."
                    )
                else:
                    intro_text = member.__doc__ or ""
                nested.append((member, key_path, env_name, f"`[{'.'.join(key_path)}]`", intro_text))
                continue
            rows.append(_row(key_path, field, env_name, None))
        if rows and path:
            sections.append((heading, intro, rows))
        for args in nested:
            walk(*args)
        if rows and not path:  # [channels] and [secrets]: tables of free names, last
            heading = ", ".join("`[" + row[0].strip("`").split(".")[0] + "]`" for row in rows)
            sections.append((heading, intro, rows))

    walk(Settings, [], "HOOKPORT_", "", "Tables whose keys are names you choose.")
    return sections


def _env(env: str | None, name: str) -> str | None:
    """``HOOKPORT_SERVER`` + ``port`` -> ``HOOKPORT_SERVER__PORT`` (``HOOKPORT_`` + ``server``)."""
    if env is None:
        return None
    return env + ("" if env.endswith("_") else "__") + name.upper()


def _shared_models(fields: dict[str, Any]) -> set[type]:
    seen: dict[type, int] = {}
    for field in fields.values():
        models = _models(field.annotation)
        if len(models) == 1 and typing.get_origin(field.annotation) is not list:
            seen[models[0]] = seen.get(models[0], 0) + 1
    return {model for model, count in seen.items() if count > 1}


def _placeholder(names: list[str]) -> str:
    return "platform" if set(names) >= {"slack", "irc"} else "name"


def _row(path: list[str], field: Any, env: str | None, kind: str | None) -> list[str]:
    if kind is None and typing.get_origin(field.annotation) is dict:
        # a table of free names: one row for its entries (``[channels] dev = "..."``)
        kind = _type_name(typing.get_args(field.annotation)[1])
        path = [*path, "<name>"]
        env = _env(env, "<name>")
        default = "`{}`" if field.default_factory is not None else _default_text(field, kind)
        return [
            f"`{'.'.join(path)}`",
            kind,
            default,
            f"`{env}`" if env else "",
            _settings_text(field.description or ""),
        ]
    kind = kind or _type_name(field.annotation, field.metadata)
    key = ".".join(path).replace(".[]", "[]")
    description = _settings_text(field.description or "")
    return [f"`{key}`", kind, _default_text(field, kind), f"`{env}`" if env else "", description]


def render_settings() -> str:
    """Markdown for every setting: one table per TOML table, from the pydantic models."""
    lines: list[str] = []
    for heading, intro, rows in settings_sections():
        lines += ["", f"### {heading}", "", _intro(intro) if intro else ""]
        lines += [
            "",
            "| key | type | default | environment | what it does |",
            "|---|---|---|---|---|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)

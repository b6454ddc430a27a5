"""docs/reference.md renders every public name, under its public name, and only names that exist.

mkdocstrings renders what a ``::: dotted.path`` line names and nothing else, so a name added to
an ``__all__`` without a line there would be missing from the site with no warning. A line may
name the object where it is defined (``hookport.verify.factories.github``: griffe reads
``hookport.verify.github`` as the *module* of that name, not the function re-exported over it)
if its ``heading:`` option gives the public name.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PUBLIC_MODULES = ("hookport", "hookport.verify", "hookport.testing")
DIRECTIVE = re.compile(r"^::: +(\S+)[ \t]*\n((?:[ \t]+\S.*\n)*)", re.M)
HEADING = re.compile(r"^\s+heading:\s*[\"']?([^\"'\n]+)[\"']?\s*$", re.M)


@dataclass(frozen=True)
class Rendered:
    """One ``::: path`` line of the page and the name its heading shows."""

    path: str
    heading: str


def rendered() -> list[Rendered]:
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    out = []
    for path, options in DIRECTIVE.findall(text + "\n"):
        heading = HEADING.search(options)
        out.append(Rendered(path, heading.group(1).strip() if heading else path))
    return out


def public_objects() -> dict[str, object]:
    """``module.name`` -> object, for every name of each public module's ``__all__``."""
    found: dict[str, object] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        found[module_name] = module
        for name in module.__all__:
            value = getattr(module, name)
            # a public submodule is rendered under its own name (``::: hookport.verify``)
            key = value.__name__ if isinstance(value, types.ModuleType) else f"{module_name}.{name}"
            found[key] = value
    return found


def resolve(dotted: str) -> object:
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError:
        module_name, _, attr = dotted.rpartition(".")
        return getattr(importlib.import_module(module_name), attr)


def test_every_public_name_is_in_the_reference() -> None:
    shown = {r.heading for r in rendered()}
    missing = sorted(set(public_objects()) - shown)
    assert missing == [], f"add a '::: NAME' line to docs/reference.md for: {missing}"


def test_each_name_is_rendered_once() -> None:
    headings = [r.heading for r in rendered()]
    assert sorted({h for h in headings if headings.count(h) > 1}) == []


@pytest.mark.parametrize("entry", rendered(), ids=lambda r: r.heading)
def test_each_line_renders_the_public_object_it_is_headed_with(entry: Rendered) -> None:
    public = public_objects()
    assert entry.heading in public, f"{entry.heading} is not a public name"
    # the line's path is that very object (a renamed or removed path fails here)
    assert resolve(entry.path) is public[entry.heading]
    if entry.path != entry.heading:
        # only where the public path would render something else (a module of that name)
        module_name, _, attr = entry.heading.rpartition(".")
        assert importlib.util.find_spec(f"{module_name}.{attr}") is not None, (
            f"write '::: {entry.heading}' instead of '::: {entry.path}'"
        )


def test_every_public_name_has_a_docstring() -> None:
    griffe = pytest.importorskip("griffe")
    package = griffe.load("hookport", search_paths=[str(ROOT / "src")])
    bare = []
    for entry in rendered():
        obj = package[entry.path.removeprefix("hookport.")] if entry.path != "hookport" else package
        if not (obj.docstring and obj.docstring.value.strip()):
            bare.append(entry.heading)
    assert bare == [], f"public names without a docstring: {bare}"

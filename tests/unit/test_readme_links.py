"""README.md links only inside the repository, and every link it has resolves.

A clone (or a tarball of it) must be readable on its own: no link to a design file elsewhere,
no link that GitHub would turn into a 404. Code blocks and code spans are not links.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"

INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
AUTOLINK = re.compile(r"<([a-z][a-z0-9+.-]*:[^>\s]+)>", re.I)
BARE_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.I)


def prose(text: str) -> str:
    """The README without fenced code blocks, code spans and HTML comments."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def links(text: str) -> list[str]:
    body = prose(text)
    return [*INLINE.findall(body), *REFERENCE.findall(body), *AUTOLINK.findall(body)]


def test_the_readme_has_links_to_check() -> None:
    assert len(links(README.read_text(encoding="utf-8"))) >= 5


@pytest.mark.parametrize("target", links(README.read_text(encoding="utf-8")))
def test_every_link_is_a_file_of_the_repository(target: str) -> None:
    assert not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I), f"{target}: links outside"
    assert not target.startswith(("/", "//")), f"{target}: absolute, GitHub resolves it elsewhere"
    path = target.split("#", 1)[0]
    if not path:
        return  # a link to a heading of the README itself
    resolved = (ROOT / path).resolve()
    assert resolved.is_relative_to(ROOT), f"{target} leaves the repository"
    assert resolved.exists(), f"{target} does not exist in the repository"


def test_no_bare_url_outside_code() -> None:
    # GitHub turns a bare https://... in prose into a link
    assert BARE_URL.findall(prose(README.read_text(encoding="utf-8"))) == []


def test_the_checks_catch_outside_links() -> None:
    sample = "See [design](../shared/DESIGN.md), [site](https://example.org) and <https://x.io>."
    found = links(sample)
    assert found == ["../shared/DESIGN.md", "https://example.org", "https://x.io"]
    assert links("`[not](a-link)` and\n```\n[nor](this)\n```\n") == []

"""Every relative link and #anchor in README.md and docs/**/*.md resolves, inside the repository;
the README stays a newcomer's page, and the docs speak to users only."""
import re
import subprocess
from pathlib import Path

import pytest

from trainer.paths import PROJECT_ROOT

PAGES = sorted([PROJECT_ROOT / "README.md", *(PROJECT_ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
EXTERNAL = ("http://", "https://", "mailto:")


def links_in(text: str) -> list[str]:
    text = FENCE.sub("", text)
    text = "\n".join(line for line in text.splitlines() if not line.startswith("    "))  # indented code
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code
    return [a or b for a, b in LINK.findall(text)]


def links(page: Path) -> list[str]:
    return links_in(page.read_text())


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def targets() -> list[tuple[Path, str]]:
    return [(page, link) for page in PAGES for link in links(page) if not link.startswith(EXTERNAL)]


def test_the_pages_are_found_and_hold_links():
    assert PROJECT_ROOT / "README.md" in PAGES and len(PAGES) > 5
    assert len(targets()) > 20


def problem(page: Path, link: str) -> str | None:
    """What is wrong with a relative link of `page`, or None."""
    path, _, anchor = link.partition("#")
    target = (page.parent / path).resolve() if path else page.resolve()
    root = PROJECT_ROOT.resolve()
    if not target.is_relative_to(root):
        return f"{link} points outside the repository"
    if not target.exists():
        return f"{link}: {target.relative_to(root)} does not exist"
    if anchor and (target.suffix != ".md" or anchor not in anchors(target)):
        return f"{link}: no heading '#{anchor}' in {target.relative_to(root)}"
    return None


@pytest.mark.parametrize("page, link", targets(),
                         ids=lambda v: str(v.relative_to(PROJECT_ROOT)) if isinstance(v, Path) else v)
def test_relative_link_resolves_inside_the_repository(page, link):
    assert problem(page, link) is None, problem(page, link)


def test_slug_follows_github():
    assert slug("What survives what") == "what-survives-what"
    assert slug("A sample: `make benchmark` (quick profile) on a 2-core CPU machine") == \
        "a-sample-make-benchmark-quick-profile-on-a-2-core-cpu-machine"
    assert slug("1. Offline (the default)") == "1-offline-the-default"


def test_bad_links_are_caught():
    readme, stack = PROJECT_ROOT / "README.md", PROJECT_ROOT / "docs" / "stack.md"
    assert "outside the repository" in problem(readme, "../shared/design.md")
    assert "does not exist" in problem(readme, "docs/nowhere.md")
    assert "no heading '#nowhere'" in problem(stack, "#nowhere")
    assert "no heading" in problem(readme, "LICENSE#mit")
    assert problem(stack, "#the-verbs") is None and problem(readme, "docs/stack.md#the-verbs") is None
    assert links_in("see [design](../shared/design.md), `[not](code)`, ![img](a.png)\n\n    [indented](code.md)\n"
                    "```\n[fenced](x.md)\n```\n") == ["../shared/design.md", "a.png"]


def test_readme_is_a_newcomers_page():
    assert len((PROJECT_ROOT / "README.md").read_text().splitlines()) <= 200


def test_make_help_lists_every_verb():
    listed = subprocess.run(["make", "-s", "help"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    verbs = {m.group(1) for m in re.finditer(r"^  make (\S+)", listed, re.M)}
    declared = set(re.findall(r"^\.PHONY: (\S+)", (PROJECT_ROOT / "Makefile").read_text(), re.M))
    assert "k8s-render" in verbs and "notebooks" in verbs
    assert verbs == declared


def test_the_readme_names_every_verb():
    readme = (PROJECT_ROOT / "README.md").read_text()
    declared = set(re.findall(r"^\.PHONY: (\S+)", (PROJECT_ROOT / "Makefile").read_text(), re.M)) - {"help"}
    assert {v for v in declared if f"`make {v}`" not in readme} == set()

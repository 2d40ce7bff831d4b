"""Run each notebook from the project root against the running stack and write it, with its outputs,
as Markdown and PNG files to docs/notebooks/, so a reader sees the plots without running anything.
The .ipynb files themselves stay without outputs. `make notebooks-render` calls this."""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import MarkdownExporter

from trainer.paths import PROJECT_ROOT
from trainer.provenance import git_commit

NOTEBOOKS = PROJECT_ROOT / "notebooks"


def render(book_path: Path, out_dir: Path, timeout_s: int = 900) -> Path:
    """Execute one notebook (cwd: the project root, as the tests run them) and write <name>.md and its images."""
    book = nbformat.read(book_path, as_version=4)
    NotebookClient(book, timeout=timeout_s, kernel_name="python3",
                   resources={"metadata": {"path": str(PROJECT_ROOT)}}).execute()
    name = book_path.stem
    body, resources = MarkdownExporter().from_notebook_node(book, resources={"output_files_dir": f"{name}_files"})
    (out_dir / f"{name}_files").mkdir(parents=True, exist_ok=True)
    for file, data in resources.get("outputs", {}).items():
        (out_dir / file).write_bytes(data)
    page = out_dir / f"{name}.md"
    page.write_text(body.replace(str(PROJECT_ROOT) + "/", ""))  # paths as a reader's checkout has them
    return page


def write_index(out_dir: Path, pages: list[Path]) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# The notebooks, executed", "",
             "For anyone who wants to see what the notebooks show without running them: each was run top to "
             f"bottom by `make notebooks-render` on {stamp} (commit `{(git_commit() or 'unknown')[:7]}`) against "
             "the stack and the runs of [the experiments](../experiments.md), on the real data set. "
             "Open them yourself with `make notebooks`.", ""]
    lines += [f"- [{p.stem}]({p.name})" for p in pages]
    index = out_dir / "README.md"
    index.write_text("\n".join(lines) + "\n")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notebooks.render", description=__doc__)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "notebooks")
    parser.add_argument("names", nargs="*", help="notebook names (default: every notebooks/*.ipynb)")
    args = parser.parse_args(argv)
    books = [NOTEBOOKS / f"{n}.ipynb" for n in args.names] or sorted(NOTEBOOKS.glob("*.ipynb"))
    args.out.mkdir(parents=True, exist_ok=True)
    # a page to read: no progress bars in the outputs (the kernels inherit this environment)
    os.environ.update({"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", "TQDM_DISABLE": "1"})
    pages = []
    for i, book in enumerate(books, 1):
        print(f"notebook {i}/{len(books)}: {book.name}", flush=True)
        pages.append(render(book, args.out))
    print(f"wrote {write_index(args.out, sorted(args.out.glob('[0-9]*.md')))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

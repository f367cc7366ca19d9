"""How much a student reads and scrolls past, per notebook of a folder.

    python scripts/density.py               # the workbook, student/
    python scripts/density.py notebooks     # the worked solutions

For each notebook: the words of its Markdown cells, the word count of its
largest Markdown cell, and the lines of course code: code cells that are not
the student's to write (not an nbgrader solution cell), blank lines and
comment-only lines left out. Then the totals, with the course's limits (issue
23: at most 7,000 Markdown words in all, no Markdown cell over 250 words, at most
600 lines of course code in all); a figure over its limit is flagged with ✗ and
the exit status is 1.

A word is a run of characters between spaces after LaTeX commands, Markdown
link targets and HTML tags are taken out, so `$\\partial l / \\partial y$`
counts as a few words, as a reader sees it, not as a dozen.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_WORDS, MAX_CELL_WORDS, MAX_CODE_LINES = 7000, 250, 600

_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_HTML_TAG = re.compile(r"<[^>]+>")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_NO_WORD = re.compile(r"^[^\w]*$")


def words(markdown: str) -> int:
    """The number of words a reader sees in a Markdown text."""
    text = _LINK_TARGET.sub("]", markdown)
    text = _HTML_TAG.sub(" ", text)
    text = _LATEX_COMMAND.sub(" ", text)
    return sum(1 for token in text.split() if not _NO_WORD.match(token))


def code_lines(source: str) -> int:
    """Lines of code, blank and comment-only lines left out."""
    return sum(1 for line in source.splitlines()
               if line.strip() and not line.strip().startswith("#"))


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def measure(path: Path) -> dict:
    """{"words", "largest_cell", "code_lines"} of the notebook at ``path``."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    cell_words = [words(_source(c)) for c in cells if c.get("cell_type") == "markdown"]
    course_code = [_source(c) for c in cells if c.get("cell_type") == "code"
                   and not c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    return {"words": sum(cell_words), "largest_cell": max(cell_words, default=0),
            "code_lines": sum(code_lines(s) for s in course_code)}


def report(folder: Path) -> tuple[str, bool]:
    """The table for every ``NN_*.ipynb`` in ``folder``, and whether all limits hold."""
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no notebooks NN_*.ipynb in {folder}")
    figures = {p.name: measure(p) for p in paths}
    width = max(len(name) for name in figures)
    lines = [f"{'notebook':<{width}}  {'words':>6}  {'largest cell':>12}"
             f"  {'code lines':>10}"]
    ok = True
    for name, f in figures.items():
        over = f["largest_cell"] > MAX_CELL_WORDS
        ok &= not over
        lines.append(f"{name:<{width}}  {f['words']:>6,}  {f['largest_cell']:>12,}"
                     f"{' ✗' if over else '  '}  {f['code_lines']:>10,}")
    total_words = sum(f["words"] for f in figures.values())
    total_code = sum(f["code_lines"] for f in figures.values())
    largest = max(f["largest_cell"] for f in figures.values())
    limits = [(total_words, MAX_WORDS, "Markdown words in all"),
              (largest, MAX_CELL_WORDS, "words in the largest Markdown cell"),
              (total_code, MAX_CODE_LINES, "lines of course code in all")]
    lines.append(f"{'total':<{width}}  {total_words:>6,}  {largest:>12,}  "
                 f"  {total_code:>10,}")
    for value, limit, what in limits:
        held = value <= limit
        ok &= held
        lines.append(f"{'✓' if held else '✗'} {value:,} {what} (limit {limit:,})")
    return "\n".join(lines), ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="student",
                        help="folder of notebooks, relative to the repository"
                             " (default: student)")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    if not folder.is_absolute() and not folder.exists():
        folder = ROOT / folder
    try:
        text, ok = report(folder)
    except (FileNotFoundError, ValueError) as error:
        print(f"density: {error}", file=sys.stderr)
        return 2
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

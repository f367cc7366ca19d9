"""scripts/density.py on a small synthetic workbook, figures counted by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from nbgrader_notebooks import code, markdown, meta, write_notebook

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("density",
                                              ROOT / "scripts" / "density.py")
density = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(density)


def small_workbook(folder: Path, long_cell_words: int):
    write_notebook(
        folder / "01_small.ipynb",
        markdown("# 01 · Small"),                                   # 2 words
        # 6 words: The, slope, l, y$, is, [here]
        markdown(r"The slope $\partial l / \partial y$ is [here](x.ipynb)."),
        code("import numpy as np\n\n# a comment\nx = np.zeros(3)\n"),  # 2 lines
        code("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
             **meta("q1", solution=True)),                          # the student's
        markdown(" ".join(["word"] * long_cell_words)))
    write_notebook(folder / "02_more.ipynb", markdown("<b>Two</b> words"),
                   code("print(1)\nprint(2)\nprint(3)"))
    (folder / "notes.ipynb").write_text("{}", encoding="utf-8")  # not NN_*: skipped


def test_figures_per_notebook_and_totals(tmp_path, capsys):
    small_workbook(tmp_path, long_cell_words=40)
    assert density.measure(tmp_path / "01_small.ipynb") == {
        "words": 2 + 6 + 40, "largest_cell": 40, "code_lines": 2}
    assert density.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "01_small.ipynb" in out and "02_more.ipynb" in out
    assert "✓ 50 Markdown words in all" in out
    assert "✓ 5 lines of course code in all" in out
    assert "✗" not in out


def test_a_cell_over_the_limit_is_flagged(tmp_path, capsys):
    small_workbook(tmp_path, long_cell_words=density.MAX_CELL_WORDS + 1)
    assert density.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"✗ {density.MAX_CELL_WORDS + 1} words in the largest Markdown cell" in out


def test_too_many_words_and_lines_in_all(tmp_path, capsys, monkeypatch):
    small_workbook(tmp_path, long_cell_words=10)
    monkeypatch.setattr(density, "MAX_WORDS", 19)
    monkeypatch.setattr(density, "MAX_CODE_LINES", 4)
    assert density.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "✗ 20 Markdown words in all (limit 19)" in out
    assert "✗ 5 lines of course code in all (limit 4)" in out


def test_an_empty_folder_is_an_error(tmp_path, capsys):
    assert density.main([str(tmp_path)]) == 2
    assert "no notebooks" in capsys.readouterr().err

"""One notation (notebook 01's card) held in notebooks 01-03 and their checks.

Gradients are rows: the chain rule through the softmax is written
``grad_o = grad_y J``, never the column form ``J^T grad_y``; ``y`` means
probabilities, so the labels of a data set are never called ``y``.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["01_local_gradients.ipynb", "02_scalar_backprop.ipynb",
             "03_scalar_training.ipynb"]
MODULES = ["_core.py", "_networks.py", "nb01.py", "nb02.py", "nb03.py"]
COLUMN_FORMS = [r"J\^\\top\s*\\nabla", r"J\^T\s*(dl|g\b|\\nabla)", r"Jᵀ\s*(dl|∇|g\b)",
                r"J\.T\s*@", r"J_yours\.T\s*@"]


def texts():
    for folder in ("notebooks", "student"):
        for name in NOTEBOOKS:
            nb = nbformat.read(ROOT / folder / name, as_version=4)
            for index, cell in enumerate(nb.cells):
                yield f"{folder}/{name}, cell {index}", cell.source
    for name in MODULES:
        path = ROOT / "src" / "coursenet" / "exercises" / name
        yield f"exercises/{name}", path.read_text(encoding="utf-8")


@pytest.mark.parametrize("pattern", COLUMN_FORMS)
def test_no_column_vector_chain_rule(pattern):
    found = [where for where, text in texts() if re.search(pattern, text)
             and not where.endswith("01_local_gradients.ipynb, cell 0")]  # the card
    # (the card names the column form once, to say it is the same thing)
    assert not found, f"{pattern!r} (write grad_y J, rows) in {found}"


def test_the_notation_card_is_in_notebook_01():
    nb = nbformat.read(ROOT / "notebooks" / NOTEBOOKS[0], as_version=4)
    card = nb.cells[0].source
    for words in ("Notation card", "**row**", "always means probabilities",
                  "never called $y$", r"\nabla_o l = \nabla_y l \, J",
                  "always give the same"):
        assert words in card, words
    # the card does not announce the Jacobian's symmetry before Q1 derives it
    assert "symmetric" not in card


def test_outer_products_of_the_row_y_are_written_y_transpose_y():
    # y is a row (1 x C): y y^T is a number, the outer product is y^T y
    # (_networks.py, shared with notebooks 04-06, still writes y yᵀ: not checked here)
    column_form = re.compile(r"y\s*(\\,\s*)?y(\^(\\top|T)\b|ᵀ)")
    found = [where for where, text in texts() if column_form.search(text)
             and where != "exercises/_networks.py"]
    assert not found, f"write y^\\top y (rows) in {found}"


def test_labels_are_never_called_y_in_notebook_03():
    nb = nbformat.read(ROOT / "notebooks" / NOTEBOOKS[2], as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert not re.search(r"\by(train|val)\b", code)
    # no label variable called y (or y_something) in code students read
    label_y = re.compile(r"^[ \t]*[\w, ]*\by(_\w+)?\b[\w, ]*=(?!=)|\by(_\w+)?\[", re.M)
    assert not label_y.search(code), [m.group(0) for m in label_y.finditer(code)]
    assert "ctrain" in code and "cval" in code

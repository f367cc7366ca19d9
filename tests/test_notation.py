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
                  "never called $y$", r"\nabla_o l = \nabla_y l \, J", "symmetric"):
        assert words in card, words


def test_labels_are_never_called_y_in_notebook_03():
    nb = nbformat.read(ROOT / "notebooks" / NOTEBOOKS[2], as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert not re.search(r"\by(train|val)\b", code)
    assert "ctrain" in code and "cval" in code

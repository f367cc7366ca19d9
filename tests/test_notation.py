"""One notation (notebook 01's card) held in the notebooks and their checks.

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
# From notebook 04 on the true class is `c` in code and messages too (02's code
# says `target`), a batch has N rows and its probabilities are Y. Add a
# notebook or a checks module to these lists to hold it to the same rules.

BATCH_NOTEBOOKS = ["04_tensor_backprop.ipynb", "05_batched_backprop.ipynb",
                   "06_mnist_experiments.ipynb"]
BATCH_MODULES = ["nb04.py", "nb05.py", "nb06.py", "_networks.py"]
NOTEBOOKS += BATCH_NOTEBOOKS
MODULES += [m for m in BATCH_MODULES if m not in MODULES]
COLUMN_FORMS = [r"J\^\\top\s*\\nabla", r"J\^T\s*(dl|g\b|\\nabla)", r"Jᵀ\s*(dl|∇|g\b)",
                r"J\.T\s*@", r"J_yours\.T\s*@"]


def texts(notebooks=NOTEBOOKS, modules=MODULES, outputs=False):
    """(where, text) of every cell (with its outputs if asked) and module."""
    for folder in ("notebooks", "student"):
        for name in notebooks:
            nb = nbformat.read(ROOT / folder / name, as_version=4)
            for index, cell in enumerate(nb.cells):
                text = cell.source
                if outputs:
                    for out in cell.get("outputs", []):
                        data = out.get("data", {})
                        text += "\n" + out.get("text", "") + str(
                            data.get("text/markdown", data.get("text/plain", "")))
                yield f"{folder}/{name}, cell {index}", text
    for name in modules:
        path = ROOT / "src" / "coursenet" / "exercises" / name
        lines = path.read_text(encoding="utf-8").splitlines()
        # notebook 02's code calls the class `target`: its words are marked
        yield f"exercises/{name}", "\n".join(
            line for line in lines if not line.endswith("# notebook 02's words"))


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
                  "never called $y$"):
        assert words in card, words
    # the card does not announce what Q1 derives: the Jacobian's symmetry, or
    # the chain rule through the softmax (Q1 asks why it is multivariate)
    for answer in ("symmetric", r"\nabla_o l", r"\sum_i"):
        assert answer not in card, answer


def test_outer_products_of_the_row_y_are_written_y_transpose_y():
    # y is a row (1 x C): y y^T is a number, the outer product is y^T y
    column_form = re.compile(r"([yp])\s*(\\,\s*)?\1(\^(\\top|T)\b|ᵀ)")
    found = [where for where, text in texts(outputs=True)
             if column_form.search(text)]
    assert not found, f"write y^\\top y (rows) in {found}"


def test_labels_are_never_called_y_in_notebook_03():
    nb = nbformat.read(ROOT / "notebooks" / NOTEBOOKS[2], as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert not re.search(r"\by(train|val)\b", code)
    # no label variable called y (or y_something) in code students read
    label_y = re.compile(r"^[ \t]*[\w, ]*\by(_\w+)?\b[\w, ]*=(?!=)|\by(_\w+)?\[", re.M)
    assert not label_y.search(code), [m.group(0) for m in label_y.finditer(code)]
    assert "ctrain" in code and "cval" in code


# Notebooks 04 on (with their stored outputs, where the checks print) and their
# checks: the row order, c for the class, N rows, Y for a batch of y's. Each
# rule: (pattern, also in the checks modules?); the modules' own code may use
# P and y internally, their messages may not.
BATCH_RULES = {
    "the column order J·dl/dy or J @ dl_dy": (r"J\s*·\s*dl/dy|J\s*@\s*dl_dy", True),
    "notebook 02's `target` (write c, e_c, onehot(c))": (
        r"onehot\(target\)|y_target|`if target:`|\bthe target\b|\btarget's\b",
        True),
    "labels called y in a message": (
        r"dlogits\[:, y\]|\[np\.arange\(N\), y\]|\[n, y_n\]", True),
    "P for a batch of probabilities (write Y)": (
        r"\(P - |\bP\[|P\.copy|\bP = |\$P\b|\bP\$", False),
    "l for the mean loss of a batch (write L)": (r"∂l/∂O", True),
    "B for the batch size (write N; `batch_size` in code)": (
        r"\$B\$|\bB\s*\\times|\\times\s*B\b|\(B,|\(B\s*\\times|/B\b|\\tfrac1B"
        r"|\bB·|^\s*B\s*=|, B\s*=|\bB, rows|range\(B\)|\$B\s", True),
}


def found_by(rule):
    pattern, in_modules = BATCH_RULES[rule]
    modules = BATCH_MODULES if in_modules else []
    return [(where, m.group(0)) for where, text
            in texts(BATCH_NOTEBOOKS, modules, outputs=True)
            for m in [re.search(pattern, text, re.M)] if m]


@pytest.mark.parametrize("rule", BATCH_RULES)
def test_notebooks_04_on_and_their_checks_keep_the_card(rule):
    found = found_by(rule)
    assert not found, f"{rule}: {found}"


def test_the_rules_see_what_they_forbid():
    """Each rule catches the form the review found (so a rule cannot go blind)."""
    seen = {"the column order J·dl/dy or J @ dl_dy": "dl/do = J·dl/dy",
            "notebook 02's `target` (write c, e_c, onehot(c))": "onehot(target)",
            "labels called y in a message": "dlogits[:, y] -= 1",
            "P for a batch of probabilities (write Y)": "are $P$ (`P`)",
            "l for the mean loss of a batch (write L)": "B·∂l/∂O",
            "B for the batch size (write N; `batch_size` in code)":
                "$\\nabla_O = \\tfrac1B (P - T)$"}
    for rule, text in seen.items():
        assert re.search(BATCH_RULES[rule][0], text, re.M), rule
    # what the rules must not catch: matrices A and B, Student B, batch_size
    allowed = 'print("A @ B:", A.shape) **Student B** **B.** batch_size=32'
    assert not any(re.search(p, allowed, re.M) for p, _ in BATCH_RULES.values())

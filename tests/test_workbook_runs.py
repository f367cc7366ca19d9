"""The workbook as a student meets it: Run All on notebooks 01-03.

- A fresh workbook (student/, every exercise a stub) runs top to bottom with
  no error output: checks say "not implemented yet", cells that need the
  student's code say "↷ skipped", everything else runs.
- Filled with wrong answers that run (mistakes students make), no check shows
  ✓, no answer kept in the workbook claims agreement, and notebook 03's
  training uses the student's own functions (a step that updates a copy
  leaves the loss where it started).
- The worked solutions' stored checks all show ✓.
"""

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from workbook import errors, execute, text_of

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["01_local_gradients.ipynb", "02_scalar_backprop.ipynb",
         "03_scalar_training.ipynb"]


def is_check(cell):
    return cell.cell_type == "code" and "exercises.check_" in cell.source \
        and "expected_to_fail" not in cell.source


def check_lines(nb):
    return [line for cell in nb.cells if is_check(cell)
            for line in text_of(cell).splitlines() if line.strip()]


# --------------------------------------------------------------------------
# A fresh workbook
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh(fresh_workbooks):
    return {name: fresh_workbooks[name] for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_a_fresh_workbook_runs_all_without_an_error(fresh, name):
    nb = fresh[name]
    assert errors(nb) == [], errors(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "Run All stopped early"
    lines = check_lines(nb)
    assert lines and all(line.startswith("…") and "not implemented yet" in line
                         for line in lines), lines
    print(f"\n{name}: {len(code)} code cells run;"
          f" {sum('↷ skipped' in text_of(c) for c in code)} skipped a block;"
          " the checks print:\n  " + "\n  ".join(lines))


def test_fresh_cells_that_need_the_students_code_say_which_exercise(fresh):
    skipped = [text_of(c) for nb in fresh.values() for c in nb.cells
               if "↷ skipped" in text_of(c)]
    assert skipped
    for text in skipped:
        assert re.search(r"↷ skipped: `\w+`", text), text
        assert "`<module>`" not in text and "an exercise" not in text, text
    carried = "".join(text_of(c) for c in fresh["03_scalar_training.ipynb"].cells)
    assert "from 02_scalar_backprop.ipynb" in carried


# --------------------------------------------------------------------------
# Wrong answers that run
# --------------------------------------------------------------------------

WRONG = {  # grade_id -> (what replaces the solution region, or a whole cell)
    "q1_loss_grad": "return -1 / y",                                # every class
    "q1_softmax_jacobian": "return np.diag(y * (1 - y))",           # scalar only
    "q2_logit_grad": "e = np.exp(o - np.max(o))\nreturn e / e.sum()",  # no onehot
    "q3_loss_grad": "return [-1 / v for v in y]",                   # every class
    "q3_fix_the_bug": "if target:\n    dl_dy[1] = 0.0\nelse:\n    dl_dy[0] = 0.0",
    "q3_graph_backward": ("grads = {name: 0.0 for name, _, _ in nodes}\n"  # overwrites
                          "grads[nodes[-1][0]] = 1.0\n"
                          "for name, op, args in reversed(nodes):\n"
                          "    local = {'add': [1.0] * len(args), 'sigmoid':"
                          " [values[name] * (1 - values[name])]}.get(op, [])\n"
                          "    if op == 'mul':\n"
                          "        local = [values[args[1]], values[args[0]]]\n"
                          "    for arg, slope in zip(args, local):\n"
                          "        grads[arg] = grads[name] * slope\n"
                          "return grads"),
    "q4_sgd_step": ("params = copy.deepcopy(params)\n"
                    "for name in ('W', 'V'):\n"
                    "    for row, grad_row in zip(params[name], grads[name]):\n"
                    "        for j, g in enumerate(grad_row):\n"
                    "            row[j] -= lr * g\n"
                    "for name in ('b', 'c'):\n"
                    "    for j, g in enumerate(grads[name]):\n"
                    "        params[name][j] -= lr * g"),
}
EDITS = {  # grade_id -> (a line of the solution, what replaces it)
    "q3_forward": ("loss = -math.log(y[target])", "loss = -math.log10(y[target])"),
    "q3_backprop": (  # ignores its dl_dy argument: the Q2 shortcut
        "do = [sum(dl_dy[i] * J[i][m] for i in range(C)) for m in range(C)]",
        "do = [y[m] - (m == cache['target']) for m in range(C)]"),
}
SOLUTION = re.compile(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION", re.S)


def fill_wrong(nb, name, wrong=WRONG, edits=EDITS):
    """The solution notebook as a student with these mistakes would run it:
    ``wrong`` replaces solution regions, ``edits`` lines of the solution."""
    kept = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        tags = cell.metadata.get("tags", [])
        if "answer" in tags and "workbook-keep" not in tags:
            continue  # the workbook shows a prompt there, not our answer
        if name.startswith("03") and cell.cell_type == "code" and not meta \
                and re.search(r"\bruns\b|\btable\b|widgets\.", cell.source):
            continue  # 03's learning-rate study runs the package only: skip, for time
        if cell.cell_type == "code" and meta.get("solution") and gid in wrong:
            def replace(match, text=wrong[gid]):
                pad = match.group(1)
                return "\n".join(pad + line for line in text.splitlines())
            cell.source = SOLUTION.sub(replace, cell.source)
        elif gid in edits:
            old, new = edits[gid]
            assert old in cell.source, (gid, old)
            cell.source = cell.source.replace(old, new)
        kept.append(cell)
    nb.cells = kept
    return nb


@pytest.fixture(scope="module")
def wrong(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wrong")
    for name in NAMES:
        nb = fill_wrong(nbformat.read(ROOT / "notebooks" / name, as_version=4), name)
        nbformat.write(nb, folder / name)
    return {name: execute(folder / name) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_wrong_answers_run_and_no_check_passes(wrong, name):
    nb = wrong[name]
    assert errors(nb) == [], errors(nb)
    lines = check_lines(nb)
    assert lines and not [line for line in lines if line.startswith("✓")], lines
    assert all(line.startswith("✗") for line in lines), lines


def test_no_answer_kept_in_the_workbook_claims_agreement(wrong):
    """No computed answer is left in the workbooks of 01-03 (issue 23: answers
    only after their questions); one that were kept would have to say **not**."""
    texts = [text_of(c) for nb in wrong.values() for c in nb.cells]
    assert texts and not any("### Answer to Q" in text for text in texts)
    answers = [text_of(c) for nb in wrong.values() for c in nb.cells
               if "workbook-keep" in c.metadata.get("tags", [])]
    for text in answers:
        assert "Every value matches" not in text, text
        assert "agrees with finite" not in text, text
        assert "**not**" in text, text


def test_notebook_03_trains_the_students_own_functions(wrong):
    """An sgd_step that updates a copy: the student's run would not learn, and
    stops in one line before its bar (not an epoch of flat losses)."""
    out = "".join(text_of(c) for c in wrong["03_scalar_training.ipynb"].cells)
    assert "■ stopped: your `sgd_step` left params as they were after a step" \
        in out, out[-2000:]
    assert "mean training loss per epoch" not in out
    assert "Using your `forward`, `backward` from 02_scalar_backprop.ipynb" in out


# Answers that run but hand later cells what they cannot use (a blind student
# walk found each one ending a cell of the course in a traceback): the block
# stops in one line and the cells that need it skip.
BREAKING = {  # grade_id -> (a line of the solution, what replaces it)
    # a list, and the caller's y written into (later cells plot that y)
    "q1_loss_grad": ("    return dl_dy", "    y[c] = 2.0\n    return list(dl_dy)"),
    "q3_backward": ('    return {name: d[name] for name in ("W", "b", "V", "c")}',
                    '    return tuple(d[name] for name in ("W", "b", "V", "c"))'),
    "q4_sgd_step": ("row[j] -= lr * g", "row[j] += lr * g"),   # climbs: diverges
}


@pytest.fixture(scope="module")
def breaking(tmp_path_factory):
    folder = tmp_path_factory.mktemp("breaking")
    # 03 carries 02's functions: it runs beside a right 02, so its own
    # mistake is the one it meets
    (folder / "right").mkdir()
    shutil.copy(ROOT / "notebooks" / NAMES[1], folder / "right")
    for name in NAMES:
        nb = fill_wrong(nbformat.read(ROOT / "notebooks" / name, as_version=4),
                        name, wrong={}, edits=BREAKING)
        nbformat.write(nb, folder / ("right" if name.startswith("03") else "") / name)
    return {name: execute(folder / ("right" if name.startswith("03") else "") / name)
            for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_answers_that_break_later_cells_end_in_one_line(breaking, name):
    nb = breaking[name]
    assert errors(nb) == [], errors(nb)
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")
    assert any("■ stopped" in text_of(c) for c in nb.cells), f"{name}: none stopped"
    if name.startswith("03"):   # the diverged run, then the cell that needs it
        out = "".join(text_of(c) for c in nb.cells)
        assert "your `forward` returned the loss nan after" in out, out[-3000:]
        assert "↷ skipped: the cell this one needs stopped" in out


# --------------------------------------------------------------------------
# The worked solutions
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_the_worked_solutions_pass_every_check(name):
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    cells = nb.cells
    lines = check_lines(nb)
    assert lines and all(line.startswith("✓") for line in lines), lines
    graded = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert all(c.metadata["nbgrader"].get("points") for c in graded)
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("solution"):
            assert meta.get("grade") and meta.get("points"), cell.source[:80]
        if is_check(cell) and cell.cell_type == "code":
            assert meta.get("grade") and meta.get("locked"), cell.source


# --------------------------------------------------------------------------
# The order of questions and answers (the notebook side of the review of 01-03)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_computed_answer_follows_its_question(name):
    """An `answer` cell (a prompt in the workbook) comes right after the
    markdown cell that states its question, and before its graded cell."""
    cells = nbformat.read(ROOT / "notebooks" / name, as_version=4).cells
    answers = [i for i, c in enumerate(cells) if "answer" in c.metadata.get("tags", [])
               and c.cell_type == "code"]
    assert answers
    # a solution-only note (Markdown tagged `answer`) comes after the graded cell
    notes = [i for i, c in enumerate(cells) if "answer" in c.metadata.get("tags", [])
             and c.cell_type == "markdown"]
    for i in notes:
        graded = [j for j, c in enumerate(cells[:i])
                  if c.metadata.get("nbgrader", {}).get("grade")
                  and c.cell_type == "markdown"]
        assert graded and graded[-1] in (i - 1, i - 2), (name, i, "note before answer")
    for i in answers:
        before, after = cells[i - 1], cells[i + 1]
        assert before.cell_type == "markdown" and "**Question" in before.source, \
            (name, i, before.source[:120])
        assert after.metadata.get("nbgrader", {}).get("grade"), (name, i + 1)


def test_notebook_02_does_not_explain_the_bug_before_the_question():
    cells = nbformat.read(ROOT / "notebooks" / NAMES[1], as_version=4).cells

    def index(predicate):
        hits = [i for i, c in enumerate(cells) if predicate(c)]
        assert len(hits) == 1, hits
        return hits[0]

    written = index(lambda c: c.metadata.get("nbgrader", {}).get("grade_id")
                    == "q3_spot_the_bug")
    demo = index(lambda c: c.cell_type == "code" and "expected_to_fail" in c.source)
    report = index(lambda c: c.cell_type == "code"
                   and "def backward_report" in c.source)
    assert report < written < demo, (report, written, demo)
    before = "\n".join(c.source for c in cells[report - 1:written])
    for giveaway in ("EVERY class", "drop class", "kept the other class",
                     "for **every** class"):
        assert giveaway not in before, giveaway

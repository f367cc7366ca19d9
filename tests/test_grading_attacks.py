"""Attacks on the trusted grader found in review (see tests/test_grading.py for
the first set): each drives :class:`NotebookJudge` directly on one test cell.

- an answer whose encoding raises SystemExit in the sandbox made the grader
  raise SystemExit itself (``Session.ask`` rebuilt it), ending ``nbgrader
  autograde`` for every student after this one;
- a frame of deeply nested JSON written straight to the channel made the
  grader's ``json.loads`` raise RecursionError out of ``judge()``;
- the grader's own functions a check hands to the sandbox (notebook 04's
  reference layers) stayed callable in the next check of the same test cell,
  so ``vector_backward`` could be computed by the package's layers;
- the line count that tells a row loop from a vectorised batch comes from
  the sandbox: ``sys.settrace(None)`` hid the loop; the grader now also reads
  the call's CPU time from /proc, outside the sandbox.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

from coursenet.grading import sandbox  # noqa: E402
from coursenet.grading.judge import NotebookJudge  # noqa: E402

NO_SANDBOX = sandbox.available()
pytestmark = pytest.mark.skipif(
    bool(NO_SANDBOX), reason=f"trusted grading needs its sandbox: {NO_SANDBOX}")

ROOT = Path(__file__).resolve().parents[1]


def _judge(name, answers, grade_id, solutions=False, submission_dir=None,
           budget=None):
    """The verdict of test cell ``grade_id`` for a submission of the release with
    ``answers`` ({answer grade id: source}) and, with ``solutions``, the
    instructor's solutions in the other answer cells."""
    release = nbformat.read(ROOT / "student" / name, as_version=4)
    source = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    solved = {c.metadata.nbgrader["grade_id"]: c.source for c in source.cells
              if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    submission = nbformat.read(ROOT / "student" / name, as_version=4)
    for cell in submission.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            gid = meta["grade_id"]
            if gid in answers:
                cell.source = answers[gid]
            elif solutions:
                cell.source = solved[gid]
    judge = NotebookJudge(release, source, b"a test secret", budget=budget,
                          source_folder=ROOT / "notebooks")
    cells = judge.test_cells()
    judge.test_cells = lambda: [(i, c) for i, c in cells
                                if c.metadata.nbgrader["grade_id"] == grade_id]
    return judge.judge(submission, "mallory", name, submission_dir)[grade_id]


def test_an_answer_cannot_end_the_grading_process():
    answer = '''
class _Exit:
    @property
    def __dict__(self):  # read by the sandbox's encoder when the check asks
        raise SystemExit(0)
loss_grad = _Exit()
'''
    verdict = _judge("01_local_gradients.ipynb", {"q1_loss_grad": answer},
                     "q1_loss_grad_check")
    assert not verdict.passed


def test_a_deeply_nested_frame_is_a_verdict_not_a_crash():
    answer = '''
import gc, os, struct
_channel = [o for o in gc.get_objects() if type(o).__name__ == "Channel"][0]
_data = b"[" * 100000 + b"]" * 100000
os.write(_channel.write_fd, struct.pack(">I", len(_data)) + _data)
def loss_grad(y, c):
    return np.zeros(len(y))
'''
    verdict = _judge("01_local_gradients.ipynb", {"q1_loss_grad": answer},
                     "q1_loss_grad_check")
    assert not verdict.passed


def test_the_graders_functions_do_not_outlive_their_check():
    """check_run_backward hands run_backward the package's layers; kept, they
    computed vector_backward (the next check of the cell) with no layer written."""
    answer = '''
_KEPT = []
def run_backward(layers, caches):
    if not _KEPT:
        _KEPT.extend(layers)
    grads, dout = {}, 1.0
    for (_, backward, names), cache in zip(reversed(layers), reversed(caches)):
        if names:
            dout, *dparams = backward(dout, cache)
            grads.update(zip(names, dparams))
        else:
            dout = backward(dout, cache)
    return grads

def vector_backward(params, x, c):
    (lin_f, lin_b, _), (sig_f, sig_b, _), _, (sm_f, sm_b, _) = _KEPT[:4]
    def ce_f(y):
        return -np.log(y[c]), y
    def ce_b(d, y):
        g = np.zeros_like(y)
        g[c] = -d / y[c]
        return g
    layers = [(lin_f, lin_b, ("W1", "b1")), (sig_f, sig_b, ()),
              (lin_f, lin_b, ("W2", "b2")), (sm_f, sm_b, ()), (ce_f, ce_b, ())]
    _, caches = run_forward(layers, params, x)
    return run_backward(layers, caches)
'''
    verdict = _judge("04_tensor_backprop.ipynb", {"q5_run_backward": answer},
                     "q5_run_backward_check")
    assert verdict.lines[0].startswith("✓ run_backward")  # the loop itself is right
    assert not verdict.passed


def test_a_row_loop_cannot_hide_from_the_line_count(tmp_path):
    """The line count is the sandbox's word; the CPU time the grader reads from
    /proc is not: a row loop that turns the tracer off still fails."""
    answer = '''
def batched_backward(params, X, c):
    import sys
    sys.settrace(None)
    total, loss = None, 0.0
    for n in range(len(X)):
        layers = network(c[n:n + 1])
        l, caches = run_forward(layers, params, X[n:n + 1])
        g = run_backward(layers, caches)
        loss += l
        total = g if total is None else {k: total[k] + g[k] for k in g}
    return loss / len(X), {k: v / len(X) for k, v in total.items()}
'''
    for name in ("04_tensor_backprop.ipynb", "05_batched_backprop.ipynb"):
        shutil.copyfile(ROOT / "notebooks" / name, tmp_path / name)
    verdict = _judge("05_batched_backprop.ipynb", {"q6_batched_backward": answer},
                     "q6_batched_backward_check", solutions=True,
                     submission_dir=tmp_path)
    assert not verdict.passed
    assert "not vectorised" in verdict.lines[-1], verdict.lines
    assert "measured outside your process" in verdict.lines[-1], verdict.lines


def test_a_whole_batch_answer_stays_below_the_loop_budget(tmp_path):
    """The worked solution, with the CPU budget at 0: every traced call is
    recorded, and the large batch's cost is printed for the margin."""
    from coursenet.grading.judge import Budget

    for name in ("04_tensor_backprop.ipynb", "05_batched_backprop.ipynb"):
        shutil.copyfile(ROOT / "notebooks" / name, tmp_path / name)
    verdict = _judge("05_batched_backprop.ipynb", {}, "q6_batched_backward_check",
                     solutions=True, submission_dir=tmp_path,
                     budget=Budget(loop_cpu=-1.0))
    spent = float(verdict.lines[-1].split(" used ")[1].split(" s ")[0])
    print(f"worked solution, large batch: {spent:.3f} s CPU"
          f" (budget {Budget().loop_cpu} s)")
    # the rule itself, not a margin: a margin is a timing target (printed
    # above), and CPU time grows on a loaded machine
    assert spent < Budget().loop_cpu, verdict.lines

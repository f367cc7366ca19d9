"""Checks for the course's exercises: run a student's function, name the mistake.

For an instructor: each ``check_*`` takes the student's function(s) and runs them
on several cases: the course's own example and random *asymmetric* cases of other
sizes (the symmetric 2-3-2 network of Q3 has two equal columns in ``V``, so its
first-layer gradients are exactly zero and it cannot see a first-layer bug). The
answers are compared with an independent reference: the package's functions
(:mod:`coursenet.losses`, :mod:`coursenet.scalar`, :mod:`coursenet.mlp`), which are
themselves refereed by central differences (:mod:`coursenet.gradcheck`) on one
case every time a check runs.

A wrong answer is then compared with the answer each *known mistake* would give.
Every check has a table of small functions, one per mistake (``dl/dy_i = -1/y_i``
for every class, a branch ``if target:`` that is false for class 0, a sigmoid
derivative taken from ``k`` instead of ``h``, ...). The first mistake that
reproduces the student's numbers on every case is the diagnosis; for the networks
the tables are combined, so two mistakes at once are recognised too. When no
mistake matches, the message names the worst entry ("max abs diff 0.31 at
W1[2, 0]") and the part of the network to look at. Adding a diagnosis means
adding a row to a table and a test that triggers it (``tests/test_exercises.py``).

Each check prints exactly one line, ``✓ ...``, ``✗ <diagnosis>. Hint: ...`` or
``… <name> is not implemented yet`` (naming the innermost unfinished stub), and
returns a :class:`CheckResult` (truthy iff passed). It never raises because of
the student's code: exceptions (``SystemExit`` included), ``None``, wrong types,
wrong key sets and wrong shapes are reported by name, and a student's object
whose ``__repr__`` fails is reported as theirs. The student's functions get fresh
copies of every input, and a function that writes into one of its arguments
fails, with the argument named and what changed (only ``sgd_step`` is asked to
change ``params``). Under nbgrader (``NBGRADER_EXECUTION`` = autograde or
validate) a check that did not pass raises ``AssertionError`` with its line,
except inside :class:`expected_to_fail` (a spot-the-bug demonstration).

Notebook 02's network is checked in stages, in the order of the lesson:
:func:`check_forward` (the loss and the cache dict), :func:`check_scalar_loss_grad`,
:func:`check_backprop` (fed a random dl/dy, every stage compared with
``dl/dy J`` and the layers below), :func:`check_backward` (the parameters) and
:func:`check_graph_backward` (the bridge to notebook 04: reverse accumulation on
an expression graph given as a list of nodes). Hints for Q1 and Q2 describe
properties of the right answer (rows of J sum to 0, dl/do sums to 0, a finite
difference's value) with the student's own numbers, never the formula that the
written question asks for. Numbers are compared with
``rtol = 1e-4, atol = 1e-6``, far tighter than any of the known mistakes. The
functions of notebook 01, whose stubs promise numpy arrays, must return float64
arrays: a list (which the notebook's next cells cannot negate or multiply) or a
float32 array is named once its numbers are right; notebooks 04-06 accept
float32 (their batches may be float32).

The package: :mod:`._core` holds the shared machinery (running the student's
function, comparing, the mistake tables' format and matching order, the
workbook helpers :func:`needs_your_code` and :func:`from_notebook`);
:mod:`._networks` the network cases and mistake variants shared by Q3-Q6; one
module per notebook (``nb01`` ... ``nb06``) holds that notebook's checks.
"""

from coursenet.exercises._core import (
    ATOL,
    RTOL,
    CarriedCodeFailed,
    CheckResult,
    Mistake,
    NotFinite,
    expected_to_fail,
    from_notebook,
    needs_your_code,
    stop_if_not_finite,
)
from coursenet.exercises.nb01 import (
    check_logit_grad,
    check_loss_grad,
    check_softmax_jacobian,
)
from coursenet.exercises.nb02 import (
    check_backprop,
    check_backward,
    check_forward,
    check_graph_backward,
    check_scalar_loss_grad,
)
from coursenet.exercises.nb03 import check_sgd_step
from coursenet.exercises.nb04 import (
    check_cross_entropy_layer,
    check_linear_layer,
    check_run_backward,
    check_sigmoid_layer,
    check_softmax_backward,
    check_softmax_layer,
    check_vector_backward,
)
from coursenet.exercises.nb05 import (
    check_batched_backward,
    check_cross_entropy_batch,
    check_linear_layer_batch,
    check_softmax_cross_entropy,
    check_softmax_layer_batch,
)
from coursenet.exercises.nb06 import check_minibatch_loop, requires

__all__ = [
    "ATOL",
    "RTOL",
    "CheckResult",
    "Mistake",
    "expected_to_fail",
    "from_notebook",
    "needs_your_code",
    "stop_if_not_finite",
    "NotFinite",
    "CarriedCodeFailed",
    "requires",
    "check_loss_grad",
    "check_softmax_jacobian",
    "check_logit_grad",
    "check_forward",
    "check_scalar_loss_grad",
    "check_backprop",
    "check_backward",
    "check_graph_backward",
    "check_sgd_step",
    "check_softmax_backward",
    "check_vector_backward",
    "check_linear_layer",
    "check_sigmoid_layer",
    "check_softmax_layer",
    "check_cross_entropy_layer",
    "check_run_backward",
    "check_batched_backward",
    "check_linear_layer_batch",
    "check_softmax_layer_batch",
    "check_cross_entropy_batch",
    "check_softmax_cross_entropy",
    "check_minibatch_loop",
]

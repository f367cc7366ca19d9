"""Checks for the course's exercises: run a student's function, name the mistake.

For an instructor: each ``check_*`` takes the student's function(s) and runs them
on several cases: the course's own example and random *asymmetric* cases of other
sizes (the symmetric 2-3-2 network of Q3 has two equal columns in ``V``, so its
first-layer gradients are exactly zero and it cannot see a first-layer bug). The
answers are compared with an independent reference: the package's functions
(:mod:`coursenet.losses`, :mod:`coursenet.scalar`, :mod:`coursenet.mlp`), which are
themselves refereed by central differences (:mod:`coursenet.gradcheck`) on one
case every time a check runs.

A wrong answer is then named, in this order (the first that fits speaks):

1. what it *is*: a wrong type, shape or key set, an exception (with the
   student's own line), nan/inf, or an argument changed in place
   (:mod:`._core`);
2. a known mistake: each check's table of :class:`Mistake` rows, one small
   function per mistake as a student would write it (``dl/dy_i = -1/y_i`` for
   every class, a branch ``if y:``, a sigmoid derivative taken from ``k``),
   combined for the networks so that two mistakes at once are recognised;
3. the property it breaks, probed with inputs chosen for it (:mod:`._diagnose`,
   :mod:`._pairs`): the right answer times one number, off in one part only,
   one row mixed into another, a row of J that does not sum to 0, nan at a
   logit spread of 2,000, what the update implies about the rate it used;
4. what it computed: :mod:`._explain` searches a small grammar over the
   check's own quantities (inputs, forward values, upstream gradient, the
   right result, N and C) for an expression that reproduces the answer on
   every case, and says it in words ("one number: all the entries of the
   upstream gradient added up", "built the way the right one is, but from the
   layer's output where the input x belongs");
5. else where it is wrong: the worst entry and the part to look at.

Hints describe a property of the right answer or a question to try, never
its formula (``tests/test_exercises_messages.py`` scans every message); a
new diagnosis is a row or a probe and a test with a real wrong answer that
triggers it (``tests/test_exercises_mistake_ids.py`` fails on an id no test
produces).

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

Reading order for a maintainer: :mod:`._core` (running the student's
function under a time limit, comparing, the :class:`Mistake` format, the
workbook helpers :func:`needs_your_code` and :func:`from_notebook`), then
:mod:`._diagnose` and :mod:`._explain` (steps 3 and 4 above, shared by every
check), :mod:`._pairs` (the layer pairs of 04 and 05), :mod:`._networks` (the
network cases and mistake variants shared by Q3-Q6), and one module per
notebook (``nb01`` ... ``nb06``) with that notebook's checks and tables.
"""

from coursenet.exercises._core import (
    ATOL,
    RTOL,
    CarriedCodeFailed,
    CheckResult,
    Mistake,
    NotFinite,
    RunStopped,
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
    "RunStopped",
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

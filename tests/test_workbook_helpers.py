"""The workbook's helpers: skipping cells that need unfinished code, carrying a
student's functions between notebooks, and grading under nbgrader."""

import json

import numpy as np
import pytest

from coursenet import exercises


def stub(*args):
    raise NotImplementedError()


def outer():
    return stub() + 1


def test_needs_your_code_skips_and_names_the_innermost_stub(capsys):
    ran_after = []
    with exercises.needs_your_code() as block:
        outer()
        ran_after.append(True)
    assert ran_after == []
    assert block.skipped == "stub"
    out = capsys.readouterr().out
    assert out.startswith("↷ skipped: `stub` is not written yet")


def test_needs_your_code_runs_finished_code_silently(capsys):
    with exercises.needs_your_code() as block:
        value = 41 + 1
    assert value == 42 and block.skipped is None and not block.stopped
    assert capsys.readouterr().out == ""


def test_wrong_but_running_code_ends_the_block_in_one_line(capsys):
    # a student's loss_grad that returns a list: the cell's own line fails
    def loss_grad(y, c):
        return [0.0, -1 / y[c]]

    cell = compile("with exercises.needs_your_code() as block:\n"
                   "    dl_dy = -loss_grad(np.array([0.5, 0.5]), 1)\n",
                   "/tmp/ipykernel_1/2.py", "exec")   # a cell, as IPython names it
    namespace = {"exercises": exercises, "np": np, "loss_grad": loss_grad}
    exec(cell, namespace)
    block = namespace["block"]
    out = capsys.readouterr().out
    assert out.startswith("■ stopped: this cell could not use what your functions"
                          " returned: TypeError: bad operand type for unary -:"
                          " 'list' (line 2 of this cell)"), out
    assert block.stopped and block.skipped == "this cell"

    def forward(params, x):                     # raises inside the student's code
        return params["W"][3] * x

    with exercises.needs_your_code() as block:
        forward({"W": [1.0]}, 2.0)
    out = capsys.readouterr().out
    # not "your": no check has seen forward, and a given function is in the
    # notebook too (02's backward_report)
    assert out.startswith("■ stopped: `forward` raised IndexError: list index"
                          " out of range (line "), out
    assert out.count("\n") == 1 and block.skipped == "forward"
    # a later cell that needs it skips, and does not call forward unwritten
    with exercises.needs_your_code():
        exercises.requires(block)
        raise AssertionError("not reached")
    out = capsys.readouterr().out
    assert out.startswith("↷ skipped: the cell this one needs stopped: fix what its")
    assert "not written yet" not in out


def test_a_stop_in_a_right_function_points_at_the_failed_check(capsys):
    """nan met in a function whose check passed, made by one whose check failed
    (a softmax backward with only the Jacobian's diagonal, say): the stopped line
    says where to start."""
    def loss_grad(y, c):
        g = np.zeros_like(y)
        g[c] = -1 / y[c]
        return g

    def logit_grad(o, c):
        return np.exp(o)   # wrong: fails its check

    exercises.check_loss_grad(loss_grad)
    exercises.check_logit_grad(logit_grad)
    capsys.readouterr()
    with exercises.needs_your_code():
        exercises.stop_if_not_finite(np.array([np.inf]), "loss_grad", "at step 3")
    out = capsys.readouterr().out
    assert "■ stopped: your `loss_grad` returned nan or inf at step 3. Your" \
        " `logit_grad` failed its own check above: start there." in out, out
    # redefined but not re-checked: the verdict was about code that is gone
    namespace = {"np": np}
    exec("def logit_grad(o, c):\n    return np.exp(o)\n", namespace)
    exercises.check_logit_grad(namespace["logit_grad"])
    exec("def logit_grad(o, c):\n    return np.exp(o) + 1\n", namespace)
    capsys.readouterr()
    with exercises.needs_your_code():
        exercises.stop_if_not_finite(np.array([np.inf]), "loss_grad", "at step 3")
    assert "start there" not in capsys.readouterr().out.split("`logit_grad`")[-1]
    # once it passes its check, the line no longer sends the student there
    def logit_grad(o, c):   # fixed, under the same name
        e = np.exp(o - o.max())
        return e / e.sum() - np.eye(len(o))[c]

    assert exercises.check_logit_grad(logit_grad).passed
    capsys.readouterr()
    with exercises.needs_your_code():
        exercises.stop_if_not_finite(np.array([np.inf]), "loss_grad", "at step 3")
    assert "start there" not in capsys.readouterr().out


@pytest.mark.parametrize("error", [AssertionError, KeyboardInterrupt, SystemExit])
def test_a_verdict_or_an_interrupt_is_never_swallowed(error, capsys):
    with pytest.raises(error):
        with exercises.needs_your_code():
            raise error("a check's verdict while grading")
    assert capsys.readouterr().out == ""


def test_under_nbgrader_errors_propagate(monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(ZeroDivisionError):
        with exercises.needs_your_code():
            raise ZeroDivisionError
    assert capsys.readouterr().out == ""


def test_a_check_names_the_innermost_stub(capsys):
    def loss_grad(y, c):
        return helper(y, c)

    def helper(y, c):
        raise NotImplementedError()

    result = exercises.check_loss_grad(loss_grad)
    assert result.status == "todo"
    assert result.message.startswith("… helper is not implemented yet")


def notebook(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def code(source, solution=False):
    meta = {"nbgrader": {"solution": True, "grade": False, "grade_id": "x",
                         "locked": False, "schema_version": 3}} if solution else {}
    return {"cell_type": "code", "source": source, "metadata": meta,
            "outputs": [], "execution_count": None}


def test_from_notebook_runs_import_and_exercise_cells_only(tmp_path, capsys):
    nb = notebook([
        code("import math"),
        code("print('side effect')\nraise RuntimeError('not an exercise cell')"),
        code("def forward(x):\n    return math.exp(x)", solution=True),
        code("def backward(x):\n    raise NotImplementedError()", solution=True),
    ])
    (tmp_path / "02.ipynb").write_text(json.dumps(nb))
    forward, backward = exercises.from_notebook("02.ipynb", "forward", "backward",
                                                folder=tmp_path)
    assert forward(0.0) == 1.0
    out = capsys.readouterr().out
    assert out.startswith("Using your `forward`, `backward` from 02.ipynb")
    assert "side effect" not in out
    with exercises.needs_your_code() as block:
        backward(1.0)
    assert block.skipped == "backward"
    assert "`backward` (in 02.ipynb) is not written yet" in capsys.readouterr().out


def test_from_notebook_reports_a_missing_file_or_name_in_one_line(tmp_path, capsys):
    fn = exercises.from_notebook("nope.ipynb", "forward", folder=tmp_path)
    out = capsys.readouterr().out
    assert out.startswith("⚠ `forward` from nope.ipynb: cannot read nope.ipynb")
    with exercises.needs_your_code() as block:
        fn(1)
    assert block.skipped == "forward"
    (tmp_path / "a.ipynb").write_text(json.dumps(notebook([
        code("def f():\n    return 1", solution=True),
        code("1/0", solution=True)])))
    f, g = exercises.from_notebook("a.ipynb", "f", "g", folder=tmp_path)
    out = capsys.readouterr().out
    assert "cell 1 raised ZeroDivisionError" in out
    assert "no function `g`" in out
    assert f() == 1
    with pytest.raises(TypeError, match="names"):
        exercises.from_notebook("a.ipynb", folder=tmp_path)


@pytest.mark.parametrize("mode", ["autograde", "validate"])
def test_under_nbgrader_a_check_that_does_not_pass_raises(monkeypatch, mode):
    monkeypatch.setenv("NBGRADER_EXECUTION", mode)
    with pytest.raises(AssertionError, match="not implemented yet"):
        exercises.check_loss_grad(stub)
    with pytest.raises(AssertionError, match="wrong sign"):
        exercises.check_loss_grad(lambda y, c: (1.0 / y) * (np.arange(len(y)) == c))
    def right(y, c):
        g = np.zeros_like(y)
        g[c] = -1 / y[c]
        return g

    assert exercises.check_loss_grad(right)


def test_in_a_students_session_a_failing_check_does_not_raise(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not exercises.check_loss_grad(stub)


# --- notebook 04's training loop: the first layer that went non-finite --------

def _instance_layers(ce_backward):
    from coursenet import layers as L
    from coursenet import losses

    def lin_f(x, W, b):
        return x @ W + b, (x, W)

    def lin_b(dout, cache):
        x, W = cache
        return dout @ W.T, np.outer(x, dout), dout

    def softmax_forward(o):
        y = losses.softmax(o[None])[0]
        return y, y

    def softmax_backward(dy, y):
        return dy @ (np.diag(y) - np.outer(y, y))

    def loss_f(y):
        return -np.log(y[1]), y

    def sigmoid_forward(k):
        h = L.sigmoid(k)
        return h, h

    def sigmoid_backward(dh, h):
        return dh * h * (1 - h)

    return [(lin_f, lin_b, ("W1", "b1")),
            (sigmoid_forward, sigmoid_backward, ()),
            (lin_f, lin_b, ("W2", "b2")),
            (softmax_forward, softmax_backward, ()),
            (loss_f, ce_backward, ())]


def _step(rows, params, x):
    out, caches = x, []
    for f, _, names in rows:
        out, cache = f(out, *(params[n] for n in names))
        caches.append(cache)
    loss, grads, dout = out, {}, 1.0
    for (_, b, names), cache in zip(reversed(rows), reversed(caches)):
        if names:
            dout, *d = b(dout, cache)
            grads.update(zip(names, d))
        else:
            dout = b(dout, cache)
    return {"loss": loss, **grads}


def test_a_non_finite_training_step_names_the_layer_not_the_loop(capsys):
    from coursenet.exercises.nb04 import stop_if_layer_not_finite
    from coursenet.mlp import init_mlp

    def cross_entropy_backward(dloss, y):
        dy = np.zeros_like(y)
        dy[1] = -dloss / dy[1]          # a division by the new zeros: -inf
        return dy

    params = {k: v.astype(np.float64) for k, v in init_mlp(3, 4, 2, seed=0).items()}
    x = np.array([0.5, -1.0, 2.0])
    rows = _instance_layers(cross_entropy_backward)
    with np.errstate(all="ignore"):
        values = _step(rows, params, x)
        with exercises.needs_your_code() as block:
            stop_if_layer_not_finite(rows, params, x, values, "at step 7 of the"
                                     " training")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Traceback" not in out
    assert "your `cross_entropy_backward` returned nan or inf at step 7" in out
    assert block.skipped


def _finite_step():
    """A right 3-4-2 network's layers, params and one instance (class 1)."""
    from coursenet.mlp import init_mlp

    def cross_entropy_backward(dloss, y):
        dy = np.zeros_like(y)
        dy[1] = -dloss / y[1]
        return dy

    params = {k: v.astype(np.float64) for k, v in init_mlp(3, 4, 2, seed=0).items()}
    return _instance_layers(cross_entropy_backward), params, np.array([0.5, -1.0, 2.0])


def test_a_finite_training_step_goes_on():
    from coursenet.exercises.nb04 import stop_if_layer_not_finite

    rows, params, x = _finite_step()
    stop_if_layer_not_finite(rows, params, x, _step(rows, params, x), "at step 1")


def test_when_every_layer_is_finite_the_loop_is_named():
    from coursenet.exercises.nb04 import stop_if_layer_not_finite

    rows, params, x = _finite_step()
    values = {**_step(rows, params, x), "W1": np.full((3, 4), np.nan)}
    with pytest.raises(exercises.NotFinite, match="your `run_backward` returned"):
        stop_if_layer_not_finite(rows, params, x, values, "at step 3")


def test_a_probability_that_underflowed_is_said_to_come_from_earlier_steps():
    from coursenet.exercises.nb04 import stop_if_layer_not_finite
    from coursenet.mlp import init_mlp

    def cross_entropy_backward(dloss, y):
        return -dloss * np.eye(len(y))[1] / y    # 0 / 0 where a y_i is 0

    params = {k: v.astype(np.float64) for k, v in init_mlp(3, 4, 2, seed=0).items()}
    params["b2"] = np.array([-1000.0, 0.0])   # y_0 underflows to exactly 0
    x = np.array([0.5, -1.0, 2.0])
    rows = _instance_layers(cross_entropy_backward)
    with np.errstate(all="ignore"):
        values = _step(rows, params, x)
        with pytest.raises(exercises.NotFinite) as stop:
            stop_if_layer_not_finite(rows, params, x, values, "at step 9")
    text = str(stop.value)
    assert "your `cross_entropy_backward` returned nan or inf at step 9" in text
    assert "underflowed" in text and "before this step" in text


def test_a_composition_check_points_at_a_failed_layer_it_calls():
    """A right composition over a wrong layer: its check says the layer's own
    check failed above; not once the layer is fixed."""
    from coursenet import layers
    namespace = {"np": np, "layers": layers}
    exec("def linear_forward(x, W, b):\n"
         "    return x @ W + b, (x, W)\n"
         "def linear_backward(dout, cache):\n"
         "    x, W = cache\n"
         "    return dout @ W, np.outer(x, dout), dout   # dx not transposed\n"
         "def vector_backward(params, x, c):\n"
         "    return linear_backward(np.ones(3), (x, params['W1']))\n",
         namespace)
    first = exercises.check_linear_layer(namespace["linear_forward"],
                                         namespace["linear_backward"])
    assert not first.passed
    from coursenet.exercises import _core
    said = _core._upstream_failed({"vector_backward": namespace["vector_backward"]})
    assert said == ("Your `linear_forward` and `linear_backward` failed their own"
                    " check above, and vector_backward calls them: start there")
    exec("def linear_backward(dout, cache):\n"
         "    x, W = cache\n"
         "    return dout @ W.T, np.outer(x, dout), dout.copy()\n", namespace)
    assert exercises.check_linear_layer(namespace["linear_forward"],
                                        namespace["linear_backward"]).passed
    assert _core._upstream_failed(
        {"vector_backward": namespace["vector_backward"]}) == ""


def test_a_loop_that_trained_other_arrays_stops_the_cell(capsys):
    """06: a History whose params are still the start: one stopped line, and the
    cells that need the run skip; a trained one goes on."""
    from coursenet import mlp
    from coursenet.exercises import nb06
    from coursenet.history import History

    start = mlp.init_mlp(4, 3, 2, seed=0)
    untrained = History(lr=0.1, batch_size=2, epochs=1, seed=0, steps_per_epoch=1,
                        params=mlp.init_mlp(4, 3, 2, seed=0))
    with exercises.needs_your_code() as run:
        nb06.stop_unless_right(untrained, start)
    out = capsys.readouterr().out
    assert out.startswith("■ stopped: your `minibatch_sgd` returned a History whose"
                          " params never changed"), out
    assert run.stopped
    untrained.params["b2"] += 0.1       # one step taken
    with exercises.needs_your_code() as run:
        nb06.stop_unless_right(untrained, start)
    assert not run.stopped and capsys.readouterr().out == ""


def test_the_first_run_stops_when_the_loop_failed_its_check(capsys):
    """06: a loop whose check failed above (its History would feed the
    experiments as if right): the first run stops in one line."""
    from coursenet import mlp
    from coursenet.exercises import nb06
    from coursenet.history import History

    def minibatch_sgd(params, train_data, val_data, lr, batch_size, epochs, seed):
        return None   # wrong: its check fails

    assert not exercises.check_minibatch_loop(minibatch_sgd).passed
    start = mlp.init_mlp(4, 3, 2, seed=0)
    trained = History(lr=0.1, batch_size=2, epochs=1, seed=0, steps_per_epoch=1,
                      params=mlp.init_mlp(4, 3, 2, seed=1))
    capsys.readouterr()
    with exercises.needs_your_code() as run:
        nb06.stop_unless_right(trained, start)
    assert capsys.readouterr().out.startswith(
        "■ stopped: your `minibatch_sgd` failed its own check above") and run.stopped


def test_the_start_there_sentence_names_only_the_functions_that_call():
    """02's demonstration checks forward with backward_report: only the
    second calls the failed backprop (round 9 found 'forward and
    backward_report call it')."""
    from coursenet.exercises import _core
    namespace = {}
    exec("def backprop(params, cache, dl_dy):\n    return {}\n"
         "def forward(params, x, target):\n    return 0.0, {}\n"
         "def backward_report(params, cache):\n"
         "    return backprop(params, cache, [0.0])\n", namespace)
    _core._VERDICTS[("backprop",)] = (False, (namespace["backprop"],))
    said = _core._upstream_failed({"forward": namespace["forward"],
                                   "backward_report": namespace["backward_report"]})
    assert said == ("Your `backprop` failed its own check above, and"
                    " backward_report calls it: start there"), said


def test_a_cell_that_ran_a_function_whose_check_failed_says_so(capsys):
    """A training cell that runs to its end on wrong code: one line says its
    outputs are the student's code's, not what the text describes; a cell that
    does not run that function, or runs it after it passed, says nothing."""
    namespace = {"exercises": exercises, "np": np}
    exec("def sgd_step(params, grads, lr):\n"           # lr applied twice
         "    for name in params:\n"
         "        p, g = params[name], grads[name]\n"
         "        if isinstance(p[0], list):\n"
         "            for row, grow in zip(p, g):\n"
         "                for j in range(len(row)):\n"
         "                    row[j] -= lr * lr * grow[j]\n"
         "        else:\n"
         "            for j in range(len(p)):\n"
         "                p[j] -= lr * lr * g[j]\n"
         "def train(params, grads):\n"
         "    sgd_step(params, grads, 0.1)\n", namespace)
    assert not exercises.check_sgd_step(namespace["sgd_step"]).passed
    capsys.readouterr()
    cells = {"direct": "sgd_step({'b': [1.0]}, {'b': [1.0]}, 0.1)",
             "through a helper": "train({'b': [1.0]}, {'b': [1.0]})",
             "not at all": "x = np.zeros(2)"}
    said = {}
    for what, line in cells.items():
        exec(compile(f"with exercises.needs_your_code():\n    {line}\n",
                     "/tmp/ipykernel_1/7.py", "exec"), namespace)
        said[what] = capsys.readouterr().out
    assert said["direct"] == said["through a helper"] == (
        "⚠ this cell ran your `sgd_step`, whose own check failed above: what it"
        " shows is what your code does, which the text around it does not"
        " describe\n")
    assert said["not at all"] == ""
    # a later cell that only uses what such a block made says so too
    exec(compile("with exercises.needs_your_code() as run:\n    train({'b': [1.0]},"
                 " {'b': [1.0]})\n", "/tmp/ipykernel_1/7.py", "exec"), namespace)
    capsys.readouterr()
    exec(compile("with exercises.needs_your_code():\n    exercises.requires(run)\n",
                 "/tmp/ipykernel_1/8.py", "exec"), namespace)
    assert capsys.readouterr().out.startswith("⚠ this cell shows what an earlier"
                                              " cell made with your `sgd_step`")
    exec("def sgd_step(params, grads, lr):\n"
         "    for name in params:\n"
         "        p, g = params[name], grads[name]\n"
         "        if isinstance(p[0], list):\n"
         "            for row, grow in zip(p, g):\n"
         "                for j in range(len(row)):\n"
         "                    row[j] -= lr * grow[j]\n"
         "        else:\n"
         "            for j in range(len(p)):\n"
         "                p[j] -= lr * g[j]\n", namespace)
    assert exercises.check_sgd_step(namespace["sgd_step"]).passed
    capsys.readouterr()
    exec(compile("with exercises.needs_your_code():\n    train({'b': [1.0]},"
                 " {'b': [1.0]})\n", "/tmp/ipykernel_1/8.py", "exec"), namespace)
    assert capsys.readouterr().out == ""


def test_a_stop_that_names_half_of_a_failed_pair_names_the_pair(capsys):
    """Round 16: 04's training stopped at nan 'in `cross_entropy_forward`' when
    the pair's backward was the wrong one: the line names the pair's check."""
    from coursenet.exercises import _core
    namespace = {}
    exec("def cross_entropy_forward(y, c):\n    return 0.0, y\n"
         "def cross_entropy_backward(d, y):\n    return y\n", namespace)
    pair = ("cross_entropy_forward", "cross_entropy_backward")
    _core._VERDICTS[pair] = (False, tuple(namespace[n] for n in pair))
    try:
        with exercises.needs_your_code():
            exercises.stop_if_not_finite(np.array([np.nan]), "forward",
                                         "at step 5 (`cross_entropy_forward`)")
        said = capsys.readouterr().out
        assert "Your `cross_entropy_forward` and `cross_entropy_backward` failed" \
            " their own check above: start there." in said, said
        with exercises.needs_your_code():   # the whole pair named: nothing more
            exercises.stop_if_not_finite(np.array([np.nan]), "forward", "in"
                                         " `cross_entropy_forward` and"
                                         " `cross_entropy_backward`")
        assert "start there" not in capsys.readouterr().out
    finally:
        del _core._VERDICTS[pair]


def test_a_function_that_passed_its_own_check_is_not_blamed_for_a_pair(capsys):
    """Round 17: check_backward(forward, backward) failed on backward alone,
    and cells that ran only forward (whose own check passed) said 'ran your
    `forward`, whose own check failed above'."""
    from coursenet.exercises import _core
    namespace = {"exercises": exercises}
    exec("def forward(x):\n    return x\n"
         "def backward(x):\n    return -x\n", namespace)
    fwd, bwd = namespace["forward"], namespace["backward"]
    saved = dict(_core._VERDICTS)
    _core._VERDICTS.clear()
    try:
        _core._VERDICTS[("forward",)] = (True, (fwd,))
        _core._VERDICTS[("forward", "backward")] = (False, (fwd, bwd))
        assert _core.failed_checks() == [("backward",)]
        for line, said in (("forward(1.0)", ""), ("backward(1.0)", "⚠ this cell ran"
                                                   " your `backward`, whose own")):
            exec(compile(f"with exercises.needs_your_code():\n    {line}\n",
                         "/tmp/ipykernel_1/9.py", "exec"), namespace)
            assert capsys.readouterr().out.startswith(said)
        # both failed on their own too: the pair's verdict names both
        _core._VERDICTS[("forward",)] = (False, (fwd,))
        assert ("forward", "backward") in _core.failed_checks()
    finally:
        _core._VERDICTS.clear()
        _core._VERDICTS.update(saved)

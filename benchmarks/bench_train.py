"""What a student waits for: training steps, evaluations, notebooks, explorers.

One epoch = 55,000 rows x 784 features through 784-300-10 (sigmoid, softmax,
mean cross-entropy), plain SGD, reshuffled, float32. The data are random: the
content does not change the timing. Every implementation runs in its own
process (so no two BLAS or OpenMP runtimes share one), with the same thread
count, and prints its times as JSON; the parent prints the tables:

1. the machine: CPU model, numpy's BLAS and the kernel it picked, load average;
2. steps only, one epoch: coursenet (fused and unfused W1 update), the plain
   numpy reference, PyTorch (hand-written and autograd), JAX;
3. coursenet's step at each batch size split into its two big GEMMs and the rest;
4. the same work as ``train.sgd(..., epochs=3, val_data=...)`` (3 epochs + 4
   evaluations of 55,000 + 5,000 rows), coursenet (with and without
   ``coursenet._blas``) vs hand-written PyTorch, with the time split between
   steps and evaluations, ending with coursenet / PyTorch at each batch size;
5. one evaluation pass over 60,000 rows vs the bare forward GEMMs;
6. every notebook executed offline, and notebook 06 on a synthetic
   MNIST-shaped set of 60,000 + 10,000 rows;
7. the explorers' time per move.

    python benchmarks/bench_train.py                 # everything (a few minutes)
    python benchmarks/bench_train.py --no-notebooks  # sections 1-5 and 7
    python benchmarks/bench_train.py --torch-python /path/to/venv/bin/python
    BENCH_TORCH_PYTHON=/path/to/venv/bin/python make bench   # the same

PyTorch and JAX are optional and never dependencies of coursenet: they are
timed when importable by the interpreter given (``--torch-python``,
``--jax-python``; default: this one), skipped with a note otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_flags, cpu_model, load_average  # benchmarks/machine.py

N, D, H, C = 55_000, 784, 300, 10
N_VAL = 5_000
EPOCHS = 3  # the same-work comparison: 3 epochs + 4 evaluations
# forward X@W1 and H@W2, backward dW2, dH and dW1: multiply-adds x 2
EPOCH_FLOP = 4 * N * D * H + 6 * N * H * C
EVAL_FLOP = 2 * (N + N_VAL) * (D * H + H * C)  # one forward pass over both sets
IMPLEMENTATIONS = ("coursenet", "coursenet-unfused", "numpy-reference",
                   "torch-manual", "torch-autograd", "jax-scan")
SAME_WORK = ("coursenet-sgd", "coursenet-sgd-no-blas", "torch-sgd")
NO_BLAS = "-no-blas"  # the same worker with COURSENET_NO_BLAS=1: without _blas
ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------
# workers: each runs in a fresh process


def make_data(n=N, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.random((n, D), dtype=np.float32)
    y = rng.integers(0, C, size=n)
    return X, y


def run_coursenet(batch_size, repeats, fused=None, lr=0.1):
    """The loop :func:`coursenet.train.sgd` runs, without its evaluations."""
    import numpy as np

    from coursenet import _fast_step, mlp

    X, y = make_data()
    times = []
    rng = np.random.default_rng(0)
    trainer = _fast_step.Trainer(mlp.init_mlp(D, H, C, seed=0), batch_size, fused=fused)
    for _ in range(repeats):
        start = time.perf_counter()
        order = rng.permutation(N)
        for s in range(0, N, batch_size):
            trainer._step(X, y, order[s:s + batch_size], lr)  # what sgd calls
        times.append(time.perf_counter() - start)
    extra = {"fused BLAS update": trainer.fused}
    if fused is None:
        extra["step split"] = step_split(trainer, X, y, batch_size, lr, rng)
        # memory: what one more epoch allocates on top of the data (numpy
        # reports its buffers to tracemalloc); not part of the timed epochs
        import tracemalloc

        tracemalloc.start()
        trainer = _fast_step.Trainer(mlp.init_mlp(D, H, C, seed=0), batch_size)
        order = rng.permutation(N)
        for s in range(0, N, batch_size):
            trainer._step(X, y, order[s:s + batch_size], lr)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        extra["peak extra memory per epoch (MB, incl. parameters)"] = round(peak / 1e6,
                                                                           2)
    return times, extra


def step_split(trainer, X, y, batch_size, lr, rng):
    """Microseconds per full step: all of it, its two big GEMMs alone, the rest.

    The GEMMs are timed on the Trainer's own buffers, as the step calls them
    (``K = Xb W1`` and the W1 update), over as many calls as one epoch.
    """
    import numpy as np

    from coursenet import _blas

    steps = N // batch_size
    order = rng.permutation(N)
    W1 = trainer.params["W1"]
    buffers = trainer.buffers
    Xb, hidden, grad_K = buffers["X_batch"], buffers["hidden"], buffers["grad_K"]
    np.take(X, order[:batch_size], axis=0, out=Xb)
    grad_K[:] = 1e-12  # a tiny update: W1 stays as it is
    best = {"step": [], "2 GEMMs": []}
    for _ in range(3):
        start = time.perf_counter()
        for s in range(steps):
            trainer._step(X, y, order[s * batch_size:(s + 1) * batch_size], lr)
        best["step"].append(time.perf_counter() - start)
        start = time.perf_counter()
        if trainer.fused:
            fn = _blas.gemm_function(W1.dtype)
            for _ in range(steps):
                np.dot(Xb, W1, out=hidden)
                _blas.gemm_AtB(fn, W1, Xb, grad_K, -1.0)
        else:
            for _ in range(steps):
                np.dot(Xb, W1, out=hidden)
                np.dot(Xb.T, grad_K, out=trainer.grad_W1)
                W1 -= trainer.grad_W1
        best["2 GEMMs"].append(time.perf_counter() - start)
    step, gemm = (min(best[k]) / steps * 1e6 for k in ("step", "2 GEMMs"))
    return {"step": round(step, 1), "2 GEMMs": round(gemm, 1),
            "rest": round(step - gemm, 1)}


def run_coursenet_sgd(batch_size, repeats, lr=0.1):
    """train.sgd with validation data; evaluations timed inside the same run."""
    import numpy as np

    from coursenet import _fast_eval, mlp, train

    X, y = make_data()
    Xv, yv = make_data(N_VAL, seed=1)
    spent = []
    evaluate = _fast_eval.loss_and_accuracy

    def timed(*args):  # wraps the one evaluator sgd calls
        start = time.perf_counter()
        result = evaluate(*args)
        spent.append(time.perf_counter() - start)
        return result

    _fast_eval.loss_and_accuracy = timed
    totals, evals = [], []
    for r in range(repeats):
        spent.clear()
        history = train.sgd(mlp.init_mlp(D, H, C, seed=r), (X, y), lr=lr,
                            batch_size=batch_size, epochs=EPOCHS, seed=r,
                            val_data=(Xv, yv), progress=False)
        totals.append(history.seconds)
        evals.append(sum(spent))
    _fast_eval.loss_and_accuracy = evaluate
    # one evaluation pass over both sets, and the bare forward GEMMs it needs
    params = history.params
    W1, W2 = params["W1"], params["W2"]
    hidden = np.empty((mlp.EVAL_CHUNK, H), np.float32)
    logits = np.empty((mlp.EVAL_CHUNK, C), np.float32)
    one_pass, gemms = [], []
    for _ in range(5):
        start = time.perf_counter()
        mlp.evaluate(params, X, y)
        mlp.evaluate(params, Xv, yv)
        one_pass.append(time.perf_counter() - start)
        start = time.perf_counter()
        for data in (X, Xv):
            for s in range(0, len(data), mlp.EVAL_CHUNK):
                chunk = data[s:s + mlp.EVAL_CHUNK]
                np.dot(chunk, W1, out=hidden[:len(chunk)])
                np.dot(hidden[:len(chunk)], W2, out=logits[:len(chunk)])
        gemms.append(time.perf_counter() - start)
    return totals, {"evaluations": evals, "one evaluation pass": min(one_pass),
                    "forward GEMMs alone": min(gemms),
                    "evaluations per run": EPOCHS + 1}


def run_numpy_reference(batch_size, repeats, lr=0.1):
    """The straightforward version: mlp.loss_and_grads, then p -= lr * g."""
    import numpy as np

    from coursenet import mlp

    X, y = make_data()
    params = mlp.init_mlp(D, H, C, seed=0)
    rng = np.random.default_rng(0)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        order = rng.permutation(N)
        for s in range(0, N, batch_size):
            idx = order[s:s + batch_size]
            _, grads = mlp.loss_and_grads(params, X[idx], y[idx])
            for k in params:
                params[k] -= lr * grads[k]
        times.append(time.perf_counter() - start)
    return times, {}


def _torch_setup(threads):
    import torch

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    W1 = torch.randn(D, H, generator=g) / D ** 0.5
    W2 = torch.randn(H, C, generator=g) / H ** 0.5
    b1, b2 = torch.zeros(H), torch.zeros(C)
    return torch, g, [W1, b1, W2, b2]


def _torch_manual_epoch(torch, X, y, params, order, batch_size, lr):
    """The same maths as coursenet's step, by hand, in place, no autograd."""
    W1, b1, W2, b2 = params
    losses = []
    with torch.no_grad():
        for s in range(0, len(X), batch_size):
            idx = order[s:s + batch_size]
            Xb, yb = X[idx], y[idx]
            hidden = torch.sigmoid(torch.addmm(b1, Xb, W1))
            logits = torch.addmm(b2, hidden, W2)
            logp = torch.log_softmax(logits, dim=1)
            rows = torch.arange(len(idx))
            losses.append(-logp[rows, yb].mean())  # the loss sgd records
            P = logp.exp_()
            P[rows, yb] -= 1.0
            P *= lr / len(idx)
            dH = P @ W2.T
            W2.sub_(hidden.T @ P)
            b2.sub_(P.sum(0))
            dK = dH.mul_(hidden).mul_(1 - hidden)
            W1.addmm_(Xb.T, dK, alpha=-1.0)
            b1.sub_(dK.sum(0))
    return [float(v) for v in losses]  # as sgd does: one Python float per step


def _torch_evaluate(torch, params, X, y, chunk=4096):
    """Mean loss and accuracy in chunks, as a student would write it in torch."""
    W1, b1, W2, b2 = params
    total, correct = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(X), chunk):
            logits = torch.addmm(b2, torch.sigmoid(torch.addmm(b1, X[s:s + chunk], W1)),
                                 W2)
            total += float(torch.nn.functional.cross_entropy(
                logits, y[s:s + chunk], reduction="sum"))
            correct += int((logits.argmax(1) == y[s:s + chunk]).sum())
    return total / len(X), correct / len(X)


def run_torch(batch_size, repeats, threads, autograd, lr=0.1):
    torch, g, params = _torch_setup(threads)
    X, y = make_data()
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    times = []
    if autograd:
        model = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.Sigmoid(),
                                    torch.nn.Linear(H, C))
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        loss_fn = torch.nn.CrossEntropyLoss()
        for _ in range(repeats):
            start = time.perf_counter()
            order = torch.randperm(N, generator=g)
            for s in range(0, N, batch_size):
                idx = order[s:s + batch_size]
                opt.zero_grad(set_to_none=True)
                loss_fn(model(X[idx]), y[idx]).backward()
                opt.step()
            times.append(time.perf_counter() - start)
    else:
        for _ in range(repeats):
            start = time.perf_counter()
            order = torch.randperm(N, generator=g)
            _torch_manual_epoch(torch, X, y, params, order, batch_size, lr)
            times.append(time.perf_counter() - start)
    return times, {"torch": torch.__version__, "torch threads": torch.get_num_threads()}


def run_torch_sgd(batch_size, repeats, threads, lr=0.1):
    """The same work as train.sgd: evaluate, then (an epoch, evaluate) x EPOCHS."""
    torch, g, params = _torch_setup(threads)
    X, y = (torch.from_numpy(a) for a in make_data())
    Xv, yv = (torch.from_numpy(a) for a in make_data(N_VAL, seed=1))
    totals, evals = [], []
    for _ in range(repeats):
        spent = 0.0
        start = time.perf_counter()
        for epoch in range(EPOCHS + 1):
            if epoch:
                _torch_manual_epoch(torch, X, y, params, torch.randperm(N, generator=g),
                                    batch_size, lr)
            t = time.perf_counter()
            _torch_evaluate(torch, params, X, y)
            _torch_evaluate(torch, params, Xv, yv)
            spent += time.perf_counter() - t
        totals.append(time.perf_counter() - start)
        evals.append(spent)
    return totals, {"evaluations": evals, "torch": torch.__version__}


def run_jax(batch_size, repeats, lr=0.1):
    import jax
    import jax.numpy as jnp
    import numpy as np

    X, y = make_data()
    steps = N // batch_size  # full batches in the scan; the remainder after it

    def loss_fn(p, Xb, yb):
        hidden = jax.nn.sigmoid(Xb @ p[0] + p[1])
        logits = hidden @ p[2] + p[3]
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))

    grad = jax.grad(loss_fn)

    def sgd_step(p, batch):
        g = grad(p, *batch)
        return tuple(a - lr * b for a, b in zip(p, g)), None

    @jax.jit
    def epoch(p, Xs, ys, Xr, yr):
        p, _ = jax.lax.scan(sgd_step, p, (Xs, ys))
        return sgd_step(p, (Xr, yr))[0]

    rng = np.random.default_rng(0)
    p = (jnp.asarray(rng.standard_normal((D, H), dtype=np.float32) / D ** 0.5),
         jnp.zeros(H), jnp.asarray(rng.standard_normal((H, C), dtype=np.float32)
                                   / H ** 0.5), jnp.zeros(C))
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def batches():
        order = jnp.asarray(rng.permutation(N))
        full = order[:steps * batch_size].reshape(steps, batch_size)
        rest = order[steps * batch_size:]
        if len(rest) == 0:  # keep shapes static: reuse a full batch
            rest = order[:batch_size]
        return Xj[full], yj[full], Xj[rest], yj[rest]

    jax.block_until_ready(epoch(p, *batches()))  # compile, not timed
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        p = jax.block_until_ready(epoch(p, *batches()))
        times.append(time.perf_counter() - start)
    return times, {"jax": jax.__version__}


def run_gemm_peak(repeats):
    import numpy as np

    rng = np.random.default_rng(0)
    A = rng.random((2048, 2048), dtype=np.float32)
    B = rng.random((2048, 2048), dtype=np.float32)
    out = np.empty_like(A)
    np.dot(A, B, out=out)
    times = []
    for _ in range(max(repeats, 10)):
        start = time.perf_counter()
        np.dot(A, B, out=out)
        times.append(time.perf_counter() - start)
    return 2 * 2048 ** 3 / min(times) / 1e9


# the synthetic MNIST-shaped set: the bundled sample's 5,000 real digits, tiled
# to 70,000 images, every copy shifted by a different (dy, dx) so none repeats
SYNTHETIC_MNIST = """\
import numpy as _np
import coursenet.data as _data

_load_mnist = _data.load_mnist

def _synthetic_mnist(final=False, flatten=True, **_ignored):
    # final=True: the sample's 5,000 digits to train on (its test set is MNIST's)
    (digits, labels), _, _ = _load_mnist(final=True, flatten=False, source="sample")
    shifts = [(dy, dx) for dy in (0, 1, -1, 2) for dx in (0, 1, -1, 2)][:14]
    x = _np.concatenate([_np.roll(digits, s, axis=(1, 2)) for s in shifts])
    y = _np.concatenate([labels] * len(shifts))
    (x, y), (xt, yt) = (x[:60_000], y[:60_000]), (x[60_000:], y[60_000:])
    if not final:
        (x, y), (xt, yt) = (x[:55_000], y[:55_000]), (x[55_000:], y[55_000:])
    if flatten:
        x, xt = x.reshape(len(x), -1), xt.reshape(len(xt), -1)
    return (x, y), (xt, yt), 10

_data.load_mnist = _synthetic_mnist
"""


def run_explorers():
    """Seconds per move of both explorers, with the notebooks' settings."""
    import numpy as np

    namespace = {}
    exec(SYNTHETIC_MNIST, namespace)
    from coursenet import widgets
    from coursenet.data import load_synth, scale_pixels

    (x, y), (xv, yv), _ = namespace["_synthetic_mnist"]()
    X, Xv = scale_pixels(x), scale_pixels(xv)
    moves = {}
    start = time.perf_counter()
    lr_explorer = widgets.learning_rate_explorer((X, y), (Xv, yv), subset=5000,
                                                 lr=0.3, epochs=2)
    moves["06 learning-rate explorer: first draw (lr 0.3, batch 32, 2 epochs)"] = \
        time.perf_counter() - start
    c = lr_explorer.controls
    for label, control, value in (
            ("lr 0.1", c["lr"], 0.1), ("lr 1", c["lr"], 1.0),
            ("batch 16", c["batch_size"], 16), ("epochs 5 (batch 16: the slowest)",
                                                 c["epochs"], 5),
            ("batch 128", c["batch_size"], 128), ("lr 10 (diverges)", c["lr"], 10.0),
            ("back to lr 1 (cached)", c["lr"], 1.0)):
        start = time.perf_counter()
        control.value = value
        moves[f"06 learning-rate explorer: {label}"] = time.perf_counter() - start
    (xs, ys), _, _ = load_synth()
    start = time.perf_counter()
    scalar = widgets.scalar_explorer(xs, ys, subset=5000, lr=0.1, epochs=5)
    moves["03 scalar explorer: first draw (lr 0.1, 5 epochs)"] = \
        time.perf_counter() - start
    for label, control, value in (("lr 0.3", scalar.controls["lr"], 0.3),
                                  ("epochs 1", scalar.controls["epochs"], 1),
                                  ("lr 1", scalar.controls["lr"], 1.0)):
        start = time.perf_counter()
        control.value = value
        moves[f"03 scalar explorer: {label}"] = time.perf_counter() - start
    assert np.isfinite(list(moves.values())).all()
    return moves


def worker(args):
    if args.worker == "gemm":
        print(json.dumps({"gflops": run_gemm_peak(args.repeats)}))
        return
    if args.worker == "explorers":
        print(json.dumps({"moves": run_explorers()}))
        return
    try:
        if args.worker == "coursenet":
            times, extra = run_coursenet(args.batch_size, args.repeats)
        elif args.worker == "coursenet-unfused":
            times, extra = run_coursenet(args.batch_size, args.repeats, fused=False)
        elif args.worker in ("coursenet-sgd", "coursenet-sgd" + NO_BLAS):
            times, extra = run_coursenet_sgd(args.batch_size, args.repeats)
        elif args.worker == "numpy-reference":
            times, extra = run_numpy_reference(args.batch_size, args.repeats)
        elif args.worker == "torch-sgd":
            times, extra = run_torch_sgd(args.batch_size, args.repeats, args.threads)
        elif args.worker.startswith("torch"):
            times, extra = run_torch(args.batch_size, args.repeats, args.threads,
                                     autograd=args.worker == "torch-autograd")
        else:
            times, extra = run_jax(args.batch_size, args.repeats)
    except ImportError as err:
        print(json.dumps({"skipped": f"not importable ({err.name})"}))
        return
    print(json.dumps({"times": times, **extra}))


# --------------------------------------------------------------------------
# the parent: spawn, collect, print


def interpreter(args, what):
    if what.startswith("torch") and args.torch_python:
        return args.torch_python
    if what.startswith("jax") and args.jax_python:
        return args.jax_python
    return sys.executable


def spawn(args, what, batch_size=0, repeats=None):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    if what.endswith(NO_BLAS):  # coursenet._blas off: np.dot and W1 -= grad
        env["COURSENET_NO_BLAS"] = "1"
    cmd = [interpreter(args, what), __file__, "--worker", what, "--batch-size",
           str(batch_size), "--repeats", str(repeats or args.repeats), "--threads",
           str(args.threads)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines() or ["(no message)"]
        return {"skipped": "failed: " + lines[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def environment(args):
    import numpy as np
    from threadpoolctl import threadpool_info

    from coursenet import _blas

    lines = [f"CPU: {cpu_model()} ({os.cpu_count()} CPUs; {cpu_flags()})",
             f"python {platform.python_version()}, numpy {np.__version__},"
             f" {args.threads} threads per run"]
    chosen = _blas.choose_library(threadpool_info())
    for info in threadpool_info():
        mark = " <- numpy's, used by coursenet" if info["filepath"] == chosen else ""
        lines.append(f"{info['user_api']}: {info['internal_api']}"
                     f" {info.get('version')}, kernel {info.get('architecture')},"
                     f" {info['num_threads']} threads{mark}")
    lines.append(f"load average (1, 5, 15 min): {load_average()}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            lines.append(f"note: {var}={os.environ[var]} is set (changes numpy's BLAS)")
    return lines


def interleaved(args, what, batch_sizes, repeats=None):
    """Every (implementation, batch) run once per round, rounds interleaved, so
    that a slow spell of a shared machine does not land on one row only."""
    results, notes, skipped = {}, {}, set()
    for _ in range(args.rounds):
        for bs in batch_sizes:
            for impl in what:
                if impl in skipped:
                    continue
                result = spawn(args, impl, bs, repeats)
                if "skipped" in result:
                    notes[impl] = result["skipped"]
                    skipped.add(impl)
                    continue
                results.setdefault((impl, bs), []).append(result)
    return results, notes


def training_table(args, peak):
    print(f"## 2. Steps only: one epoch (55,000 rows, {EPOCH_FLOP / 1e9:.1f} GFLOP)\n")
    results, notes = interleaved(args, args.implementations, args.batch_sizes)
    times = {k: [t for r in v for t in r["times"]] for k, v in results.items()}
    best = {k: min(t) for k, t in times.items()}  # noise only ever adds time
    print(f"{'implementation':<19}{'batch':>6}{'s/epoch':>9}{'GFLOP/s':>9}"
          f"{'% peak':>8}{'x coursenet':>12}")
    for impl in args.implementations:
        for bs in args.batch_sizes:
            if (impl, bs) not in best:
                continue
            t = best[impl, bs]
            gflops = EPOCH_FLOP / t / 1e9
            ours = best.get(("coursenet", bs))
            ratio = f"{t / ours:.2f}" if ours else "-"
            print(f"{impl:<19}{bs:>6}{t:9.3f}{gflops:9.1f}"
                  f"{100 * gflops / peak:7.0f}%{ratio:>12}")
    print(f"\n(best of {args.rounds} rounds x {args.repeats} epochs per row, each"
          " round in a fresh process)")
    for impl, note in notes.items():
        print(f"  {impl}: {note}")
    for impl in args.implementations:
        first = next((r[0] for (i, _), r in results.items() if i == impl), None)
        if first:
            info = {k: v for k, v in first.items() if k not in ("times", "step split")}
            if info:
                print(f"  {impl}: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    if "coursenet" in args.implementations:
        print("\n## 3. coursenet's step in microseconds (best of 3 epochs)\n")
        print(f"{'batch':>6}{'whole step':>12}{'2 big GEMMs':>13}{'the rest':>10}")
        for bs in args.batch_sizes:
            splits = [r["step split"] for r in results.get(("coursenet", bs), [])]
            if splits:
                split = min(splits, key=lambda d: d["step"])
                print(f"{bs:>6}{split['step']:12.1f}{split['2 GEMMs']:13.1f}"
                      f"{split['rest']:10.1f}")
        print("(the GEMMs: K = Xb W1 and the W1 update, timed alone on the same"
              " buffers)")


def same_work_table(args):
    print(f"\n## 4. The same work as train.sgd(epochs={EPOCHS}, val_data=...):"
          f" {EPOCHS} epochs + {EPOCHS + 1} evaluations of {N:,} + {N_VAL:,} rows\n")
    results, notes = interleaved(args, SAME_WORK, args.batch_sizes, repeats=1)
    print(f"{'implementation':<23}{'batch':>6}{'total s':>9}{'steps s':>9}"
          f"{'evals s':>9}{'total/steps':>12}{'x torch':>9}")
    rows = {}
    for (impl, bs), runs in results.items():  # the fastest run, with its split
        rows[impl, bs] = min((t, e) for r in runs
                             for t, e in zip(r["times"], r["evaluations"]))
    for bs in args.batch_sizes:
        for impl in SAME_WORK:
            if (impl, bs) not in rows:
                continue
            total, evals = rows[impl, bs]
            torch_total = rows.get(("torch-sgd", bs), (None,))[0]
            ratio = f"{total / torch_total:.2f}" if torch_total else "-"
            print(f"{impl:<23}{bs:>6}{total:9.3f}{total - evals:9.3f}{evals:9.3f}"
                  f"{total / (total - evals):12.2f}{ratio:>9}")
    print(f"\n(best of {args.rounds} rounds; 'steps' = total - evaluations, in the"
          " same run)")
    for impl, note in notes.items():
        print(f"  {impl}: {note}")
    print_torch_ratios(rows, args.batch_sizes)
    if args.rounds > 1:
        print_paired_ratios(results, args.batch_sizes)
    evaluation_table(results)


def print_torch_ratios(rows, batch_sizes):
    """The headline: coursenet's time over hand-written PyTorch's, with and
    without coursenet._blas (issue 24's target: at most 0.8 at batch 32 and 128)."""
    def ratios(impl):
        return {bs: rows[impl, bs][0] / rows["torch-sgd", bs][0] for bs in batch_sizes
                if (impl, bs) in rows and ("torch-sgd", bs) in rows}

    with_blas, without = ratios("coursenet-sgd"), ratios("coursenet-sgd" + NO_BLAS)
    if not with_blas:
        print("\ncoursenet / hand-written PyTorch: not measured (PyTorch not"
              " importable; BENCH_TORCH_PYTHON=/path/to/venv/bin/python make bench)")
        return
    print("\ncoursenet / hand-written PyTorch, the same work, best runs (target"
          " <= 0.8):")
    for bs in with_blas:
        line = f"  batch {bs:>4}: {with_blas[bs]:.2f} with _blas"
        if bs in without:
            saved = 1 - with_blas[bs] / without[bs]
            verb = "saves" if saved >= 0 else "costs"  # noise can make it negative
            line += (f", {without[bs]:.2f} without (COURSENET_NO_BLAS=1): _blas"
                     f" {verb} {abs(100 * saved):.1f} % of the run")
        print(line)


def print_paired_ratios(results, batch_sizes):
    """The same ratios, median over rounds of each round's own pair: the runs
    of one round follow each other, so a busy spell of a shared machine lands
    on both sides of a pair more often than on two best runs."""
    def median_ratio(impl, bs):
        ours, theirs = results.get((impl, bs), []), results.get(("torch-sgd", bs), [])
        pairs = sorted(min(a["times"]) / min(b["times"]) for a, b in zip(ours, theirs))
        if not pairs:
            return None
        middle = len(pairs) // 2
        return pairs[middle] if len(pairs) % 2 else (pairs[middle - 1]
                                                      + pairs[middle]) / 2

    lines = []
    for bs in batch_sizes:
        figures = [(label, median_ratio(impl, bs)) for label, impl in (
            ("with _blas", "coursenet-sgd"), ("without", "coursenet-sgd" + NO_BLAS))]
        shown = [f"{value:.2f} {label}" for label, value in figures if value]
        if shown:
            lines.append(f"  batch {bs:>4}: " + ", ".join(shown))
    if lines:  # none without PyTorch
        print("median over rounds of each round's ratio:\n" + "\n".join(lines))


def evaluation_table(results):
    ours = [r for (impl, _), rs in results.items() if impl == "coursenet-sgd"
            for r in rs]
    if ours:
        one = min(r["one evaluation pass"] for r in ours)
        gemm = min(r["forward GEMMs alone"] for r in ours)
        print(f"\n## 5. One evaluation pass over {N + N_VAL:,} rows"
              f" ({EVAL_FLOP / 1e9:.1f} GFLOP)\n")
        print(f"  mlp.evaluate (train + validation set): {one:.3f} s,"
              f" {EVAL_FLOP / one / 1e9:.0f} GFLOP/s")
        print(f"  its two GEMMs alone, same chunks:      {gemm:.3f} s,"
              f" {EVAL_FLOP / gemm / 1e9:.0f} GFLOP/s"
              f"  (evaluation = {one / gemm:.2f} x the forward GEMMs)")


def run_notebook(path, tmp, env, prelude=None):
    """Seconds to execute a copy of ``path`` (with ``prelude`` as a first cell)."""
    import nbformat

    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
    copy = Path(tmp) / path.name
    nb = nbformat.read(path, as_version=4)
    if prelude:
        nb.cells.insert(0, nbformat.v4.new_code_cell(prelude))
    nbformat.write(nb, copy)
    start = time.perf_counter()
    out = subprocess.run([jupyter, "nbconvert", "--to", "notebook", "--execute",
                          "--ExecutePreprocessor.timeout=600", "--output", str(copy),
                          str(copy)], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    return seconds, "" if out.returncode == 0 else "  FAILED: " + (
        out.stderr.strip().splitlines() or ["?"])[-1][:120]


def notebook_times():
    print("\n## 6. Notebooks, executed offline (nbconvert, kernel start included)\n")
    if shutil.which("jupyter", path=str(Path(sys.executable).parent)) is None:
        print("  skipped: jupyter is not installed in this environment")
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, COURSENET_OFFLINE="1", COURSENET_DATA=tmp)
        total = 0.0
        for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
            seconds, status = run_notebook(nb, tmp, env)
            total += seconds
            print(f"  {nb.name:<40}{seconds:6.1f} s{status}  (bundled sample)")
        print(f"  {'all':<40}{total:6.1f} s")
        nb = ROOT / "notebooks" / "06_mnist_experiments.ipynb"
        seconds, status = run_notebook(nb, tmp, env, prelude=SYNTHETIC_MNIST)
        print(f"  {nb.name:<40}{seconds:6.1f} s{status}  (synthetic MNIST-shaped:"
              " 55,000 + 5,000 rows, final run 60,000 + 10,000)")


def explorer_table(args):
    print("\n## 7. Explorers: seconds per move (train + draw)\n")
    result = spawn(args, "explorers")
    if "skipped" in result:
        print(f"  {result['skipped']}")
        return
    for move, seconds in result["moves"].items():
        print(f"  {move:<72}{seconds:6.2f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed epochs per run")
    parser.add_argument("--rounds", type=int, default=2,
                        help="runs of every implementation, interleaved")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--implementations", nargs="+", default=IMPLEMENTATIONS,
                        choices=IMPLEMENTATIONS)
    parser.add_argument("--torch-python", default=os.environ.get("BENCH_TORCH_PYTHON"),
                        help="interpreter that can import torch (default:"
                        " $BENCH_TORCH_PYTHON, else this one)")
    parser.add_argument("--jax-python", default=os.environ.get("BENCH_JAX_PYTHON"),
                        help="interpreter that can import jax (default:"
                        " $BENCH_JAX_PYTHON, else this one)")
    parser.add_argument("--no-notebooks", action="store_true")
    parser.add_argument("--only", nargs="+", type=int, choices=range(1, 8),
                        help="print only these sections (1 is always printed)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    sections = set(args.only or range(1, 8))
    if args.no_notebooks:
        sections.discard(6)
    print("## 1. Machine\n")
    print("\n".join(environment(args)))
    peak = spawn(args, "gemm")["gflops"]
    print(f"numpy float32 GEMM peak (2048^3, {args.threads} threads):"
          f" {peak:.0f} GFLOP/s\n")
    if sections & {2, 3}:
        training_table(args, peak)
    if sections & {4, 5}:
        same_work_table(args)
    if 6 in sections:
        notebook_times()
    if 7 in sections:
        explorer_table(args)
    print(f"\nload average at the end (1, 5, 15 min): {load_average()}")


if __name__ == "__main__":
    main()

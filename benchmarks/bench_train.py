"""How fast is one training epoch? coursenet vs a plain numpy version, PyTorch, JAX.

One epoch = 55,000 rows x 784 features through 784-300-10 (sigmoid, softmax,
mean cross-entropy), plain SGD, reshuffled, float32. The data are random: the
content does not change the timing. Every implementation runs in its own
process (so no two BLAS or OpenMP runtimes share one), with the same thread
count, and prints its times as JSON; the parent prints the table.

    python benchmarks/bench_train.py                 # everything (a few minutes)
    python benchmarks/bench_train.py --no-notebooks  # training table only

PyTorch and JAX are optional: they are timed when importable, skipped with a
note otherwise. They are never dependencies of coursenet.
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

N, D, H, C = 55_000, 784, 300, 10
# forward X@W1 and H@W2, backward dW2, dH and dW1: multiply-adds x 2
EPOCH_FLOP = 4 * N * D * H + 6 * N * H * C
IMPLEMENTATIONS = ("coursenet", "numpy-reference", "torch-manual", "torch-autograd",
                   "jax-scan")
ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------
# workers: each runs in a fresh process


def make_data():
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.random((N, D), dtype=np.float32)
    y = rng.integers(0, C, size=N)
    return X, y


def run_coursenet(batch_size, repeats, lr=0.1):
    import numpy as np

    from coursenet import mlp, train

    X, y = make_data()
    times = []
    rng = np.random.default_rng(0)
    trainer = train.Trainer(mlp.init_mlp(D, H, C, seed=0), batch_size)
    for _ in range(repeats):
        start = time.perf_counter()
        order = rng.permutation(N)
        for s in range(0, N, batch_size):
            trainer.step(X, y, order[s:s + batch_size], lr)
        times.append(time.perf_counter() - start)
    # memory: what one more epoch allocates on top of the data (numpy reports
    # its buffers to tracemalloc); not part of the timed epochs
    import tracemalloc

    tracemalloc.start()
    trainer = train.Trainer(mlp.init_mlp(D, H, C, seed=0), batch_size)
    order = rng.permutation(N)
    for s in range(0, N, batch_size):
        trainer.step(X, y, order[s:s + batch_size], lr)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return times, {"fused BLAS update": trainer.fused,
                   "peak extra memory per epoch (MB, incl. parameters)":
                   round(peak / 1e6, 2), "data (MB)": round(X.nbytes / 1e6, 1)}


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


def run_torch(batch_size, repeats, threads, autograd, lr=0.1):
    import torch

    torch.set_num_threads(threads)
    X, y = make_data()
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    g = torch.Generator().manual_seed(0)
    W1 = torch.randn(D, H, generator=g) / D ** 0.5
    W2 = torch.randn(H, C, generator=g) / H ** 0.5
    b1, b2 = torch.zeros(H), torch.zeros(C)
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
        with torch.no_grad():
            for _ in range(repeats):
                start = time.perf_counter()
                order = torch.randperm(N, generator=g)
                for s in range(0, N, batch_size):
                    idx = order[s:s + batch_size]
                    Xb, yb = X[idx], y[idx]
                    Hid = torch.sigmoid(torch.addmm(b1, Xb, W1))
                    P = torch.softmax(torch.addmm(b2, Hid, W2), dim=1)
                    P[torch.arange(len(idx)), yb] -= 1.0
                    P *= lr / len(idx)
                    dH = P @ W2.T
                    W2.sub_(Hid.T @ P)
                    b2.sub_(P.sum(0))
                    dK = dH.mul_(Hid).mul_(1 - Hid)
                    W1.addmm_(Xb.T, dK, alpha=-1.0)
                    b1.sub_(dK.sum(0))
                times.append(time.perf_counter() - start)
    return times, {"torch": torch.__version__, "torch threads": torch.get_num_threads()}


def run_jax(batch_size, repeats, lr=0.1):
    import jax
    import jax.numpy as jnp
    import numpy as np

    X, y = make_data()
    steps = N // batch_size  # full batches in the scan; the remainder after it

    def loss_fn(p, Xb, yb):
        Hid = jax.nn.sigmoid(Xb @ p[0] + p[1])
        logits = Hid @ p[2] + p[3]
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


def worker(args):
    if args.worker == "gemm":
        print(json.dumps({"gflops": run_gemm_peak(args.repeats)}))
        return
    try:
        if args.worker == "coursenet":
            times, extra = run_coursenet(args.batch_size, args.repeats)
        elif args.worker == "numpy-reference":
            times, extra = run_numpy_reference(args.batch_size, args.repeats)
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


def spawn(args, what, batch_size=0):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    cmd = [sys.executable, __file__, "--worker", what, "--batch-size",
           str(batch_size), "--repeats", str(args.repeats), "--threads",
           str(args.threads)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        return {"skipped": "failed: " + out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def environment(args):
    import numpy as np
    from threadpoolctl import threadpool_info

    lines = [f"python {platform.python_version()}, numpy {np.__version__},"
             f" {os.cpu_count()} CPUs, {args.threads} threads per run"]
    for info in threadpool_info():
        lines.append(f"{info['user_api']}: {info['internal_api']}"
                     f" {info.get('version')} ({info.get('architecture')}),"
                     f" {info['num_threads']} threads")
    lines.append("load average (1, 5, 15 min): "
                 + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            lines.append(f"note: {var}={os.environ[var]} is set (slows numpy's BLAS)")
    return lines


def training_table(args):
    peak = spawn(args, "gemm")["gflops"]
    print(f"numpy float32 GEMM peak (2048^3, {args.threads} threads):"
          f" {peak:.0f} GFLOP/s; one epoch = {EPOCH_FLOP / 1e9:.1f} GFLOP\n")
    # rounds interleave the implementations, so that a slow spell of this
    # (shared, noisy) machine does not land on one implementation only
    times, notes, skipped = {}, {}, set()
    for _ in range(args.rounds):
        for bs in args.batch_sizes:
            for impl in args.implementations:
                if impl in skipped:
                    continue
                result = spawn(args, impl, bs)
                if "skipped" in result:
                    notes[impl] = result["skipped"]
                    skipped.add(impl)
                    continue
                times.setdefault((impl, bs), []).extend(result.pop("times"))
                notes.setdefault(impl, ", ".join(f"{k} {v}" for k, v in result.items()))
    median = {key: sorted(t)[len(t) // 2] for key, t in times.items()}
    print(f"{'implementation':<17}{'batch':>6}{'s/epoch':>9}{'GFLOP/s':>9}"
          f"{'% peak':>8}{'x coursenet':>12}")
    for impl in args.implementations:
        for bs in args.batch_sizes:
            if (impl, bs) not in median:
                continue
            t = median[impl, bs]
            gflops = EPOCH_FLOP / t / 1e9
            ours = median.get(("coursenet", bs))
            ratio = f"{t / ours:.2f}" if ours else "-"
            print(f"{impl:<17}{bs:>6}{t:9.3f}{gflops:9.1f}"
                  f"{100 * gflops / peak:7.0f}%{ratio:>12}")
    print(f"\n(median of {args.rounds} rounds x {args.repeats} epochs per row)")
    for impl, note in notes.items():
        if note:
            print(f"  {impl}: {note}")


def notebook_times():
    """Wall time of every notebook, executed offline on a copy."""
    print("\nnotebooks, executed offline (bundled MNIST sample):")
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
    if jupyter is None:
        print("  skipped: jupyter is not installed in this environment")
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, COURSENET_OFFLINE="1", COURSENET_DATA=tmp)
        total = 0.0
        for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
            copy = Path(tmp) / nb.name
            shutil.copy(nb, copy)
            start = time.perf_counter()
            out = subprocess.run([jupyter, "nbconvert", "--to", "notebook",
                                  "--execute", "--output", str(copy), str(copy)],
                                 env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            total += seconds
            status = "" if out.returncode == 0 else "  FAILED"
            print(f"  {nb.name:<32}{seconds:6.1f} s{status}")
        print(f"  {'all':<32}{total:6.1f} s")


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
    parser.add_argument("--no-notebooks", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    print("\n".join(environment(args)) + "\n")
    training_table(args)
    if not args.no_notebooks:
        notebook_times()


if __name__ == "__main__":
    main()

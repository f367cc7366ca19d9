"""Steps and evaluation of one checkout, for a before/after comparison.

    PYTHONPATH=/tmp/bench_before/src .venv/bin/python benchmarks/before_after.py before
    PYTHONPATH=src .venv/bin/python benchmarks/before_after.py after

Run the two alternately a few times (each side in its own checkout, the old
one made with ``git worktree add /tmp/bench_before <commit>``) and compare the
best times. One epoch of ``train.sgd`` over 60,000 x 784 float32 rows (no
validation) and one ``mlp.evaluate`` of the same rows, at batch 32 and 128, one
BLAS thread, best of 3 per run. Prints; asserts nothing.
"""

import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from coursenet import mlp, train

rng = np.random.default_rng(0)
X = rng.random((60_000, 784), dtype=np.float32)
c = rng.integers(0, 10, len(X))
out = []
with threadpool_limits(1):
    for batch_size in (32, 128):
        steps = evaluation = float("inf")
        for _ in range(3):
            params = mlp.init_mlp(784, 300, 10, seed=0)
            start = time.perf_counter()
            train.sgd(params, (X, c), lr=0.1, batch_size=batch_size, epochs=1,
                      seed=0, progress=False)
            steps = min(steps, time.perf_counter() - start)
            start = time.perf_counter()
            mlp.evaluate(params, X, c)
            evaluation = min(evaluation, time.perf_counter() - start)
        out.append(f"batch {batch_size}: steps {steps:.3f} s, evaluation"
                   f" {evaluation:.3f} s")
print(sys.argv[1] if len(sys.argv) > 1 else "", "; ".join(out))

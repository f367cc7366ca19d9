"""What the fast step's own kernels earn: the Trainer against itself calling the
readable kernels of :mod:`coursenet.layers` and :mod:`coursenet.losses` instead,
and with the fused BLAS update of :mod:`coursenet._blas` against without it.

Every variant runs in this one process, one BLAS thread, in interleaved blocks of
16 steps (variant order reversed every other block), so a busy spell of a shared
machine lands on all of them; the figure is the best block per variant.

    .venv/bin/python benchmarks/ab_kernels.py [--blocks 120] [--batch-sizes 32 128]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS

import numpy as np  # noqa: E402

from coursenet import _fast_step, layers, losses, mlp  # noqa: E402

N, D, H, C = 55_000, 784, 300, 10


class ReadableSigmoid(_fast_step.Trainer):
    """``layers.sigmoid`` (two branches, checks, a new array) for the sigmoid."""

    def _step(self, X, c, idx, lr):
        n, p, b = len(idx), self.params, self._rows(len(idx))
        np.take(X, idx, axis=0, out=b.X_batch, mode="clip")
        np.dot(b.X_batch, p["W1"], out=b.hidden)
        b.hidden += p["b1"]
        b.hidden[...] = layers.sigmoid(b.hidden)
        np.dot(b.hidden, p["W2"], out=b.logits)
        b.logits += p["b2"]
        loss = self.rows.loss_sum(b.logits, c[idx]) / n
        self._backward(b, self.rows.rows(n), lr / n)
        return loss


class ReadableLoss(_fast_step.Trainer):
    """``losses.softmax_cross_entropy`` for the loss and the output gradient."""

    def _step(self, X, c, idx, lr):
        p, b = self.params, self._rows(len(idx))
        np.take(X, idx, axis=0, out=b.X_batch, mode="clip")
        np.dot(b.X_batch, p["W1"], out=b.hidden)
        b.hidden += p["b1"]
        _fast_step.sigmoid_in_place(b.hidden)
        np.dot(b.hidden, p["W2"], out=b.logits)
        b.logits += p["b2"]
        loss, dlogits = losses.softmax_cross_entropy(b.logits, c[idx])
        np.multiply(dlogits, lr, out=b.grad_logits)
        np.dot(b.hidden.T, b.grad_logits, out=self.grad_W2)
        np.dot(b.ones, b.grad_logits, out=self.grad_b2)
        np.dot(b.grad_logits, p["W2"].T, out=b.grad_hidden)
        self._hidden_backward(b)
        return loss

    def _hidden_backward(self, b):
        p = self.params
        np.subtract(1.0, b.hidden, out=b.one_minus_hidden)
        np.multiply(b.grad_hidden, b.hidden, out=b.grad_K)
        b.grad_K *= b.one_minus_hidden
        np.dot(b.ones, b.grad_K, out=self.grad_b1)
        p["W2"] -= self.grad_W2
        p["b2"] -= self.grad_b2
        p["b1"] -= self.grad_b1
        self._update_W1(b.X_batch, b.grad_K)


class ReadableBackward(_fast_step.Trainer):
    """``layers.sigmoid_backward`` (or also ``linear_backward``) in the backward."""

    linear = False

    def _backward(self, b, r, lr_n):
        p = self.params
        np.divide(lr_n, r.row_sum_col, out=b.row_scale)
        np.multiply(r.exp_shifted, b.row_scale, out=b.grad_logits)
        self.grad_logits_flat[r.label_at] -= lr_n
        if self.linear:
            grad_hidden, grad_W2, grad_b2 = layers.linear_backward(
                b.grad_logits, (b.hidden, p["W2"]))
        else:
            grad_hidden, grad_W2, grad_b2 = b.grad_hidden, self.grad_W2, self.grad_b2
            np.dot(b.hidden.T, b.grad_logits, out=grad_W2)
            np.dot(b.ones, b.grad_logits, out=grad_b2)
            np.dot(b.grad_logits, p["W2"].T, out=grad_hidden)
        grad_K = layers.sigmoid_backward(grad_hidden, b.hidden)
        p["W2"] -= grad_W2
        p["b2"] -= grad_b2
        if self.linear:
            _, grad_W1, grad_b1 = layers.linear_backward(grad_K, (b.X_batch, p["W1"]))
            p["W1"] -= grad_W1
            p["b1"] -= grad_b1
        else:
            p["b1"] -= grad_K.sum(axis=0)
            self._update_W1(b.X_batch, grad_K)


class ReadableLinearBackward(ReadableBackward):
    linear = True


VARIANTS = {
    "fast step (as sgd runs it)": lambda p, B: _fast_step.Trainer(p, B),
    "without _blas (fused=False)": lambda p, B: _fast_step.Trainer(p, B, fused=False),
    "layers.sigmoid": ReadableSigmoid,
    "losses.softmax_cross_entropy": ReadableLoss,
    "layers.sigmoid_backward": ReadableBackward,
    "+ layers.linear_backward": ReadableLinearBackward,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=120)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.random((N, D), dtype=np.float32)
    c = rng.integers(0, C, size=N)
    print(f"load average at the start: {os.getloadavg()}")
    for B in args.batch_sizes:
        trainers = {k: make(mlp.init_mlp(D, H, C, seed=0), B)
                    for k, make in VARIANTS.items()}
        best = dict.fromkeys(VARIANTS, float("inf"))
        order = rng.permutation(N)
        for block in range(args.blocks):
            first = (block * 16 * B) % (N - 16 * B)
            batches = [order[s:s + B] for s in range(first, first + 16 * B, B)]
            names = list(trainers) if block % 2 else list(trainers)[::-1]
            for name in names:
                start = time.perf_counter()
                for idx in batches:
                    trainers[name]._step(X, c, idx, 0.01)
                best[name] = min(best[name], (time.perf_counter() - start) / 16)
        base = best["fast step (as sgd runs it)"]
        print(f"\nbatch {B}: microseconds per step (best block of 16 steps)")
        for name, seconds in best.items():
            print(f"  {name:<32}{seconds * 1e6:8.1f}{seconds / base:7.2f} x")
    print(f"\nload average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
